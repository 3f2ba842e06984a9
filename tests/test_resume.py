"""A run killed mid-epoch (SIGKILL) and resumed with --resume loses and repeats no epoch."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

import pytest

from seqtasks.cli import main
from seqtasks.data.embedded import embedded_path
from seqtasks.data.readers import read_labelled_text

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "sentiment.py"
EPOCHS = 5
# A tiny model on 1,500 embedded reviews: each epoch takes about a second or two.
ARGS = ["--epochs", str(EPOCHS), "--patience", "50", "--units", "8", "--embedding-dim", "8",
        "--batch-size", "16", "--verbose", "0"]


def small_data(folder):
    """A few embedded reviews per split, so that start-up and evaluation stay short."""
    folder.mkdir()
    for split, n in (("train", 1500), ("valid", 100), ("test", 100)):
        frame = read_labelled_text(embedded_path("sentiment", split)).head(n)
        frame.rename(columns={"text": "sentence"})[["label", "sentence"]].to_csv(
            folder / f"{split}.csv", index=False)
    return folder


def wait_for(condition, timeout, what, process=None):
    """Polls `condition()` every 0.1 s; fails after `timeout` seconds or if `process` exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the run exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def history_rows(path):
    try:
        return len(pd.read_csv(path))
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return 0


def checkpointed_epochs(backup):
    try:
        return json.loads((backup / "training_metadata.json").read_text())["epoch"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


@pytest.mark.e2e
@pytest.mark.slow
def test_killed_run_resumes_after_the_last_checkpointed_epoch(tmp_path):
    out = tmp_path / "run"
    partial = tmp_path / "run.partial"
    backup = partial / "backup"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    data = small_data(tmp_path / "data")
    command = [sys.executable, str(RECIPE), "--data", str(data), "--out", str(out), *ARGS]
    log = open(tmp_path / "first.log", "w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: checkpointed_epochs(backup) >= 1, 120, "the first checkpoint", process)
        # The epoch's row is written just after its checkpoint; then the next epoch runs.
        wait_for(lambda: history_rows(partial / "history.csv") >= 1, 10, "history.csv", process)
        time.sleep(0.3)
        assert process.poll() is None, "the run finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        log.close()
    assert process.returncode == -signal.SIGKILL
    assert not out.exists() and partial.is_dir()
    done = checkpointed_epochs(backup)
    assert 1 <= done < EPOCHS
    assert history_rows(partial / "history.csv") == done

    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (out / "metrics.json").is_file() and (out / "model.keras").is_file()
    assert not partial.exists()
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == list(range(EPOCHS))


def test_resume_without_an_interrupted_run_is_a_one_line_error(tmp_path, capsys):
    code = main(["run", "sentiment", "--out", str(tmp_path / "run"), "--resume", *ARGS])
    error = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in error and "no interrupted run" in error
