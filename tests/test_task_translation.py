"""The translation task: its config, preprocessing, batches, decoder and predictor (unit
tests), and end-to-end runs through `run_task`, the recipe script and `seqtasks.load`."""

import io
import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from recipe_scripts import recipe_main

import seqtasks
from seqtasks import compat
from seqtasks.data.embedded import embedded_path
from seqtasks.data.readers import read_parallel
from seqtasks.errors import ConfigError, DataError, exit_code
from seqtasks.models.translator import build_translator, inference_models_from
from seqtasks.tasks import translation
from seqtasks.tasks.config import parse_config
from seqtasks.tasks.runner import run_task

MULTI30K = Path(__file__).resolve().parents[2] / "shared" / "data" / "multi30k"
SETTINGS = {"units": 8, "embedding_dim": 4, "epochs": 1, "batch_size": 8,
            "max_seconds": 600, "beam_size": 2, "verbose": 0}
TINY = [text for name, value in SETTINGS.items()  # the same settings as flags
        for text in (f"--{name.replace('_', '-')}", str(value).lower())]


def write_dates(folder, n_train=48, n_other=6):
    """A folder of train/valid/test TSV files: the first embedded dates."""
    folder.mkdir()
    lines = embedded_path("dates", "train").read_text(encoding="utf-8").splitlines()
    (folder / "train.tsv").write_text("\n".join(lines[:n_train]) + "\n", encoding="utf-8")
    (folder / "valid.tsv").write_text("\n".join(lines[n_train:n_train + n_other]) + "\n")
    (folder / "test.tsv").write_text("\n".join(lines[-n_other:]) + "\n")
    return folder


def write_line_aligned(folder, pairs_by_split):
    """``SPLIT.en``/``SPLIT.de`` files of each split's pairs."""
    folder.mkdir()
    for split, pairs in pairs_by_split.items():
        for k, language in enumerate(("en", "de")):
            (folder / f"{split}.{language}").write_text(
                "".join(f"{pair[k]}\n" for pair in pairs), encoding="utf-8")
    return folder


def run_recipe(argv, capsys):
    """Runs ``recipes/translation.py``'s main with `argv` in this process, as the script
    does; returns ``(exit code, stderr)``."""
    main = recipe_main("translation")
    capsys.readouterr()
    code = exit_code(main, argv, prog="recipes/translation.py")
    return code, capsys.readouterr().err


# Settings.


def test_defaults_and_what_a_search_may_change():
    config = translation.Config()
    assert (config.epochs, config.max_seconds, config.learning_rate) == (12, 120.0, 3e-3)
    assert {name: getattr(config, name) for name in translation.SIZES["word"]} == dict.fromkeys(
        translation.SIZES["word"])  # unset: they follow the tokens
    assert (config.tokens, config.attention, config.beam_size, config.length_penalty,
            config.max_length, config.min_freq, config.max_vocab) == (
        "auto", "luong", 4, 0.0, 80, 3, 20000)
    assert config.bidirectional is True and translation.FIXED == {"bidirectional": True}
    assert (translation.NAME, translation.OBJECTIVE, translation.METRICS,
            translation.SEARCHABLE) == ("translation", "val_loss", ("loss",), ("attention",))


