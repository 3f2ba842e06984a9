"""Searches on a small sentiment set: the table, the plot, the best run folder, a narrowed
space, failed trials, retraining."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

import seqtasks
from seqtasks.tasks import sentiment
from seqtasks.tuning import command, search
from tuning_helpers import tiny_config, tiny_flags, write_sentiment

COLUMNS = ["trial", "status", "objective", "cell", "depth", "bidirectional", "dropout",
           "learning_rate", "units"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_sentiment(tmp_path_factory.mktemp("sentiment"))


def test_a_grid_search_writes_its_table_plot_and_best_run(data, tmp_path, capsys):
    out = tmp_path / "search"
    space_file = tmp_path / "space.json"
    space_file.write_text(json.dumps({"units": [4, 8], "depth": [1, 2], "cell": ["gru"]}))
    # The flags narrow the file further: depth and dropout fixed, one learning rate.
    code = command.main("sentiment", [
        "--data", str(data), "--tuner", "grid", "--space", str(space_file), "--depth", "1",
        "--bidirectional", "false", "--dropout", "0", "--learning-rate", "0.01",
        "--max-trials", "5", "--epochs", "1", "--out", str(out), *tiny_flags()])
    assert code == 0
    printed = capsys.readouterr().out
    assert "grid search of sentiment: 2 trials (2 completed, 0 failed)" in printed
    assert "best trial" in printed

    trials = pd.read_csv(out / "trials.csv")
    assert list(trials.columns[:len(COLUMNS)]) == COLUMNS
    assert {"epochs", "seconds", "val_accuracy", "val_loss", "error"} <= set(trials.columns)
    # The grid of the narrowed space is exhausted after its 2 points.
    assert sorted(trials["units"]) == [4, 8] and len(trials) == 2
    assert set(trials["cell"]) == {"gru"} and set(trials["depth"]) == {1}
    assert set(trials["dropout"]) == {0.0} and set(trials["learning_rate"]) == {0.01}
    assert (trials["status"] == "COMPLETED").all() and (trials["epochs"] == 1).all()
    assert (trials["seconds"] > 0).all()
    assert trials["objective"].is_monotonic_decreasing  # val_accuracy, best first
    assert np.allclose(trials["objective"], trials["val_accuracy"])
    assert (out / "trials.png").stat().st_size > 5000

    # best/ is a full run folder of the best trial's config: it loads and predicts.
    best = out / "best"
    hyperparameters = json.loads((best / "hyperparameters.json").read_text())
    assert hyperparameters["values"]["units"] == trials["units"][0]
    assert hyperparameters["score"] == pytest.approx(trials["objective"][0])
    saved = json.loads((best / "config.json").read_text())
    assert saved["task"] == "sentiment"
    assert (saved["config"]["units"], saved["config"]["cell"]) == (trials["units"][0], "gru")
    assert {"accuracy", "f1"} <= set(json.loads((best / "metrics.json").read_text()))
    assert len(pd.read_csv(best / "history.csv")) == 1
    assert (best / "predictions.csv").is_file()
    [prediction] = seqtasks.load(best).predict(["a superb film"])
    assert prediction["label"] in {"0", "1"} and 0 < prediction["probability"] <= 1
    assert not (out / "best.partial").exists()


def test_failed_trials_are_recorded_and_the_search_goes_on(data, tmp_path, monkeypatch):
    build = sentiment.build

    def build_or_fail(config, prepared):
        if config.units == 5:
            raise ValueError("no model has 5 units")
        model = build(config, prepared)
        if config.units == 6:  # a loss that is NaN from the first batch
            model.compile(optimizer="adam", loss=lambda y, p: keras.ops.log(p[:, 0] - 2.0))
        return model

    monkeypatch.setattr(sentiment, "build", build_or_fail)
    out = tmp_path / "search"
    trials = search("sentiment", tiny_config(data), tuner="grid", out=out, max_trials=4,
                    space={"units": [4, 5, 6], "depth": 1, "cell": "gru", "dropout": 0.0,
                           "bidirectional": False, "learning_rate": 0.01}, retrain=True)
    assert trials["units"].tolist() == [4, 5, 6]  # completed first, then failed in order
    assert trials["status"].tolist() == ["COMPLETED", "FAILED", "FAILED"]
    assert trials["error"][0] == "" and "no model has 5 units" in trials["error"][1]
    assert "NaN" in trials["error"][2] and trials["epochs"][2] == 1
    assert pd.isna(trials["objective"][1:]).all()
    assert pd.read_csv(out / "trials.csv")["status"].tolist() == trials["status"].tolist()

    # retrain=True: the best hyperparameters trained again from scratch.
    best = json.loads((out / "best" / "hyperparameters.json").read_text())
    assert best["retrained"] and best["values"]["units"] == 4
    assert len(pd.read_csv(out / "best" / "history.csv")) == 1
    assert not (out / "best" / "training").exists()
    assert seqtasks.load(out / "best").model.count_params() > 0
