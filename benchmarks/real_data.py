"""Real-data benchmark: the four recipes on public datasets, scored against stated targets.

Runs each task (`seqtasks.tasks.runner.run_task`, in this process, one after the other) on the
real data in ``../shared/data`` (next to the repository; see its README.md), with the
settings the recipe authors found promising, then prints one table and writes it as
``OUT/results.csv``:

| task | data | metric (split) | target |
| --- | --- | --- | --- |
| sentiment | sst2/ | accuracy (test, 1,821 sentences) | >= 0.85 and above the tf-idf LR baseline of the same run |
| tagging | ud_english_lines/ | UPOS accuracy (test) | >= 0.93 (most-frequent-tag baseline 0.8806) |
| generation | tinyshakespeare/input.txt | cross-entropy, nats/char (last 10% = validation) | <= 1.6 |
| translation | multi30k/ en->de | BLEU, beam search (test_2016_flickr) | >= 20 |

Columns: the run's score, the target, the baseline the recipe computes in the same run
(sentiment: tf-idf uni+bigram logistic regression; generation: its own 5-gram add-k
model; tagging and translation report none), reference rows copied from each
dataset's SOURCE.md (file named in `reference_source`), wall time, epochs trained and
`result`: ``pass``, ``below target``, ``recipe failed`` (the error is in `note`; the
other recipes still run) or ``skipped`` (its data is missing).

Usage (from the repository root):

    python benchmarks/real_data.py                          # all four, 15 min training each
    python benchmarks/real_data.py --only sentiment,tagging --budget-minutes 5
    python benchmarks/real_data.py --only generation --extra "--units 512 --depth 2"
    python benchmarks/real_data.py --extra "translation:--beam-size 8" --out runs/rd2
    python benchmarks/real_data.py --smoke --budget-minutes 0.1   # tiny models: a plumbing check

How long it takes: ``--budget-minutes`` (default 15) is each recipe's training budget
(its ``--max-seconds``); evaluation comes on top (the tf-idf baseline, the 5-gram
model, greedy + beam decoding of 1,000 test sentences: up to a few minutes per recipe
on a CPU). With the defaults, expect a little over an hour for all four on a CPU
(an estimate: 4 x 15 minutes of training plus evaluation); early stopping can end a
recipe sooner. ``--smoke`` with a tiny budget takes 5-25 s per recipe (the scores are
then meaningless).

Each recipe writes its usual run folder to ``OUT/NAME`` (default OUT: runs/real_data).
When the data folder (``--data-root``) is missing the script prints a message and exits
0; a task whose own data is missing is reported as skipped. Exit status: 0, or 1 when a
recipe raised an error.
"""

import argparse
import shlex
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class Task:
    name: str
    data: str  # relative to the data root: a folder, or a file for generation
    dataset: str
    metric: str  # key in metrics.json
    metric_label: str
    target: str
    defaults: list
    smoke: list
    references: list  # (system, score) rows copied from `source`
    source: str  # SOURCE.md the references come from, relative to the data root
    baseline: str = None  # key in metrics.json
    baseline_system: str = ""
    lower_is_better: bool = False
    threshold: float = 0.0
    beat_baseline: bool = False
    needs: list = field(default_factory=list)  # files that must exist under `data`

    def passes(self, score, baseline):
        ok = score <= self.threshold if self.lower_is_better else score >= self.threshold
        if self.beat_baseline:
            ok = ok and baseline is not None and score > baseline
        return ok


