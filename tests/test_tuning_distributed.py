"""Scaling out on existing engines: keras-tuner's chief/worker mode over gRPC on 127.0.0.1,
and `tf.distribute.MirroredStrategy` over two logical CPU devices."""

import json
import socket
import subprocess
import sys
import time

import keras
import pandas as pd
import pytest

from seqtasks.cli import main
from seqtasks.tuning import search
from tuning_helpers import (ROOT, environment, seqtasks_process, tiny_config, tiny_flags,
                            write_sentiment)

SPACE = {"units": "4,8", "depth": "1", "cell": "gru,lstm"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
@pytest.mark.slow
def test_a_chief_and_two_workers_run_every_trial_exactly_once(tmp_path, monkeypatch):
    data = write_sentiment(tmp_path / "data")
    out = tmp_path / "search"
    oracle = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    flags = [item for name, spec in SPACE.items() for item in (f"--{name}", spec)]
    argv = ["tune", "sentiment", "--data", str(data), "--max-trials", "3", "--out", str(out),
            *flags, *tiny_flags(epochs=1, verbose=0)]
    workers = [seqtasks_process(argv, env={**oracle, "KERASTUNER_TUNER_ID": f"tuner{k}"})
               for k in range(2)]
    try:
        # The chief (this process) serves the oracle until every trial has ended. Once the
        # last trial is handed out, keras-tuner's chief checks every 20 s whether the workers
        # are done: poll every second instead, to keep the test short.
        for name, value in {**oracle, "KERASTUNER_TUNER_ID": "chief"}.items():
            monkeypatch.setenv(name, value)
        sleep = time.sleep
        monkeypatch.setattr(time, "sleep", lambda seconds: sleep(min(seconds, 1)))
        trials = search("sentiment", tiny_config(data), space=SPACE, max_trials=3, out=out)
    finally:
        results = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, err) in zip(workers, results):
        assert worker.returncode == 0, err[-2000:]

    assert sorted(trials["trial"].astype(int)) == [0, 1, 2]
    assert (trials["status"] == "COMPLETED").all()
    state = json.loads((out / "keras_tuner" / "oracle.json").read_text())
    assert sorted(state["end_order"]) == ["0", "1", "2"]
    assert set(state["run_times"].values()) == {1}
    ran_by = [json.loads((out / "keras_tuner" / f"trial_{t}" / "run.json").read_text())
              ["tuner_id"] for t in trials["trial"]]
    assert set(ran_by) <= {"tuner0", "tuner1"}  # the chief only serves the oracle
    assert len(pd.read_csv(out / "trials.csv")) == 3
    assert (out / "best" / "model.keras").is_file()
    assert not any(worker_out.strip() for worker_out, _ in results)  # verbose 0


MIRRORED = """
import sys
from seqtasks.cli import main
data, out = sys.argv[1:3]
tiny = sys.argv[3:]
assert main(["run", "sentiment", "--data", data, "--distribute", "mirrored", "--epochs", "1",
             "--units", "4", "--verbose", "0", "--out", out + "/run", *tiny]) == 0
assert main(["tune", "sentiment", "--data", data, "--distribute", "mirrored", "--epochs", "1",
             "--units", "4", "--depth", "1", "--max-trials", "1", "--verbose", "0",
             "--out", out + "/search", *tiny]) == 0
"""


@pytest.mark.e2e
@pytest.mark.slow
def test_mirrored_training_over_two_logical_cpus(tmp_path):
    data = write_sentiment(tmp_path / "data")
    # A fresh process: the CPU must be split before TensorFlow starts.
    done = subprocess.run([sys.executable, "-c", MIRRORED, str(data), str(tmp_path),
                           *tiny_flags()],
                          cwd=ROOT, env=environment(SEQTASKS_CPU_DEVICES="2"),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("data-parallel training on 2 replicas") == 1  # one strategy
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert model.count_params() > 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert saved["distribute"] == "mirrored"
    assert (pd.read_csv(tmp_path / "search" / "trials.csv")["status"] == "COMPLETED").all()
    assert json.loads((tmp_path / "search" / "best" / "config.json").read_text())[
        "config"]["distribute"] == "mirrored"


def test_a_bad_device_count_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEQTASKS_CPU_DEVICES", "two")
    assert main(["run", "sentiment", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "SEQTASKS_CPU_DEVICES must be a positive integer" in err and "\n" not in err
