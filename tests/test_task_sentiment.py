"""The sentiment recipe end to end on tiny data: outputs, a model that loads back, clean errors."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from seqtasks.recipes.sentiment import main
from seqtasks.analysis.baselines import bag_of_words_baseline
from seqtasks.data.readers import read_labelled_text
from seqtasks.data.embedded import embedded_path
from seqtasks.models.classifier import build_classifier
from seqtasks.recipe import run_main
from seqtasks.data.text import Vocabulary, WordTokenizer

TINY = ["--epochs", "1", "--units", "4", "--embedding-dim", "4", "--batch-size", "8",
        "--max-seconds", "20", "--min-freq", "1", "--verbose", "0"]


def embedded_rows(split, n):
    return read_labelled_text(embedded_path("sentiment", split)).head(n)


def write_tsv(path, frame, text_column):
    lines = [f"label\t{text_column}"] + [f"{label}\t{text}" for text, label in
                                         zip(frame["text"], frame["label"])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def sst_like(tmp_path):
    """A folder laid out like SST-2: train.tsv (`sentence`), dev.tsv and test.tsv (`content`)."""
    folder = tmp_path / "sst"
    folder.mkdir()
    write_tsv(folder / "train.tsv", embedded_rows("train", 64), "sentence")
    write_tsv(folder / "dev.tsv", embedded_rows("valid", 16), "content")
    write_tsv(folder / "test.tsv", embedded_rows("test", 24), "content")
    return folder


def test_recipe_writes_a_complete_run_that_loads_back(sst_like, tmp_path):
    out = tmp_path / "run"
    assert main(["--data", str(sst_like), "--out", str(out), *TINY]) == 0

    assert not (tmp_path / "run.partial").exists()
    for name in ("model.keras", "vocab.json", "labels.json", "history.csv", "metrics.json",
                 "loss.png", "confusion.png", "predictions.csv", "config.json"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["baseline_accuracy"] <= 1.0
    assert np.sum(metrics["confusion_matrix"]) == 24 and metrics["classes"] == ["0", "1"]
    assert len(pd.read_csv(out / "history.csv")) == 1
    assert json.loads((out / "config.json").read_text())["data"] == str(sst_like)

    test = read_labelled_text(sst_like / "test.tsv")
    predictions = pd.read_csv(out / "predictions.csv", dtype={"gold": str, "predicted": str})
    assert predictions["sentence"].tolist() == test["text"].tolist()
    assert predictions["gold"].tolist() == test["label"].astype(str).tolist()
    assert set(predictions["predicted"]) <= {"0", "1"}
    # The accuracy in metrics.json is the one of the predictions written out.
    assert metrics["accuracy"] == pytest.approx(
        (predictions["gold"] == predictions["predicted"]).mean())

    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    vocab = Vocabulary.load(out / "vocab.json")
    ids = np.array([vocab.encode(WordTokenizer().tokenize("the acting was great"))])
    probabilities = model.predict(ids, verbose=0)
    assert probabilities.shape == (1, 2) and probabilities.sum() == pytest.approx(1.0)


def test_missing_valid_and_test_splits_are_held_out_of_train(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    rows = embedded_rows("train", 100).rename(columns={"text": "sentence"})
    rows[["label", "sentence"]].to_csv(folder / "reviews-train.csv", index=False)
    out = tmp_path / "run"
    assert main(["--data", str(folder), "--out", str(out), *TINY]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_examples"] == 10
    held_out = set(pd.read_csv(out / "predictions.csv")["sentence"])
    assert held_out <= set(rows["sentence"]) and len(held_out) == 10


def test_default_embedded_data_runs(tmp_path):
    out = tmp_path / "run"
    argv = ["--out", str(out), *TINY]
    argv[argv.index("--max-seconds") + 1] = "1"
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_examples"] == 1000
    assert metrics["baseline_accuracy"] < 0.8  # word order matters in the embedded data


def test_unknown_label_in_test_is_a_one_line_error_naming_file_and_line(sst_like, tmp_path,
                                                                        capsys):
    lines = (sst_like / "test.tsv").read_text().splitlines()
    lines[3] = "maybe\t" + lines[3].split("\t")[1]
    (sst_like / "test.tsv").write_text("\n".join(lines) + "\n")
    code = run_main(main, ["--data", str(sst_like), "--out", str(tmp_path / "run"), *TINY],
                    prog="sentiment")
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert f"{sst_like / 'test.tsv'}:4:" in error and "'maybe'" in error
    assert not (tmp_path / "run").exists()


def test_malformed_training_file_is_a_one_line_error(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "train.csv").write_text("label,sentence\n1,fine\n0,\"unclosed quote\n")
    code = run_main(main, ["--data", str(folder), "--out", str(tmp_path / "run"), *TINY],
                    prog="sentiment")
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error and str(folder / "train.csv") in error


def test_data_folder_without_a_training_file_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("nothing here")
    code = run_main(main, ["--data", str(tmp_path), "--out", str(tmp_path / "run"), *TINY],
                    prog="sentiment")
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error and "no training file" in error


@pytest.mark.parametrize("pooling", ["last", "max"])
def test_classifier_reads_only_up_to_the_padding(pooling):
    model = build_classifier(20, 3, embedding_dim=4, units=5, bidirectional=True, depth=2,
                             pooling=pooling)
    short = model.predict(np.array([[3, 4, 5]]), verbose=0)
    padded = model.predict(np.array([[3, 4, 5, 0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(short, padded, atol=1e-6)
    assert short.shape == (1, 3)


def test_bag_of_words_baseline_scores_a_separable_task():
    texts = ["a good film", "a great plot", "a bad film", "an awful plot"] * 5
    labels = ["pos", "pos", "neg", "neg"] * 5
    assert bag_of_words_baseline(texts, labels, ["good plot", "awful film"], ["pos", "neg"]) == 1.0


def test_max_pooled_classifier_saves_and_loads(tmp_path):
    model = build_classifier(20, 2, embedding_dim=4, units=5, bidirectional=True,
                             pooling="max")
    ids = np.array([[3, 4, 5, 0], [6, 7, 8, 9]])
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0),
                               atol=1e-6)


def test_unknown_pooling_is_a_config_error():
    from seqtasks.errors import ConfigError

    with pytest.raises(ConfigError, match="pooling"):
        build_classifier(20, 2, pooling="mean")