TASKS = {
    "sentiment": Task(
        name="sentiment", data="sst2", dataset="SST-2 (binary, sentences)",
        metric="accuracy", metric_label="accuracy (test)",
        target=">= 0.85 and > tf-idf baseline", threshold=0.85, beat_baseline=True,
        baseline="baseline_accuracy", baseline_system="tf-idf uni+bigram LR (same run)",
        defaults=["--cell", "gru", "--bidirectional", "--pooling", "max", "--embedding-dim", "300",
                  "--units", "150", "--dropout", "0.5", "--ema", "0.999", "--batch-size", "64",
                  "--min-freq", "2", "--epochs", "30"],
        smoke=["--units", "8", "--embedding-dim", "8", "--epochs", "1",
               "--batch-size", "256"],
        references=[("binarised multinomial NB", 0.823),
                    ("tf-idf uni+bigram LR, C=4", 0.833),
                    ("2-layer LSTM, GloVe (Tai et al. 2015)", 0.863),
                    ("BiLSTM+ELMo+Attn (GLUE baseline)", 0.904)],
        source="sst2/SOURCE.md", needs=["train.tsv", "dev.tsv", "test.tsv"],
    ),
    "tagging": Task(
        name="tagging", data="ud_english_lines", dataset="UD English LinES (UPOS)",
        metric="accuracy", metric_label="UPOS accuracy (test)",
        target=">= 0.93", threshold=0.93,
        defaults=["--epochs", "30", "--patience", "5"],
        smoke=["--units", "8", "--embedding-dim", "8", "--char-filters", "8",
               "--epochs", "1", "--batch-size", "64"],
        references=[("most-frequent-tag per word (OOV -> NOUN)", 0.8806),
                    ("UDPipe 2, UD 2.15 model, gold tokenisation", 0.9772)],
        source="ud_english_lines/SOURCE.md",
        needs=["en_lines-ud-train.conllu", "en_lines-ud-dev.conllu",
               "en_lines-ud-test.conllu"],
    ),
    "generation": Task(
        name="generation", data="tinyshakespeare/input.txt", dataset="Tiny Shakespeare (char)",
        metric="cross_entropy", metric_label="cross-entropy nats/char (valid)",
        target="<= 1.6", threshold=1.6, lower_is_better=True,
        baseline="baseline_cross_entropy", baseline_system="5-gram add-k (same run)",
        defaults=["--epochs", "100"],
        smoke=["--units", "16", "--embedding-dim", "8", "--epochs", "1", "--seq-len", "32",
               "--batch-size", "32", "--max-chars", "100000", "--sample-length", "20",
               "--temperatures", "1.0", "--baseline-order", "3"],
        references=[("5-gram Witten-Bell (best n-gram order)", 1.669),
                    ("nanoGPT small CPU config", 1.88),
                    ("nanoGPT baby GPT (6x384, A100 ~3 min)", 1.4697)],
        source="tinyshakespeare/SOURCE.md",
    ),
    "translation": Task(
        name="translation", data="multi30k", dataset="Multi30k en->de (test_2016_flickr)",
        metric="bleu", metric_label="BLEU, beam (test, sacreBLEU cased)",
        target=">= 20", threshold=20.0,
        defaults=["--tokens", "word", "--source-lang", "en", "--target-lang", "de",
                  "--cell", "gru", "--units", "256", "--embedding-dim", "128",
                  "--batch-size", "128", "--min-freq", "3", "--dropout", "0.1",
                  "--learning-rate", "3e-3", "--epochs", "100"],
        smoke=["--units", "8", "--embedding-dim", "8", "--epochs", "1", "--min-freq", "20",
               "--max-length", "12", "--beam-size", "2"],
        references=[("GRU enc-dec, no attention, de->en (bentrevett nb 2)", 20.6),
                    ("BiGRU + Bahdanau attention, de->en (bentrevett nb 3)", 28.3),
                    ("attentive GRU, en->de, BPE, lc-tok (nmtpy)", 37.33)],
        source="multi30k/SOURCE.md",
        needs=["train.en", "train.de", "val.en", "val.de", "test_2016_flickr.en",
               "test_2016_flickr.de"],
    ),
}

COLUMNS = ["task", "dataset", "metric", "score", "target", "baseline", "baseline_system",
           "result", "wall_seconds", "epochs", "reference", "reference_source", "note"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(TASKS),
                        help=f"comma-separated subset of {','.join(TASKS)} (default: all)")
    parser.add_argument("--budget-minutes", type=float, default=15.0,
                        help="training budget of each recipe, passed as --max-seconds "
                             "(evaluation comes on top); default 15")
    parser.add_argument("--out", type=Path, default=Path("runs") / "real_data",
                        help="results.csv goes here, each recipe's run into OUT/NAME")
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT,
                        help=f"the shared data folder (default: {DATA_ROOT})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="shrink every model to a few units and one epoch (checks the "
                             "plumbing; scores are meaningless)")
    parser.add_argument("--extra", action="append", default=[], metavar="[TASK:]FLAGS",
                        help="recipe flags added last (so they win), e.g. \"--units 512\" for "
                             "every task or \"generation:--depth 2\" for one; repeatable")
    parser.add_argument("--verbose", action="store_true",
                        help="let the recipes print their training progress (one line per epoch)")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in TASKS]
    if unknown or not args.only:
        parser.error(f"--only: unknown task(s) {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(TASKS)}")
    if not args.budget_minutes > 0:
        parser.error("--budget-minutes must be positive")
    args.extra_flags = {name: [] for name in TASKS}
    for value in args.extra:
        head, sep, rest = value.partition(":")
        names = [head.strip()] if sep and head.strip() in TASKS else list(TASKS)
        flags = rest if sep and head.strip() in TASKS else value
        try:
            split = shlex.split(flags)
        except ValueError as error:
            parser.error(f"--extra {value!r}: {error}")
        for name in names:
            args.extra_flags[name] += split
    return args


def missing_data(task, root):
    """Why `task` cannot run on the data under `root`, or None when it can."""
    path = root / task.data
    if task.name == "generation":
        return None if path.is_file() else f"file {path} not found"
    if not path.is_dir():
        return f"folder {path} not found"
    absent = [name for name in task.needs if not (path / name).is_file()]
    return f"{', '.join(absent)} missing in {path}" if absent else None


