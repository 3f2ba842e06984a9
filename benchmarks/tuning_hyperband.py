"""Wall time of a 20-trial Hyperband search on the embedded sentiment data.

    python benchmarks/tuning_hyperband.py              # 20 trials, max_epochs 9 (long on 2 cores)
    python benchmarks/tuning_hyperband.py --quick      # 4 trials, max_epochs 3, 600 sentences

It runs `seqtasks.tuning.search(tuner="hyperband")` over the task's default space (cell,
units, depth, bidirectional, dropout, learning rate) in a temporary folder and prints the
wall time, the number of trials and epochs, and the best validation accuracy. With
max_epochs 9 and factor 3, Hyperband's first brackets hold 13 and 7 trials: the 20 trials
train 48 epochs in all (most of them 1 or 3 epochs long).
"""

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from seqtasks.data.embedded import embedded_path
from seqtasks.tasks import sentiment
from seqtasks.tuning import search


def subset(folder, train_rows):
    """The embedded sentiment splits, the training split cut to its first `train_rows`."""
    folder.mkdir()
    for split in ("train", "valid", "test"):
        frame = pd.read_csv(embedded_path("sentiment", split))
        frame.head(train_rows if split == "train" else len(frame) // 4).to_csv(
            folder / f"{split}.csv", index=False)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=9, help="Hyperband's max_epochs")
    parser.add_argument("--train-rows", type=int, default=None,
                        help="use only the first N training sentences (default: all 6000)")
    parser.add_argument("--quick", action="store_true",
                        help="a short check: 4 trials, max_epochs 3, 600 sentences")
    parser.add_argument("--out", type=Path, default=None,
                        help="keep the search folder here (default: a temporary one)")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.max_trials, args.epochs, args.train_rows = 4, 3, args.train_rows or 600

    scratch = Path(tempfile.mkdtemp(prefix="seqtasks-hyperband-"))
    try:
        data = subset(scratch / "data", args.train_rows) if args.train_rows else None
        started = time.perf_counter()
        config = sentiment.Config(data=data, epochs=args.epochs, max_seconds=None,
                                  verbose=args.verbose)
        trials = search("sentiment", config, tuner="hyperband", max_trials=args.max_trials,
                        out=args.out or scratch / "search", overwrite=True)
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    done = trials[trials["status"] == "COMPLETED"]
    print(f"Hyperband, sentiment ({args.train_rows or 'all'} training sentences), "
          f"{os.cpu_count()} CPU cores: {len(trials)} trials ({len(done)} completed), "
          f"{int(trials['epochs'].sum())} epochs, max_epochs {args.epochs}")
    print(f"wall time {wall:.1f} s (trials {trials['seconds'].sum():.1f} s, "
          f"{trials['seconds'].mean():.1f} s per trial); best val_accuracy "
          f"{done['objective'].max():.4f}")


if __name__ == "__main__":
    main()
