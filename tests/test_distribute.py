"""``--distribute multiworker`` (two TensorFlow worker processes on 127.0.0.1) and
``--distribute data-parallel`` (Keras's DataParallel over two JAX CPU devices)."""

import contextlib
import json
import re
import socket
import subprocess
import sys
import tempfile

import keras
import pandas as pd
import pytest

from seqtasks import distribute
from seqtasks.cli import main
from seqtasks.errors import ConfigError
from seqtasks.runs import ScratchFolder
from tuning_helpers import ROOT, environment, seqtasks_process, write_sentiment

RUN_FILES = {"config.json", "metrics.json", "history.csv", "model.keras", "preprocessing.json"}
TINY = ["--epochs", "1", "--units", "4", "--embedding-dim", "4", "--min-freq", "1",
        "--batch-size", "32", "--dropout", "0", "--seed", "3"]
TIMEOUT = 300  # seconds a worker may take on a slow, busy 2-core machine


def free_ports(count):
    """`count` different ports that were free on 127.0.0.1 a moment ago."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def tf_config(ports, index):
    """The TF_CONFIG of worker `index` of a cluster of workers at `ports` of 127.0.0.1."""
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                       "task": {"type": "worker", "index": index}})


def steps_per_epoch(output):
    """The step counts of the epochs of the task's model that Keras's ``--verbose 2``
    lines show (before the sentiment task's bag-of-n-grams model trains its own)."""
    output = output.split("training the bag-of-n-grams model")[0]
    return [int(total) for done, total in re.findall(r"^(\d+)/(\d+) - ", output, re.M)
            if done == total]


@pytest.mark.parametrize(("cluster", "task", "expected"), [
    ({"worker": ["a:1", "b:2"]}, {"type": "worker", "index": 0}, ("worker", 0, True)),
    ({"worker": ["a:1", "b:2"]}, {"type": "worker", "index": 1}, ("worker", 1, False)),
    ({"chief": ["c:3"], "worker": ["a:1"]}, {"type": "worker", "index": 0},
     ("worker", 0, False)),
    ({"chief": ["c:3"], "worker": ["a:1"]}, {"type": "chief", "index": 0},
     ("chief", 0, True)),
])
def test_the_chief_is_the_chief_task_or_else_worker_0(cluster, task, expected):
    worker = distribute.read_tf_config(json.dumps({"cluster": cluster, "task": task}))
    assert tuple(worker) == expected


@pytest.mark.parametrize(("text", "words"), [
    (None, "needs $TF_CONFIG"),
    ("", "needs $TF_CONFIG"),
    ("{cluster", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"task": {"type": "worker", "index": 0}}', 'needs a "cluster"'),
    ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "roles must be"),
    ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', "HOST:PORT"),
    ('{"cluster": {"chief": ["a:1", "b:2"]}, "task": {"type": "chief", "index": 0}}',
     "one chief"),
    ('{"cluster": {"worker": ["a:1"]}}', '"task" must be'),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', '"task" must be'),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}',
     "index must be 0 to 0"),
])
def test_a_bad_tf_config_is_a_one_line_config_error(text, words):
    with pytest.raises(ConfigError) as error:
        distribute.read_tf_config(text)
    assert words in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(("tf_config", "words"), [(None, "needs $TF_CONFIG"),
                                                  ("{bad", "TF_CONFIG is not valid JSON")])