def recipe_argv(task, args):
    verbose = "2" if args.verbose else "0"
    argv = ["--data", str(args.data_root / task.data), "--out", str(args.out / task.name),
            "--verbose", verbose, "--seed", str(args.seed), *task.defaults,
            "--max-seconds", f"{args.budget_minutes * 60:g}"]
    if args.smoke:
        argv += task.smoke
    return argv + args.extra_flags[task.name]


_RAN_BEFORE = []  # tasks already run in this process


def run_recipe(task, argv):
    """Runs the task with the flags `argv` in this process, as ``seqtasks run`` does;
    returns (metrics or None, error or None)."""
    import keras

    from seqtasks.tasks import get_task
    from seqtasks.tasks.config import parse_config
    from seqtasks.tasks.runner import run_task

    if _RAN_BEFORE:  # free the previous task's models (a full gc: seconds, so only then)
        keras.backend.clear_session()
    _RAN_BEFORE.append(task.name)
    module = get_task(task.name)
    try:
        return run_task(module, parse_config(module, argv)), None
    except SystemExit as exit_:  # argparse rejected a flag (message already on stderr)
        return None, f"bad flags (exit {exit_.code}): {shlex.join(argv)}"
    except Exception as error:  # noqa: BLE001 - report it, then run the other tasks
        traceback.print_exc()
        return None, f"{type(error).__name__}: {error}"


def references_text(task):
    return "; ".join(f"{system} {score:g}" for system, score in task.references)


def row_for(task, args):
    row = {"task": task.name, "dataset": task.dataset, "metric": task.metric_label,
           "score": None, "target": task.target, "baseline": None,
           "baseline_system": task.baseline_system, "result": "", "wall_seconds": None,
           "epochs": None, "reference": references_text(task),
           "reference_source": str(args.data_root / task.source), "note": ""}
    reason = missing_data(task, args.data_root)
    if reason:
        print(f"[{task.name}] skipped: {reason}")
        return {**row, "result": "skipped", "note": reason}
    argv = recipe_argv(task, args)
    print(f"[{task.name}] seqtasks run {task.name} {shlex.join(argv)}", flush=True)
    started = time.monotonic()
    metrics, error = run_recipe(task, argv)
    row["wall_seconds"] = round(time.monotonic() - started, 1)
    if error:
        print(f"[{task.name}] FAILED: {error}", flush=True)
        return {**row, "result": "recipe failed", "note": error}
    score = metrics.get(task.metric)
    baseline = metrics.get(task.baseline) if task.baseline else None
    row.update(score=score, baseline=baseline,
               epochs=metrics.get("epochs", metrics.get("epochs_trained")))
    if task.name == "generation" and metrics.get("baseline"):
        row["baseline_system"] = f"{metrics['baseline']} (same run)"
    if task.name == "translation" and "greedy" in metrics:
        row["note"] = (f"greedy BLEU {metrics['greedy']['bleu']:.2f}; "
                       f"exact match {metrics.get('exact_match', 0):.3f}")
    if score is None:
        row.update(result="recipe failed", note=f"metrics.json has no {task.metric!r}")
    else:
        row["result"] = "pass" if task.passes(score, baseline) else "below target"
    print(f"[{task.name}] {task.metric} {score} ({row['result']}) in {row['wall_seconds']} s",
          flush=True)
    return row


def _number(digits):
    """A table formatter: `digits` decimals, blank for a missing value."""
    return lambda x: "" if x is None or x != x else f"{x:.{digits}f}"


def main(argv=None):
    args = parse_args(argv)
    if not args.data_root.is_dir():
        print(f"real-data benchmark skipped: data folder {args.data_root} not found "
              "(it holds the public datasets, next to the repository as ../shared/data; "
              "pass --data-root to point elsewhere)")
        return 0
    tasks = [TASKS[name] for name in args.only]
    if all(missing_data(task, args.data_root) for task in tasks):
        for task in tasks:
            print(f"[{task.name}] skipped: {missing_data(task, args.data_root)}")
        print("real-data benchmark skipped: no selected task has its data")
        return 0

    import pandas as pd

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"real-data benchmark: {', '.join(args.only)}; training budget "
          f"{args.budget_minutes:g} min each{' (smoke settings)' if args.smoke else ''}; "
          f"data {args.data_root}; runs in {args.out}", flush=True)
    rows = [row_for(task, args) for task in tasks]
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.to_csv(args.out / "results.csv", index=False)

    shown = table[["task", "metric", "score", "target", "baseline", "result", "wall_seconds",
                   "epochs"]]
    print("\n" + shown.to_string(index=False, na_rep="", formatters={
        "score": _number(4), "baseline": _number(4), "wall_seconds": _number(1),
        "epochs": _number(0)}))
    print("\nreference scores (copied from each dataset's SOURCE.md):")
    for task in tasks:
        print(f"  {task.name} ({args.data_root / task.source}): {references_text(task)}")
    for row in rows:
        if row["note"]:
            print(f"  note, {row['task']}: {row['note']}")
    print(f"\nwritten: {args.out / 'results.csv'}")
    return 1 if any(row["result"] == "recipe failed" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
