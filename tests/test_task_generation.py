"""The generation task: config, preprocessing, batching, stateful training, the predictor,
and end-to-end runs (`run_task` and the recipe) that load back with `seqtasks.load`."""

import io
import json
import math
from types import SimpleNamespace

import keras
import numpy as np
import pandas as pd
import pytest

import seqtasks
from recipe_scripts import recipe_main

from seqtasks.errors import ConfigError, DataError
from seqtasks.models.language_model import position_cross_entropy
from seqtasks.tasks import generation, runner
from seqtasks.tasks.config import parse_config
from seqtasks.training import fit

TINY = ["--max-chars=6000", "--units=16", "--embedding-dim=8", "--seq-len=32",
        "--batch-size=8", "--epochs=1", "--max-seconds=20", "--sample-length=40",
        "--temperatures=0.5,1.0", "--verbose=0"]


def text_file(tmp_path, characters):
    path = tmp_path / "text.txt"
    path.write_text(("the cat sat on the mat. " * (characters // 24 + 1))[:characters],
                    encoding="utf-8")
    return path


def test_config_defaults_and_flags():
    config = generation.Config()
    assert (config.cell, config.units, config.batch_size, config.batching) == (
        "gru", 256, 64, "random")
    assert config.temperatures == (0.6, 0.8, 1.0) and config.max_seconds == 130.0
    config = parse_config(generation, ["--cell", "tdnn", "--batching", "sequential",
                                       "--temperatures", "0.5,1", "--top-k", "3"])
    assert (config.cell, config.batching, config.temperatures, config.top_k) == (
        "tdnn", "sequential", (0.5, 1.0), 3)
    assert generation.Config.from_json(json.loads(json.dumps(config.to_json()))) == config


@pytest.mark.parametrize("changes, message", [
    ({"bidirectional": True}, "bidirectional"),
    ({"batching": "shuffled"}, "batching"),
    ({"temperatures": (-1.0,)}, "temperatures"),
    ({"batching": "sequential", "distribute": "mirrored"}, "distribute"),
])
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        generation.Config(**changes)


def test_preprocessor_round_trip():
    preprocessor = generation.Preprocessor.fit("hello world")
    ids = preprocessor.encode("hello")
    assert ids.dtype == np.int32 and preprocessor.decode(ids) == "hello"
    again = generation.Preprocessor.from_config(
        json.loads(json.dumps(preprocessor.get_config())))
    assert again.encode("hello wz").tolist() == preprocessor.encode("hello wz").tolist()
    assert again.encode("z").tolist() == [again.vocab.unk_id]  # unseen character
    assert set(again.never_generated) == {again.vocab.pad_id, again.vocab.unk_id}


@pytest.mark.parametrize("characters, batching", [(100, "random"), (1200, "sequential")])
def test_a_text_too_short_to_batch_is_a_data_error_naming_the_file(tmp_path, characters,
                                                                   batching):
    path = text_file(tmp_path, characters)
    config = generation.Config(data=path, seq_len=16, batch_size=8, batching=batching)
    with pytest.raises(DataError, match="too few") as error:
        generation.prepare(config)
    assert str(path) in str(error.value)
    # Random windows validate on smaller batches: 1200 characters are enough for them.
    if batching == "sequential":
        generation.prepare(config.replace(batching="random"))


def stream_loss(model, batches):
    """The mean loss of reading every row of `batches` whole from a zero state (the
    state carried across batches), and of reading every window from a zero state."""
    rows, length = batches.batch_size, batches.seq_len

    def whole_rows(windows):
        return windows.reshape(-1, rows, length).transpose(1, 0, 2).reshape(rows, -1)

    carried = position_cross_entropy(model, whole_rows(batches.inputs),
                                     whole_rows(batches.targets)).mean()
    reset = position_cross_entropy(model, batches.inputs, batches.targets).mean()
    return carried, reset


def test_sequential_training_carries_the_state_across_batches(tmp_path):
    """With a learning rate of 0, the training loss of an epoch is that of reading each
    row whole: the state goes on from batch to batch; it restarts at every epoch and at
    the start of validation (`data.callbacks`)."""
    config = generation.Config(data=text_file(tmp_path, 1000), seq_len=8, batch_size=4,
                               units=8, embedding_dim=4, batching="sequential")
    data = generation.prepare(config)
    model = generation.build(config, data)
    model.set_weights([3 * w for w in model.get_weights()])  # a state that matters more
    model.compile(keras.optimizers.SGD(0.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = fit(model, data.train, data.valid, tmp_path, epochs=2, verbose=0,
                  extra_callbacks=data.callbacks)
    carried, reset = stream_loss(model, data.train)
    assert abs(carried - reset) > 1e-3  # the test tells the two apart
    assert history["loss"].tolist() == pytest.approx([carried] * 2, rel=1e-5)
    assert history["val_loss"].tolist() == pytest.approx(
        [stream_loss(model, data.valid)[0]] * 2, rel=1e-5)


def test_run_task_trains_with_the_callbacks_of_the_data(monkeypatch, tmp_path):
    passed = {}
    monkeypatch.setattr(runner, "fit", lambda *args, **options: passed.update(options)
                        or pd.DataFrame())
    data = SimpleNamespace(train=None, valid=None, callbacks=["reset the states"])
    runner.train(None, data, generation.Config(batching="sequential"), tmp_path)
    assert "reset the states" in passed.get("extra_callbacks", ())


def test_predictor_continues_each_prompt_and_writes_one_per_line(tmp_path):
    config = generation.Config(data=text_file(tmp_path, 3000), seq_len=8, batch_size=4,
                               units=8, embedding_dim=4)
    data = generation.prepare(config)
    predictor = generation.Predictor(generation.build(config, data), data.preprocessor, config)
    texts = predictor.predict(["the c", "zz", ""], length=7, temperature=1.0, seed=3)
    characters = set(data.preprocessor.vocab.tokens) - {"<pad>", "<unk>"}
    assert [len(text) for text in texts] == [7, 7, 7]
    assert all(set(text) <= characters for text in texts)
    # A seed gives a prompt its continuation whatever the other prompts are.
    assert predictor.predict("zz", length=7, temperature=1.0, seed=3) == [texts[1]]
    greedy = [predictor.predict(["the"], 5, top_k=1, seed=seed) for seed in (1, 2)]
    assert greedy[0] == greedy[1]
    out = io.StringIO()
    generation.Predictor.write(["a\nb", "c"], out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == ["a\nb", "c"]


def first_sample(run_dir):
    """``(prompt, sample)`` of the first temperature in samples.txt."""
    block = (run_dir / "samples.txt").read_text(encoding="utf-8").split("=== ")[1]
    prompt, sample = block.split("\n", 1)[1].rstrip("\n").split("|", 1)
    return prompt, sample


@pytest.fixture(scope="module")
def random_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("generation") / "run"
    metrics = runner.run_task(generation, parse_config(generation, [*TINY, f"--out={out}"]))
    return out, metrics


@pytest.mark.e2e
def test_run_task_writes_a_run_that_loads_back_and_reproduces_its_samples(random_run):
    out, metrics = random_run
    for name in ("model.keras", "preprocessing.json", "config.json", "metrics.json",
                 "history.csv", "loss.png", "context.png", "samples.txt"):
        assert (out / name).is_file(), name
    assert json.loads((out / "metrics.json").read_text()) == pytest.approx(metrics)
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["cross_entropy"]))
    assert 1.0 < metrics["perplexity"] < metrics["vocab_size"]
    assert "5-gram" in metrics["baseline"] and metrics["epochs"] == 1
    assert (metrics["train_chars"], metrics["valid_chars"]) == (5400, 600)
    assert len(pd.read_csv(out / "history.csv")) == 1
    assert (out / "samples.txt").read_text(encoding="utf-8").count("=== temperature") == 2

    prompt, sample = first_sample(out)
    predictor = seqtasks.load(out)
    assert predictor.predict([prompt], length=40, temperature=0.5, seed=0) == [sample]


@pytest.mark.e2e
def test_the_recipe_gives_the_run_of_run_task(random_run, tmp_path):
    out, metrics = random_run
    assert recipe_main("generation")([*TINY, f"--out={tmp_path / 'recipe'}"]) == 0
    recipe_metrics = json.loads((tmp_path / "recipe" / "metrics.json").read_text())
    assert recipe_metrics["perplexity"] == pytest.approx(metrics["perplexity"], rel=1e-3)
    assert first_sample(tmp_path / "recipe") == first_sample(out)


@pytest.mark.e2e
def test_a_sequential_run_loads_back_and_reproduces_its_samples(tmp_path):
    out = tmp_path / "sequential"
    assert recipe_main("generation")([*TINY, "--batching=sequential", "--cell=lstm",
                          f"--out={out}"]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["batching"] == "sequential"
    metrics = json.loads((out / "metrics.json").read_text())
    assert 1.0 < metrics["perplexity"] < metrics["vocab_size"]
    prompt, sample = first_sample(out)
    predictor = seqtasks.load(out)
    assert predictor.predict([prompt], length=40, temperature=0.5, seed=0) == [sample]
