"""Shared by the tuning tests: a small sentiment dataset and tiny training settings."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from seqtasks.data.embedded import embedded_path

# Recipe flags that make a sentiment trial cheap (a few seconds, mostly graph tracing).
TINY = ["--embedding-dim", "4", "--min-freq", "1", "--batch-size", "32"]
ROOT = Path(__file__).resolve().parents[1]


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
