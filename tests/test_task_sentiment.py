"""The sentiment task on tiny data: the run folder, predictions that load back, clean errors."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import seqtasks
from seqtasks.analysis.baselines import bag_of_words_baseline
from seqtasks.cli import main as cli
from seqtasks.data.embedded import embedded_path
from seqtasks.data.readers import read_labelled_text
from seqtasks.errors import ConfigError
from seqtasks.models.classifier import build_classifier
from seqtasks.tasks import sentiment
from seqtasks.tasks.config import parse_config

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "1", "--units", "4", "--embedding-dim", "4", "--batch-size", "8",
        "--max-seconds", "20", "--min-freq", "1", "--verbose", "0"]


def main(argv):
    return cli(["run", "sentiment", *argv])


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


@pytest.mark.e2e
def test_a_run_writes_the_run_folder_and_loads_back_as_a_predictor(sst_like, tmp_path):
    # The recipe script is the same run, started as from a shell (`import keras` in this
    # process set TF_CPP_MIN_LOG_LEVEL, which seqtasks would respect); it runs beside
    # this process's run and is compared with it at the end.
    shell = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    recipe = subprocess.Popen([sys.executable, "recipes/sentiment.py", "--data", str(sst_like),
                               "--out", str(tmp_path / "recipe"), *TINY], cwd=ROOT, env=shell,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        metrics = check_run(sst_like, tmp_path / "run")
        _, stderr = recipe.communicate(timeout=300)
    finally:
        recipe.kill()  # when a check failed (nothing after communicate)
    assert recipe.returncode == 0, stderr[-2000:]
    assert stderr == ""
    recipe_metrics = json.loads((tmp_path / "recipe" / "metrics.json").read_text())
    for name in ("accuracy", "f1", "baseline_accuracy", "confusion_matrix", "epochs",
                 "ngram_weight"):
        assert recipe_metrics[name] == metrics[name], name


def check_run(sst_like, out):
    """Runs ``seqtasks run sentiment`` into `out` and checks its run folder; returns its
    metrics."""
    assert main(["--data", str(sst_like), "--out", str(out), *TINY]) == 0

    assert not out.with_name(out.name + ".partial").exists()
    for name in ("model.keras", "preprocessing.json", "history.csv", "metrics.json",
                 "loss.png", "confusion.png", "predictions.csv", "config.json"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and 0.0 <= metrics["baseline_accuracy"] <= 1.0
    assert np.sum(metrics["confusion_matrix"]) == 24 and metrics["classes"] == ["0", "1"]
    assert metrics["epochs"] == 1 and len(pd.read_csv(out / "history.csv")) == 1
    # The bag-of-n-grams model trained after it (its own history) and mixed in.
    assert 0.0 <= metrics["ngram_weight"] <= 1.0 and (out / "ngrams" / "history.csv").exists()
    assert 0.0 <= metrics["recurrent_accuracy"] <= 1.0 and 0.0 <= metrics["ngram_accuracy"] <= 1.0
    saved = json.loads((out / "config.json").read_text())
    assert saved["task"] == "sentiment" and saved["config"]["data"] == str(sst_like)
    assert saved["config"]["ema"] == 0.999 and "None" not in (out / "config.json").read_text()

    test = read_labelled_text(sst_like / "test.tsv")
    predictions = pd.read_csv(out / "predictions.csv", dtype={"gold": str, "label": str})
    assert predictions["text"].tolist() == test["text"].tolist()
    assert predictions["gold"].tolist() == test["label"].astype(str).tolist()
    assert set(predictions["label"]) <= {"0", "1"}
    # The accuracy in metrics.json is the one of the predictions written out.
    assert metrics["accuracy"] == pytest.approx(
        (predictions["gold"] == predictions["label"]).mean())

    # The run folder loads back and predicts as the run did.
    predictor = seqtasks.load(out)
    again = predictor.predict(test["text"].tolist())
    assert [p["label"] for p in again] == predictions["label"].tolist()
    np.testing.assert_allclose([p["probability"] for p in again], predictions["probability"],
                               atol=1e-4)
    return metrics


@pytest.mark.e2e
def test_missing_valid_and_test_splits_are_held_out_of_train(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    rows = embedded_rows("train", 100).rename(columns={"text": "sentence"})
    rows[["label", "sentence"]].to_csv(folder / "reviews-train.csv", index=False)
    out = tmp_path / "run"
    assert main(["--data", str(folder), "--out", str(out), *TINY]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_examples"] == 10
    held_out = set(pd.read_csv(out / "predictions.csv")["text"])
    assert held_out <= set(rows["sentence"]) and len(held_out) == 10


@pytest.mark.e2e
def test_default_embedded_data_runs_and_no_ngrams_keeps_the_recurrent_classifier(tmp_path):
    out = tmp_path / "run"
    argv = ["--out", str(out), *TINY, "--no-ngrams"]
    argv[argv.index("--max-seconds") + 1] = "1"
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_examples"] == 1000
    assert metrics["baseline_accuracy"] < 0.8  # word order matters in the embedded data
    assert "ngram_weight" not in metrics and not (out / "ngrams").exists()
    assert seqtasks.load(out).model.name == "classifier"


def test_unknown_label_in_test_is_a_one_line_error_naming_file_and_line(sst_like, tmp_path,
                                                                        capsys):
    lines = (sst_like / "test.tsv").read_text().splitlines()
    lines[3] = "maybe\t" + lines[3].split("\t")[1]
    (sst_like / "test.tsv").write_text("\n".join(lines) + "\n")
    code = main(["--data", str(sst_like), "--out", str(tmp_path / "run"), *TINY])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert f"{sst_like / 'test.tsv'}:4:" in error and "'maybe'" in error
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_malformed_training_file_is_a_one_line_error(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "train.csv").write_text("label,sentence\n1,fine\n0,\"unclosed quote\n")
    code = main(["--data", str(folder), "--out", str(tmp_path / "run"), *TINY])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error and str(folder / "train.csv") in error


def test_data_folder_without_a_training_file_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("nothing here")
    code = main(["--data", str(tmp_path), "--out", str(tmp_path / "run"), *TINY])
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


def test_max_pooled_classifier_with_word_dropout_saves_and_loads(tmp_path):
    model = build_classifier(20, 2, embedding_dim=4, units=5, bidirectional=True,
                             pooling="max", word_dropout=0.2, seed=0)
    assert model.get_layer("word_dropout").rate == 0.2
    ids = np.array([[3, 4, 5, 0], [6, 7, 8, 9]])
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0),
                               atol=1e-6)


def test_unknown_pooling_is_a_config_error():
    with pytest.raises(ConfigError, match="pooling"):
        build_classifier(20, 2, pooling="mean")
    with pytest.raises(ConfigError, match="pooling"):
        sentiment.Config(pooling="mean")


def test_preprocessor_round_trips_through_its_config():
    fitted = sentiment.Preprocessor.fit(["a good film", "a bad film", "good"], ["1", "0", "1"],
                                        min_freq=1)
    loaded = sentiment.Preprocessor.from_config(json.loads(json.dumps(fitted.get_config())))
    assert loaded.classes == ["0", "1"]
    np.testing.assert_array_equal(loaded.encode(["good film", "unseen words"]),
                                  fitted.encode(["good film", "unseen words"]))
    assert loaded.decode(np.array([[0.2, 0.8]])) == [("1", pytest.approx(0.8))]


def test_predictor_labels_texts_and_writes_csv():
    preprocessor = sentiment.Preprocessor.fit(["good", "bad"], ["pos", "neg"], min_freq=1)
    model = build_classifier(len(preprocessor.vocab), 2, embedding_dim=4, units=4)
    predictor = sentiment.Predictor(model, preprocessor, sentiment.Config())
    results = predictor.predict(["good", "a much longer text, with, commas", "bad"])
    assert [r["text"] for r in results][0] == "good"
    assert all(r["label"] in ("pos", "neg") and 0.5 <= r["probability"] <= 1 for r in results)
    out = io.StringIO()
    predictor.write(results, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["text", "label", "probability"] and len(rows) == 4
    assert rows[2][0] == "a much longer text, with, commas"
    assert predictor.predict([]) == []


def test_config_checks_values_and_keeps_one_source_of_defaults():
    assert sentiment.Config().monitor == "val_accuracy" and sentiment.Config().dropout == 0.5
    assert sentiment.Config(units=np.int64(8)).units == 8
    for bad in ({"units": True}, {"units": 0}, {"dropout": 1.0}, {"cell": "bogus"},
                {"learning_rate": -1.0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            sentiment.Config(**bad)
    config = sentiment.Config(data="some/folder", max_seconds=None)
    assert sentiment.Config.from_json(json.loads(json.dumps(config.to_json()))) == config
    with pytest.raises(ConfigError, match="no setting 'unitz'"):
        config.replace(unitz=3)


def test_flags_parse_into_the_config_and_none_unsets_an_optional_setting():
    config = parse_config(sentiment, ["--units", "8", "--no-bidirectional", "--max-seconds",
                                      "none", "--clipnorm", "2.5", "--data", "here"])
    assert (config.units, config.bidirectional, config.max_seconds, config.clipnorm) == (
        8, False, None, 2.5)
    assert str(config.data) == "here"
    assert parse_config(sentiment, []) == sentiment.Config()
