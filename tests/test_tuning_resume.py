"""A search killed with SIGKILL continues from where it was: no finished trial is lost or
run again."""

import json
import signal
import time

import keras_tuner
import pandas as pd
import pytest
from keras_tuner.engine.trial import Trial

from seqtasks.tuning import read_trials, search
from seqtasks.tuning.tuners import end_saved_trials
from tuning_helpers import seqtasks_process, tiny_config, tiny_flags, write_sentiment


@pytest.mark.e2e
@pytest.mark.slow
def test_a_killed_search_resumes_without_losing_or_repeating_trials(tmp_path):
    data = write_sentiment(tmp_path / "data")
    out = tmp_path / "search"
    space = {"units": "4,8", "depth": "1", "cell": "gru,lstm"}
    flags = [item for name, spec in space.items() for item in (f"--{name}", spec)]
    process = seqtasks_process(["tune", "sentiment", "--data", str(data), "--max-trials", "3",
                                "--out", str(out), *flags,
                                *tiny_flags(epochs=2, verbose=0)])
    table = out / "trials.csv"
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if table.is_file() and (pd.read_csv(table)["status"] == "COMPLETED").sum() >= 1:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    _, err = process.communicate()
    assert process.returncode == -signal.SIGKILL, err[-2000:]
    before = pd.read_csv(table)
    assert 1 <= len(before) < 3

    # Started again with the same folder and settings (here from Python), it goes on.
    after = search("sentiment", tiny_config(data, epochs=2), space=space, max_trials=3, out=out)
    assert sorted(after["trial"].astype(int)) == [0, 1, 2]
    assert (after["status"] == "COMPLETED").all()
    # The trials finished before the kill are the same rows, not trained again.
    kept = after.astype({"trial": int}).merge(before, on="trial", suffixes=("", "_before"))
    assert len(kept) == len(before)
    for column in ("objective", "seconds", "units", "cell", "learning_rate"):
        assert (kept[column] == kept[f"{column}_before"]).all(), column
    oracle = json.loads((out / "keras_tuner" / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0", "1", "2"]
    assert set(oracle["run_times"].values()) == {1}  # every trial ended exactly once


def test_a_trial_whose_end_was_saved_is_not_queued_again():
    # A kill between keras-tuner saving an ended trial's file and saving the oracle's
    # state leaves the trial "ongoing" in oracle.json; reloading queues it to run again.
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_loss", max_trials=3)
    for trial_id, status in (("0", "COMPLETED"), ("1", "COMPLETED"), ("2", "RUNNING")):
        oracle.trials[trial_id] = Trial(oracle.get_space(), trial_id, status)
    oracle.end_order, oracle._retry_queue = ["0"], ["1", "2"]
    end_saved_trials(oracle)
    assert oracle._retry_queue == ["2"]  # the interrupted trial still runs again
    assert oracle.end_order == ["0", "1"]


def test_a_half_written_trial_file_is_left_out_of_the_table(tmp_path):
    # keras-tuner writes trial.json in place: a kill, or another process of a distributed
    # search, can leave or meet it half-written.
    (tmp_path / "trial_0").mkdir()
    (tmp_path / "trial_0" / "trial.json").write_text('{"trial_id": "0", "hyperpara')
    frame = read_trials(tmp_path, "val_loss", "min")
    assert frame.empty and list(frame.columns[:3]) == ["trial", "status", "objective"]


def test_keras_tuner_state_files_are_replaced_whole(tmp_path, monkeypatch):
    # keras-tuner's Stateful.save goes through utils.save_json; a kill before the new file
    # is in place must leave the previous state readable (in-place writes left it empty).
    from keras_tuner.src import utils

    import seqtasks.runs

    state = tmp_path / "oracle.json"
    utils.save_json(state, {"trials": 1})

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(seqtasks.runs.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        utils.save_json(state, {"trials": 2})
    assert utils.load_json(state) == {"trials": 1}
