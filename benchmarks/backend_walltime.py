"""Wall time of whole task runs on TensorFlow against JAX.

For each task, ``seqtasks run TASK`` runs with its defaults on the embedded data once per
backend, each in a fresh process with ``KERAS_BACKEND`` set (start-up, data, compiling,
training, evaluation and the run folder, written into a temporary folder); the script
prints each run's wall time, training time and epochs (``train_seconds`` and ``epochs``
of its metrics.json: a run with a time budget, ``--max-seconds``, may stop early) and the
ratios JAX / TensorFlow. JAX compiles its steps once per batch shape, so its
runs show what the bounded set of padded shapes (`seqtasks.data.batching.pad_batch`)
costs and saves.

    python benchmarks/backend_walltime.py
    python benchmarks/backend_walltime.py tagging sentiment --flags "--epochs 3"
    python benchmarks/backend_walltime.py relations --rounds 3

Whole runs on a 2-core machine vary by 10-20% from one to the next: with ``--rounds N``
each task runs N times on each backend, alternating, and a last row gives the medians of
the times and of the rounds' ratios.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seqtasks.tasks import TASK_NAMES

BACKENDS = ("tensorflow", "jax")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tasks", nargs="*", help=f"the tasks to run among "
                                                  f"{', '.join(TASK_NAMES)} (default: all)")
    parser.add_argument("--flags", default="",
                        help="more flags for every run (e.g. \"--epochs 3\")")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each task on each backend, alternating (default 1)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tasks) - set(TASK_NAMES))
    if unknown:
        parser.error(f"unknown tasks {', '.join(unknown)}")
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    return args


def timed_run(task, backend, flags, folder):
    """``(wall seconds, training seconds, epochs)`` of ``seqtasks run TASK`` on `backend`."""
    out = folder / f"{task}-{backend}"
    command = [sys.executable, "-m", "seqtasks", "run", task, "--out", str(out),
               "--verbose", "0", *flags]
    started = time.monotonic()
    subprocess.run(command, check=True, env={**os.environ, "KERAS_BACKEND": backend})
    wall = time.monotonic() - started
    metrics = json.loads((out / "metrics.json").read_text())
    return wall, metrics["train_seconds"], metrics["epochs"]


def main(argv=None):
    args = parse_args(argv)
    print(f"{'task':<12} {'tf wall':>8} {'tf train':>9} {'epochs':>7} {'jax wall':>9} "
          f"{'jax train':>10} {'epochs':>7} {'jax/tf wall':>12} {'jax/tf train':>13}")
    for task in args.tasks or TASK_NAMES:
        rounds = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as folder:
                rounds.append([value for backend in BACKENDS for value in
                               timed_run(task, backend, shlex.split(args.flags), Path(folder))])
            print_row(task, *rounds[-1])
        if args.rounds > 1:
            medians = np.median(rounds, axis=0)
            ratios = np.median([[jax_wall / tf_wall, jax_train / tf_train] for tf_wall, tf_train, _,
                                jax_wall, jax_train, _ in rounds], axis=0)
            print_row("  median", *medians, ratios=ratios)
    return 0


def print_row(task, tf_wall, tf_train, tf_epochs, jax_wall, jax_train, jax_epochs, ratios=None):
    """One row of the table; the ratios of these times unless `ratios` are given."""
    wall_ratio, train_ratio = ratios if ratios is not None else (jax_wall / tf_wall,
                                                                 jax_train / tf_train)
    print(f"{task:<12} {tf_wall:>8.1f} {tf_train:>9.1f} {tf_epochs:>7g} {jax_wall:>9.1f} "
          f"{jax_train:>10.1f} {jax_epochs:>7g} {wall_ratio:>12.2f} {train_ratio:>13.2f}",
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