def test_run_multiworker_without_a_good_tf_config_exits_2_with_one_line(
        tmp_path, monkeypatch, capsys, tf_config, words):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert main(["run", "sentiment", "--distribute", "multiworker",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
    assert not any(tmp_path.iterdir())


def test_each_strategy_names_the_backend_it_needs(tmp_path, monkeypatch, capsys):
    assert keras.backend.backend() == "tensorflow"
    assert main(["run", "sentiment", "--distribute", "data-parallel",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--distribute data-parallel needs the jax backend" in err and "\n" not in err
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    for name in ("mirrored", "multiworker"):
        with pytest.raises(ConfigError, match=f"--distribute {name} needs the tensorflow "
                                              f"backend .* this run uses jax"):
            distribute.check_backend(name)
    distribute.check_backend("data-parallel")
    distribute.check_backend("none")


def test_tune_refuses_multiworker_before_writing_anything(tmp_path, capsys):
    out = tmp_path / "search"
    assert main(["tune", "sentiment", "--distribute", "multiworker", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "multiworker is for seqtasks run" in err and "\n" not in err
    assert not out.exists()


def test_a_worker_that_is_not_the_chief_works_in_a_folder_removed_at_the_end(
        tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "run"
    with ScratchFolder(out) as work:
        (work / "metrics.json").write_text("{}")
        assert work.parent == tmp_path / "tmp"
    assert not any((tmp_path / "tmp").iterdir()) and not out.exists()
    assert not out.with_name("run.partial").exists()


def test_resuming_workers_start_from_a_copy_of_the_chiefs_checkpoints(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="no interrupted run to continue"):
        ScratchFolder(out, resume=True).__enter__()
    backup = out.with_name("run.partial") / "backup"
    backup.mkdir(parents=True)
    (backup / "training_metadata.json").write_text('{"epoch": 2}')
    with ScratchFolder(out, resume=True) as work:
        assert (work / "backup" / "training_metadata.json").read_text() == '{"epoch": 2}'
        (work / "backup" / "training_metadata.json").write_text('{"epoch": 3}')
    assert (backup / "training_metadata.json").read_text() == '{"epoch": 2}'  # the chief's


@pytest.mark.e2e
@pytest.mark.slow
def test_two_workers_train_like_one_and_only_the_chief_writes_the_run(tmp_path, capsys):
    # 15 validation and 7 test examples: batches that do not split evenly over 2 workers.
    data = write_sentiment(tmp_path / "data", (("train", 64), ("valid", 15), ("test", 7)))
    ports = free_ports(2)
    scratch = [tmp_path / f"tmp{index}" for index in range(2)]
    for folder in scratch:
        folder.mkdir()
    # --max-seconds: the workers agree after every batch whether the budget is spent.
    argv = ["run", "sentiment", "--data", str(data), "--verbose", "2", "--max-seconds", "600",
            *TINY]
    workers = [seqtasks_process([*argv, "--distribute", "multiworker",
                                 "--out", str(tmp_path / "pair")],
                                env={"TF_CONFIG": tf_config(ports, index),
                                     "TMPDIR": str(scratch[index])})
               for index in range(2)]
    try:
        # Meanwhile the same training on one device, here: Keras takes the same path
        # under a one-replica strategy (without one it reads the batches in another order).
        assert main([*argv, "--distribute", "mirrored", "--out", str(tmp_path / "single")]) == 0
        outputs = [worker.communicate(timeout=TIMEOUT) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, (out + err)[-3000:]
    assert "multi-worker training on 2 replicas; this is worker 0 (the chief" in outputs[0][1]
    assert "this is worker 1\n" in outputs[1][1]

    # Every training example once per epoch: the global batch of 32 is split over the
    # workers, so each takes as many steps as one device does.
    single_steps = steps_per_epoch(capsys.readouterr().out)
    assert [steps_per_epoch(out) for out, _ in outputs] == [single_steps] * 2 == [[2]] * 2
    # One run folder, the chief's; the other worker's temporary folder is gone.
    assert RUN_FILES <= {path.name for path in (tmp_path / "pair").iterdir()}
    assert not (tmp_path / "pair.partial").exists()
    assert [list(folder.iterdir()) for folder in scratch] == [[], []]
    saved = json.loads((tmp_path / "pair" / "config.json").read_text())["config"]
    assert saved["distribute"] == "multiworker"
    # The same training as on one device, up to the order of floating-point sums (the
    # training batches split evenly; the validation batch is split 8 + 7).
    pair, single = (pd.read_csv(tmp_path / run / "history.csv") for run in ("pair", "single"))
    assert list(pair.columns) == list(single.columns) and len(pair) == len(single) == 1
    assert pair.values == pytest.approx(single.values, abs=1e-4)
    metrics = [json.loads((tmp_path / run / "metrics.json").read_text())
               for run in ("pair", "single")]
    for name in ("accuracy", "valid_accuracy", "f1", "best_val_loss"):
        assert metrics[0][name] == pytest.approx(metrics[1][name], abs=1e-4), name


DATA_PARALLEL = """
import json, sys
import keras
from seqtasks import distribute
from seqtasks.cli import main

laid_out = []  # (batch rows, split over the devices?) of every batch laid out
lay_out = distribute.EvenDataParallel.get_data_layout
def recording(self, shape):
    layout = lay_out(self, shape)
    laid_out.append((shape[0], layout.axes[0] is not None))
    return layout
distribute.EvenDataParallel.get_data_layout = recording

data, out, *flags = sys.argv[1:]
assert main(["run", "sentiment", "--distribute", "data-parallel", "--data", data,
             "--out", out + "/parallel", *flags]) == 0
assert keras.distribution.distribution() is None  # reset after the run
count = len(laid_out)
assert main(["run", "sentiment", "--data", data, "--out", out + "/single", *flags]) == 0
assert len(laid_out) == count  # the second run is not distributed
print(json.dumps(laid_out))
"""


@pytest.mark.e2e
@pytest.mark.slow
def test_data_parallel_on_two_jax_devices_trains_like_one(tmp_path):
    # 63 training examples: batches of 32 and 31.
    data = write_sentiment(tmp_path / "data", (("train", 63), ("valid", 15), ("test", 7)))
    done = subprocess.run(
        [sys.executable, "-c", DATA_PARALLEL, str(data), str(tmp_path), "--verbose", "0",
         *TINY],
        cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        env=environment(KERAS_BACKEND="jax",
                        XLA_FLAGS="--xla_force_host_platform_device_count=2"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "data-parallel training on 2 JAX devices" in done.stderr
    laid_out = json.loads(done.stdout.strip().splitlines()[-1])
    # On JAX every batch comes padded to the batch size (rows of weight 0: one shape to
    # compile), so the last 31 training, the 15 validation and 7 test examples split too.
    assert laid_out and all(entry == [32, True] for entry in laid_out)
    parallel, single = (json.loads((tmp_path / run / "metrics.json").read_text())
                        for run in ("parallel", "single"))
    assert parallel["accuracy"] == pytest.approx(single["accuracy"], abs=1e-6)
    assert parallel["best_val_loss"] == pytest.approx(single["best_val_loss"], abs=1e-4)
    assert json.loads((tmp_path / "parallel" / "config.json").read_text())["config"][
        "distribute"] == "data-parallel"
