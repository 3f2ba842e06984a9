"""Sequence, tree and graph models on the same question: each word's dependency relation
given the gold tree, on UD English LinES and EWT, in one run.

Runs `seqtasks.tasks.relations` (its defaults, `--max-seconds` from ``--budget-minutes``,
by default the task's own budget) with ``--model sequence`` and ``tree`` on each
treebank, and ``graph`` with each K of ``--steps`` and the default K (propagation steps:
a node hears words at most K arcs away), and prints one table: treebank, model, K,
validation and test accuracy, epochs, wall time, and the test trees' mean and largest
height (a bottom-up pass needs as many steps as the height; the graph model's K
synchronous steps reach as far as K arcs). Results also go to ``OUT/results.csv``.

    python benchmarks/relations.py                     # the task's 2.5 min a model
    python benchmarks/relations.py --only ud_english_lines --budget-minutes 2 --steps 1,3
"""

import argparse
import csv
import sys
import time
from pathlib import Path

DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
TREEBANKS = ("ud_english_lines", "ud_english_ewt")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT)
    parser.add_argument("--only", default=",".join(TREEBANKS),
                        help="comma-separated treebank folders")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="each model's training budget (default: the task's)")
    parser.add_argument("--steps", default="1,2,6",
                        help="the graph model's K values for the sweep (comma-separated)")
    parser.add_argument("--out", type=Path, default=Path("runs/relations_benchmark"))
    return parser.parse_args(argv)


def run(folder, out, budget_seconds, model, steps=None):
    """One relations run; its metrics with the wall time."""
    from seqtasks.tasks import relations
    from seqtasks.tasks.runner import run_task

    settings = {"data": folder, "out": out, "model": model, "verbose": 0}
    if budget_seconds is not None:
        settings["max_seconds"] = budget_seconds
    if steps is not None:
        settings["steps"] = steps
    started = time.monotonic()
    metrics = run_task(relations, relations.Config(**settings))
    return {**metrics, "wall_seconds": round(time.monotonic() - started, 1)}


def main(argv=None):
    args = parse_args(argv)
    if not args.data_root.is_dir():
        print(f"skipped: {args.data_root} is missing (the shared data folder is absent)")
        return 0
    from seqtasks.tasks.relations import Config

    budget = args.budget_minutes * 60 if args.budget_minutes else None
    sweep = sorted({Config().steps, *(int(k) for k in args.steps.split(","))})
    rows = []
    for name in args.only.split(","):
        folder = args.data_root / name
        if not folder.is_dir():
            print(f"skipped {name}: {folder} is missing")
            continue
        jobs = [("sequence", None), ("tree", None)] + [("graph", k) for k in sweep]
        for model, steps in jobs:
            label = model if steps is None else f"{model}-k{steps}"
            metrics = run(folder, args.out / name / label, budget, model, steps)
            rows.append({"treebank": name, "model": model,
                         "steps": steps or "",
                         "valid_accuracy": round(metrics["valid_accuracy"], 4),
                         "accuracy": round(metrics["accuracy"], 4),
                         "epochs": metrics["epochs"], "wall_seconds": metrics["wall_seconds"],
                         "mean_tree_height": round(metrics["mean_tree_height"], 2),
                         "max_tree_height": metrics["max_tree_height"]})
            print(" | ".join(str(value) for value in rows[-1].values()), flush=True)
    if rows:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "results.csv", "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.out / 'results.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