def test_a_unidirectional_encoder_is_refused(capsys):
    with pytest.raises(ConfigError, match="bidirectional must be True"):
        translation.Config(bidirectional=False)
    with pytest.raises(ConfigError, match="bidirectional"):
        translation.Config.from_json({"bidirectional": False})
    with pytest.raises(ConfigError, match="bidirectional"):
        parse_config(translation, ["--no-bidirectional"])
    code, err = run_recipe(["--no-bidirectional"], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "--no-bidirectional" in err


@pytest.mark.parametrize("languages", [{"source_lang": "en"}, {"target_lang": "de"}])
def test_both_languages_or_neither(languages):
    with pytest.raises(ConfigError, match="both source_lang and target_lang"):
        translation.Config(**languages)


def test_flags_are_checked():
    with pytest.raises(SystemExit):
        parse_config(translation, ["--length-penalty", "-1"])
    with pytest.raises(SystemExit):
        parse_config(translation, ["--tokens", "bytes"])
    assert parse_config(translation, ["--attention", "bahdanau"]).attention == "bahdanau"


# Preprocessing and batches.


def test_the_preprocessor_round_trips_through_json():
    pairs = read_parallel(embedded_path("dates", "valid"))
    fitted = translation.Preprocessor.fit(pairs, "char", min_freq=1)
    loaded = translation.Preprocessor.from_config(json.loads(json.dumps(fitted.get_config())))
    for source, target in pairs[:20]:
        assert loaded.source_ids(source) == fitted.source_ids(source)
        assert loaded.target_ids(target) == fitted.target_ids(target)
        assert loaded.decode(fitted.target_ids(target)) == target
    assert loaded.max_output_length == fitted.max_output_length == int(
        1.5 * max(len(target) for _, target in pairs)) + 5
    assert loaded.source_ids("") == [loaded.source_vocab.unk_id]  # never an empty source


def test_word_tokens_keep_the_target_case():
    pairs = [("A dog runs .", "Ein Hund rennt ."), ("a dog sleeps .", "Ein Hund schläft .")]
    preprocessor = translation.Preprocessor.fit(pairs, "word", min_freq=1)
    assert "Hund" in preprocessor.target_vocab and "a" in preprocessor.source_vocab
    assert preprocessor.decode(preprocessor.target_ids("Ein Hund rennt .")) == "Ein Hund rennt."


def test_teacher_forcing_batches_shift_the_target_by_one():
    id_pairs = [([5] * n, [6] * (n + 1)) for n in (3, 1, 4, 2, 5)]
    batches = translation.teacher_forcing_batches(id_pairs, 2, 3, batch_size=2, shuffle=False)
    assert len(batches) == 3
    inputs, target_out = batches[0]  # the two shortest sources, padded to the longer
    assert inputs["source"].tolist() == [[5, 0], [5, 5]]
    assert inputs["target_in"].tolist() == [[2, 6, 6, 0], [2, 6, 6, 6]]
    assert target_out.tolist() == [[6, 6, 3, 0], [6, 6, 6, 3]]
    assert sum(len(batches[k][1]) for k in range(len(batches))) == 5


def test_pairs_are_grouped_by_their_longer_side():
    id_pairs = [([5] * 3, [6] * n) for n in (9, 1, 8, 2)] + [([5] * 7, [6])]
    batches = translation.teacher_forcing_batches(id_pairs, 2, 3, batch_size=2, shuffle=False)
    widths = [(batches[k][0]["source"].shape[1], batches[k][1].shape[1])
              for k in range(len(batches))]
    assert widths == [(3, 3), (7, 9), (3, 10)]  # the short targets together


def test_long_training_pairs_are_dropped_counted_and_warned_about(tmp_path, capsys):
    data = write_dates(tmp_path / "dates")
    train = read_parallel(data / "train.tsv")
    max_length = 12
    expected = sum(len(s) > max_length or len(t) > max_length for s, t in train)
    assert 0 < expected < len(train)
    prepared = translation.prepare(translation.Config(data=data, max_length=max_length))
    assert prepared.train_pairs_dropped == expected
    assert len(prepared.pairs["train"]) == len(train) - expected
    warning = capsys.readouterr().err.strip()
    assert warning == (f"warning: dropped {expected} of {len(train)} training pairs with "
                       f"more than max_length={max_length} chars on a side (raise "
                       f"--max-length to keep them)")
    assert prepared.tokens == "char"  # dates: most of their "words" are rare

    translation.prepare(translation.Config(data=data))
    assert capsys.readouterr().err == ""  # nothing dropped, nothing said
    with pytest.raises(DataError, match="all 48 training pairs have more than max_length=1"):
        translation.prepare(translation.Config(data=data, max_length=1))


def test_line_aligned_files_with_word_tokens(tmp_path):
    english = ["a dog runs .", "a cat sleeps .", "two dogs run .", "the cat runs ."] * 4
    german = ["ein Hund rennt .", "eine Katze schläft .", "zwei Hunde rennen .",
              "die Katze rennt ."] * 4
    pairs = list(zip(english, german))
    data = write_line_aligned(tmp_path / "parallel", {
        "train": pairs, "val": pairs[:4], "test_2016_flickr": pairs[4:8]})
    prepared = translation.prepare(translation.Config(
        data=data, source_lang="en", target_lang="de", min_freq=2))
    assert prepared.tokens == "word"  # chosen: every word is seen at least twice
    assert prepared.pairs["test"] == pairs[4:8]
    assert "Hund" in prepared.preprocessor.target_vocab  # the target keeps its case
    assert len(prepared.train) == 1 and len(prepared.valid) == 1


def test_model_sizes_follow_the_tokens_unless_given(tmp_path):
    pairs = [("a dog runs .", "ein Hund rennt ."), ("a cat sleeps .", "eine Katze schläft .")] * 8
    words = write_line_aligned(tmp_path / "words", {"train": pairs, "val": pairs[:2],
                                                    "test_2016_flickr": pairs[:2]})
    dates = write_dates(tmp_path / "dates")
    for data, options, tokens in ((words, {"source_lang": "en", "target_lang": "de"}, "word"),
                                  (dates, {}, "char")):
        config = translation.Config(data=data, verbose=0, **options)
        prepared = translation.prepare(config)
        assert prepared.tokens == tokens
        model = translation.build(config, prepared)
        size = translation.SIZES[tokens]
        assert model.get_layer("source_embedding").output_dim == size["embedding_dim"]
        assert model.get_layer("attentional").units == size["units"]
        assert prepared.train.batch_size == size["batch_size"]
        given = translation.build(config.replace(embedding_dim=6, units=10), prepared)
        assert given.get_layer("source_embedding").output_dim == 6
        assert given.get_layer("attentional").units == 10
    assert translation.SIZES["word"]["units"] != translation.SIZES["char"]["units"]
    assert translation.sized(translation.Config(cell="elman"), "word").cell == "elman"
    assert translation.sized(translation.Config(), "word").cell == "gru"


# Errors before training: one line naming the file and line.


def test_a_bad_tsv_line_is_one_line_naming_the_file_and_line(tmp_path, capsys):
    data = write_dates(tmp_path / "dates")
    with open(data / "train.tsv", "a", encoding="utf-8") as f:
        f.write("no tab on this line\n")
    code, err = run_recipe(["--data", str(data), "--out", str(tmp_path / "run"), *TINY],
                           capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "train.tsv:49" in err and "expected 2" in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_missing_misaligned_or_empty_targets_are_one_line_errors(tmp_path, capsys):
    data = tmp_path / "parallel"
    data.mkdir()
    (data / "train.en").write_text("a\nb\nc\n")
    argv = ["--data", str(data), "--source-lang", "en", "--target-lang", "de",
            "--out", str(tmp_path / "run"), *TINY]
    for target, message in ((None, "no line-aligned target file train.de"),
                            ("x\ny\n", "not line-aligned"),
                            ("x\n\nz\n", "train.de:2: empty target")):
        if target is not None:
            (data / "train.de").write_text(target)
        code, err = run_recipe(argv, capsys)
        assert code == 2 and len(err.splitlines()) == 1 and message in err, err


def test_load_on_a_folder_without_a_run(tmp_path):
    with pytest.raises(DataError, match="not a finished run folder") as info:
        seqtasks.load(tmp_path)
    assert str(tmp_path) in str(info.value)


# The model's inference models and the predictor, untrained.


@pytest.mark.parametrize("attention, cell", [("luong", "lstm"), ("bahdanau", "gru")])
def test_the_one_step_decoder_matches_the_teacher_forced_model(attention, cell):
    model = build_translator(20, 15, embedding_dim=6, cell=cell, units=8, depth=2,
                             attention=attention)
    source = np.array([[3, 4, 5, 6], [7, 8, 0, 0]])
    target_in = np.array([[2, 5, 6, 9], [2, 7, 0, 0]])
    expected = np.asarray(model({"source": source, "target_in": target_in}))
    encoder, step = inference_models_from(model)
    memory, keys, *states = encoder.predict_on_batch(source)
    unpadded = encoder.predict_on_batch(source[1:, :2])
    for padded, alone in zip((memory, keys, *states), unpadded):  # padding changes nothing
        np.testing.assert_allclose(padded[1, :alone.shape[1]] if padded.ndim == 3
                                   else padded[1], alone[0], atol=1e-5)
    for t in range(target_in.shape[1]):
        log_probs, weights, *states = step.predict_on_batch(
            [target_in[:, t:t + 1], memory, keys, source != 0, *states])
        np.testing.assert_allclose(np.exp(log_probs[0]), expected[0, t], atol=1e-5)
        if t < 2:
            np.testing.assert_allclose(np.exp(log_probs[1]), expected[1, t], atol=1e-5)
        # Attention is a distribution over the real (unpadded) source tokens only.
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
        assert np.all(weights[1, 2:] == 0.0)


@pytest.fixture(scope="module")
def untrained():
    """A predictor over an untrained translator of the embedded dates' vocabularies."""
    keras.utils.set_random_seed(7)
    preprocessor = translation.Preprocessor.fit(read_parallel(embedded_path("dates", "valid")))
    model = build_translator(len(preprocessor.source_vocab), len(preprocessor.target_vocab),
                             embedding_dim=8, cell="gru", units=16)
    return translation.Predictor(model, preprocessor, translation.Config(beam_size=3))


SOURCES = ["3 May 2001", "Dec 24, 1999", "the 1st of June 2020", "7/8/09"]  # lengths differ


def test_predictions_are_strings_in_the_order_of_the_texts(untrained):
    translations = untrained.predict(SOURCES)
    assert len(translations) == 4 and all(isinstance(t, str) for t in translations)
    assert untrained.predict(SOURCES[::-1]) == translations[::-1]
    assert untrained.predict(SOURCES[0]) == translations[:1]
    assert untrained.predict([]) == []
    file = io.StringIO()
    untrained.write(translations, file)
    assert file.getvalue() == "".join(f"{t}\n" for t in translations)


def test_beam_search_is_the_default_and_finds_likelier_translations(untrained):
    greedy, greedy_scores = untrained.translate_ids(SOURCES, beam_size=1)
    beam, beam_scores = untrained.translate_ids(SOURCES, beam_size=3)
    assert np.all(np.array(beam_scores) >= np.array(greedy_scores) - 1e-6)
    decode = untrained.preprocessor.decode
    assert untrained.predict(SOURCES, beam_size=1) == [decode(ids) for ids in greedy]
    assert untrained.predict(SOURCES) == [decode(ids) for ids in beam]  # the config's 3
    with pytest.raises(ConfigError, match="beam_size"):
        untrained.predict(SOURCES, beam_size=0)
    with pytest.raises(ConfigError, match="length_penalty"):
        untrained.predict(SOURCES, length_penalty=-1.0)


def test_decoding_is_incremental_and_attention_is_over_the_source(untrained):
    untrained.step_calls = 0
    untrained.predict(SOURCES, beam_size=1)
    assert untrained.step_calls <= untrained.preprocessor.max_output_length  # one batch
    weights, source_tokens, output_tokens = untrained.attention_map(SOURCES[0])
    assert source_tokens == list(SOURCES[0])
    assert weights.shape == (len(output_tokens), len(source_tokens))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)


# End to end: one tiny run, through run_task and through the recipe script.


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """``(data folder, run folder, metrics)`` of `run_task` on 48 dates."""
    folder = tmp_path_factory.mktemp("translation")
    data = write_dates(folder / "dates")
    config = translation.Config(data=data, out=folder / "run", **SETTINGS)
    return data, folder / "run", run_task(translation, config)


def without_timings(metrics):
    return {name: value for name, value in metrics.items() if not name.endswith("seconds")}


@pytest.mark.e2e
def test_run_task_and_the_recipe_script_give_the_same_run(tiny_run, tmp_path, capsys):
    # The script's main in this process, as `python recipes/translation.py` runs it (a
    # recipe started from a shell: tests/test_task_sentiment.py).
    data, run, metrics = tiny_run
    out = tmp_path / "recipe"
    code, err = run_recipe(["--data", str(data), "--out", str(out), *TINY], capsys)
    assert code == 0, err
    recipe_metrics = json.loads((out / "metrics.json").read_text())
    assert without_timings(recipe_metrics) == without_timings(metrics)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in run.iterdir())
    assert (out / "translations.csv").read_text() == (run / "translations.csv").read_text()


