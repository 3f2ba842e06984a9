"""The generation recipe end to end on a tiny text, and generation from a saved run."""

import json
import math

import keras
import numpy as np
import pandas as pd
import pytest

from seqtasks.decoding.sampling import generate_from_run
from seqtasks.errors import DataError
from seqtasks.recipe import run_main
from seqtasks.recipes.generation import main

TINY = ["--units", "8", "--embedding-dim", "4", "--seq-len", "16", "--batch-size", "4",
        "--epochs", "1", "--max-seconds", "20", "--sample-length", "30",
        "--temperatures", "0.5,1.0", "--verbose", "0"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("generation")
    lines = [f"the {w} sat on the mat number {i}.\n" for i, w in
             enumerate(["cat", "dog", "bird", "fox"] * 20)]
    data = tmp / "tiny.txt"
    data.write_text("".join(lines), encoding="utf-8")
    out = tmp / "run"
    assert main(["--data", str(data), "--out", str(out), *TINY]) == 0
    return out


def test_outputs_exist_and_metrics_are_sane(run_dir):
    for name in ("model.keras", "vocab.json", "tokenizer.json", "history.csv", "metrics.json",
                 "loss.png", "context.png", "samples.txt", "config.json"):
        assert (run_dir / name).is_file(), name
    assert not run_dir.with_name("run.partial").exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("perplexity", "cross_entropy", "baseline_perplexity"):
        assert math.isfinite(metrics[key]) and metrics[key] > 1.0, key
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["cross_entropy"]))
    # The perplexity is per character of a vocabulary of fewer than 40 symbols.
    assert metrics["perplexity"] < metrics["vocab_size"] < 40
    assert "5-gram" in metrics["baseline"]
    assert len(pd.read_csv(run_dir / "history.csv")) == 1
    samples = (run_dir / "samples.txt").read_text(encoding="utf-8")
    assert samples.count("=== temperature") == 2
    assert json.loads((run_dir / "config.json").read_text())["seq_len"] == 16


def test_model_loads_back_and_predicts(run_dir):
    model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    vocab_size = json.loads((run_dir / "metrics.json").read_text())["vocab_size"]
    logits = model.predict(np.array([[2, 3, 4, 5, 6]]), verbose=0)
    assert logits.shape == (1, 5, vocab_size)


def test_generate_from_run(run_dir):
    vocabulary = set(json.loads((run_dir / "vocab.json").read_text(encoding="utf-8"))["tokens"])
    text = generate_from_run(run_dir, "the cat", length=25, temperature=0.8, seed=1)
    assert isinstance(text, str) and len(text) == 25  # never <pad> or <unk>
    assert set(text) <= vocabulary
    assert generate_from_run(run_dir, "the cat", length=25, temperature=0.8, seed=1) == text
    # Characters the vocabulary lacks read as <unk>; top-k 1 is greedy, whatever the seed.
    greedy = [generate_from_run(run_dir, "Zé the", 10, top_k=1, seed=s) for s in (1, 2)]
    assert greedy[0] == greedy[1]


@pytest.mark.parametrize("cell", ["tdnn", "narx"])
def test_memory_networks_train_and_generate(tmp_path, cell):
    data = tmp_path / "tiny.txt"
    data.write_text("the cat sat on the mat. " * 60, encoding="utf-8")
    out = tmp_path / cell
    assert main(["--data", str(data), "--out", str(out), "--cell", cell, *TINY]) == 0
    assert math.isfinite(json.loads((out / "metrics.json").read_text())["perplexity"])
    assert len(generate_from_run(out, "the ", length=12, seed=0)) == 12


def test_generate_from_a_folder_without_a_model(tmp_path):
    with pytest.raises(DataError, match="model.keras"):
        generate_from_run(tmp_path, "hi", 5)


def test_embedded_default_runs(tmp_path):
    out = tmp_path / "pydoc"
    assert main(["--out", str(out), "--max-chars", "12000", *TINY]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_chars"] == 10800 and metrics["valid_chars"] == 1200


@pytest.mark.parametrize("content, message", [
    (b"caf\xe9 au lait\n" * 100, "not valid UTF-8"),
    (b"too short\n", "too few"),
])
def test_bad_data_file_gives_one_line_and_exit_2(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    code = run_main(main, ["--data", str(bad), "--out", str(tmp_path / "run"), *TINY],
                    prog="seqtasks run generation")
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(bad) in err and message in err
    assert not (tmp_path / "run").exists()
