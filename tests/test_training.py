"""Run folders, training callbacks (resume, NaN, time budget), metrics and plots."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

from seqtasks.errors import ConfigError
from seqtasks.metrics import classification_scores, perplexity, tagging_scores, translation_scores
from seqtasks.plots import plot_attention, plot_confusion, plot_history
from seqtasks.runs import RunFolder, write_json
from seqtasks.training import TrainingError, fit, make_optimizer


def test_run_folder_publishes_only_on_success(tmp_path):
    out = tmp_path / "run"
    with RunFolder(out) as work:
        (work / "metrics.json").write_text("good")
    with pytest.raises(RuntimeError):
        with RunFolder(out) as work:
            (work / "metrics.json").write_text("half")
            (work / "backup").mkdir()  # a training checkpoint: the run can be resumed
            raise RuntimeError("killed")
    assert (out / "metrics.json").read_text() == "good"
    assert (tmp_path / "run.partial" / "metrics.json").read_text() == "half"
    with RunFolder(out, resume=True) as work:
        assert (work / "metrics.json").read_text() == "half"
        (work / "metrics.json").write_text("resumed")
    assert (out / "metrics.json").read_text() == "resumed"
    assert not (tmp_path / "run.partial").exists() and not (tmp_path / "run.old").exists()


def test_a_run_that_fails_before_any_checkpoint_leaves_nothing_behind(tmp_path):
    with pytest.raises(ValueError):
        with RunFolder(tmp_path / "run") as work:
            (work / "config.json").write_text("{}")
            raise ValueError("bad data")
    assert list(tmp_path.iterdir()) == []


def test_resume_without_an_interrupted_run_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no interrupted run"):
        RunFolder(tmp_path / "run", resume=True).__enter__()


def test_write_json_makes_non_finite_numbers_null(tmp_path):
    write_json(tmp_path / "m.json", {"a": float("nan"), "b": [1.5, float("inf")]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": None, "b": [1.5, None]}


def small_model(learning_rate=0.01, ema=0.0, optimizer=None):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=optimizer or make_optimizer(learning_rate, clipnorm=1.0, ema=ema),
                  loss="mse")
    return model


def fixed_average_model():
    """A model whose optimizer averages with Keras's fixed momentum 0.9999 (no warm-up)."""
    return small_model(optimizer=keras.optimizers.Adam(0.1, use_ema=True, ema_momentum=0.9999))


def regression_data():
    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    return x, x.sum(1, keepdims=True)


class StopAt(keras.callbacks.Callback):
    """Interrupts training in the middle of epoch `epoch` (as a kill would)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.seen = epoch, []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)

    def on_train_batch_end(self, batch, logs=None):
        if self.seen[-1] == self.epoch and batch == 1:
            raise KeyboardInterrupt


def test_fit_resumes_from_the_last_finished_epoch(tmp_path):
    x, y = regression_data()
    interrupt = StopAt(epoch=2)
    with pytest.raises(KeyboardInterrupt):
        fit(small_model(), (x, y), (x, y), tmp_path, epochs=5, patience=10, verbose=0,
            extra_callbacks=[interrupt])
    assert (tmp_path / "backup").is_dir()
    # A kill between the history row and the checkpoint leaves a row of an unfinished epoch.
    rows = pd.read_csv(tmp_path / "history.csv")
    pd.concat([rows, rows.tail(1).assign(epoch=2)]).to_csv(tmp_path / "history.csv", index=False)
    again = StopAt(epoch=-1)
    history = fit(small_model(), (x, y), (x, y), tmp_path, epochs=5, patience=10, verbose=0,
                  extra_callbacks=[again])
    assert again.seen == [2, 3, 4]
    assert list(history["epoch"]) == [0, 1, 2, 3, 4]
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert not (tmp_path / "backup").exists()


def distance(weights, others):
    return max(float(np.abs(a - b).max()) for a, b in zip(weights, others))


@pytest.mark.parametrize("interrupted", [False, True])
def test_fit_validates_and_returns_the_moving_average(tmp_path, interrupted):
    # With a fixed momentum of 0.9999 the average of a few dozen steps stays near the
    # weights after the first step (Keras starts it there), while the raw weights learn
    # (from about +-0.8 to 1.0 each): so what fit validates and returns must stay put.
    x, y = regression_data()
    keras.utils.set_random_seed(0)
    model = fixed_average_model()
    initial = model.get_weights()
    if interrupted:  # a checkpoint in between must keep the average apart from the raw weights
        with pytest.raises(KeyboardInterrupt):
            fit(model, (x, y), (x, y), tmp_path, epochs=20, patience=30, verbose=0,
                extra_callbacks=[StopAt(epoch=2)])
        model = fixed_average_model()
    history = fit(model, (x, y), (x, y), tmp_path, epochs=20, patience=30, verbose=0)
    assert history["loss"].iloc[-1] < 0.1 * history["loss"].iloc[0]  # the raw weights learnt
    assert distance(model.get_weights(), initial) < 0.2
    assert history["val_loss"].min() > 10 * history["loss"].iloc[-1]
    assert model.evaluate(x, y, verbose=0) == pytest.approx(history["val_loss"].min(), rel=1e-4)


def test_nan_loss_becomes_a_clear_error(tmp_path):
    x, y = regression_data()
    y[5] = np.nan
    with pytest.raises(TrainingError, match="NaN"):
        fit(small_model(), (x, y), (x, y), tmp_path, epochs=3, verbose=0)


def test_time_budget_stops_training(tmp_path):
    x, y = regression_data()
    history = fit(small_model(), (x, y), (x, y), tmp_path, epochs=1000, max_seconds=1,
                  patience=10_000, verbose=0)
    assert 1 <= len(history) < 1000


def test_classification_scores():
    scores = classification_scores([0, 0, 1, 1], [0, 1, 1, 1])
    assert scores["accuracy"] == 0.75
    assert scores["f1"] == pytest.approx(0.8)
    assert scores["confusion_matrix"] == [[1, 1], [0, 2]]


def test_tagging_scores_count_whole_entities():
    true = [["B-PER", "I-PER", "O"], ["B-LOC", "O"]]
    pred = [["B-PER", "O", "O"], ["B-LOC", "O"]]
    scores = tagging_scores(true, pred)
    assert scores["accuracy"] == 0.8
    assert scores["f1"] == pytest.approx(0.5)  # 1 of 2 entities right, 1 of 2 predicted right
    assert "f1" not in tagging_scores([["NOUN", "VERB"]], [["NOUN", "NOUN"]])


def test_perplexity_and_translation_scores():
    assert perplexity(0.0) == 1.0
    scores = translation_scores(["2021-03-03", "1999-01-02"], ["2021-03-03", "1999-01-03"])
    assert scores["exact_match"] == 0.5
    assert 0.0 < scores["bleu"] < 100.0


def test_plots_are_written(tmp_path):
    history = pd.DataFrame({"epoch": [0, 1, 2], "loss": [1.0, 0.6, 0.4],
                            "val_loss": [1.1, 0.7, 0.5], "accuracy": [0.5, 0.7, 0.8]})
    plot_history(history, tmp_path / "loss.png")
    plot_confusion([[5, 1], [2, 7]], ["neg", "pos"], tmp_path / "cm.png")
    plot_attention(np.eye(3), ["a", "b", "c"], ["x", "y", "z"], tmp_path / "att.png")
    for name in ("loss.png", "cm.png", "att.png"):
        assert (tmp_path / name).stat().st_size > 1000
