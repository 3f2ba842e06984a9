"""Shared by the tuning tests: a small sentiment dataset, tiny settings, subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from seqtasks.data.embedded import embedded_path
from seqtasks.tasks import sentiment

# Settings that make a sentiment trial cheap: one batch per epoch, tiny embeddings (a few
# seconds, mostly graph tracing).
TINY = {"embedding_dim": 4, "min_freq": 1, "batch_size": 256}
ROOT = Path(__file__).resolve().parents[1]


def tiny_flags(**settings):
    """`TINY` and `settings` as ``seqtasks tune sentiment`` flags."""
    return [text for name, value in {**TINY, **settings}.items()
            for text in (f"--{name.replace('_', '-')}", str(value))]


def tiny_config(data, **settings):
    """A sentiment config for `data` with `TINY` settings, 1 epoch, quiet."""
    return sentiment.Config(**{"data": data, "epochs": 1, "max_seconds": None, "verbose": 0,
                               **TINY, **settings})


def write_sentiment(folder, sizes=(("train", 160), ("valid", 48), ("test", 16))):
    """A --data folder with the first rows of each embedded sentiment split."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in sizes:
        pd.read_csv(embedded_path("sentiment", split)).head(n).to_csv(
            folder / f"{split}.csv", index=False)
    return folder


def environment(**extra):
    """This process's environment, TensorFlow's C++ logging quiet, plus `extra`."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def seqtasks_process(argv, env=None):
    """Starts ``python -m seqtasks.cli ARGV`` as a subprocess (pipes for its output)."""
    return subprocess.Popen([sys.executable, "-m", "seqtasks.cli", *argv], cwd=ROOT,
                            env=environment(**(env or {})), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