@pytest.mark.e2e
def test_the_run_folder_loads_back_and_reproduces_its_translations(tiny_run):
    _, run, metrics = tiny_run
    for name in ("model.keras", "preprocessing.json", "config.json", "metrics.json",
                 "history.csv", "loss.png", "attention.png", "translations.csv"):
        assert (run / name).stat().st_size > 0, name
    assert not run.with_name("run.partial").exists()
    assert json.loads((run / "metrics.json").read_text()) == metrics
    for decoder in ("greedy", "beam"):
        assert 0.0 <= metrics[decoder]["bleu"] <= 100.0
        assert 0.0 <= metrics[decoder]["exact_match"] <= 1.0
    assert metrics["bleu"] == metrics["beam"]["bleu"] and metrics["beam"]["beam_size"] == 2
    assert (metrics["test_pairs"], metrics["train_pairs"], metrics["train_pairs_dropped"],
            metrics["epochs"]) == (6, 48, 0, 1)

    table = pd.read_csv(run / "translations.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == ["source", "reference", "greedy", "beam"]
    predictor = seqtasks.load(run)
    assert isinstance(predictor, translation.Predictor)
    assert predictor.config.beam_size == 2
    sources = table["source"].tolist()
    assert predictor.predict(sources) == table["beam"].tolist()
    assert predictor.predict(sources, beam_size=1) == table["greedy"].tolist()


@pytest.mark.e2e
@pytest.mark.slow
def test_a_large_vocabulary_is_learned_past_the_unigram_loss():
    # Word-for-word "translation" over a Zipfian vocabulary of 1,000 words. With a tanh
    # attentional layer (Luong's) this stalls at the unigram loss (1.004 times it after 8
    # epochs); the linear one reaches 0.78 times it (0.40 with 3,000 pairs).
    rng = np.random.default_rng(0)
    vocab, pairs = 1000, 1500
    frequency = 1.0 / np.arange(1, vocab + 1)
    source = [list(rng.choice(vocab, size=rng.integers(4, 10), p=frequency / frequency.sum())
                   + 4) for _ in range(pairs)]
    word_for = rng.permutation(vocab) + 4
    target = [[int(word_for[i - 4]) for i in sentence] for sentence in source]
    counts = np.bincount([t for sentence in target for t in sentence] + [3] * pairs)
    unigram = counts[counts > 0] / counts.sum()
    unigram_loss = -(unigram * np.log(unigram)).sum()

    keras.utils.set_random_seed(0)
    model = build_translator(vocab + 4, vocab + 4, embedding_dim=32, cell="gru", units=64)
    model.compile(keras.optimizers.Adam(3e-3, global_clipnorm=1.0),
                  "sparse_categorical_crossentropy")
    batches = translation.teacher_forcing_batches(list(zip(source, target)), 2, 3, 64)
    compat.build_for_training(model, batches[0])  # Keras traces the train step once, not twice
    history = model.fit(batches, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.9 * unigram_loss


@pytest.mark.skipif(not MULTI30K.is_dir(),
                    reason=f"Multi30k not found at {MULTI30K} (../shared/data/multi30k "
                           "beside the repository)")
def test_multi30k_is_prepared_with_long_pairs_counted():
    config = translation.Config(data=MULTI30K, source_lang="en", target_lang="de",
                                tokens="word", max_length=20)
    prepared = translation.prepare(config)
    train = read_parallel(MULTI30K / "train.en", MULTI30K / "train.de")
    source_tokenizer, target_tokenizer = translation.tokenizers("word")
    long = sum(len(source_tokenizer.tokenize(s)) > 20 or len(target_tokenizer.tokenize(t)) > 20
               for s, t in train)
    assert prepared.train_pairs_dropped == long > 0
    assert len(prepared.pairs["train"]) == 29000 - long
    assert [len(prepared.pairs[split]) for split in ("valid", "test")] == [1014, 1000]
    assert prepared.pairs["valid"][0] == (
        "A group of men are loading cotton onto a truck",
        "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen")
    assert "Männern" in prepared.preprocessor.target_vocab
