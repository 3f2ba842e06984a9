"""Real-data benchmark: the four recipes, with their defaults, on public data, against targets.

Runs each task (`seqtasks.tasks.runner.run_task`, in this process, one after the other) on the
real data in ``../shared/data`` (next to the repository; see its README.md) with the
recipe's default settings (the only flags: ``--data``, ``--out``, ``--max-seconds`` from
``--budget-minutes``, and for translation the languages, ``--source-lang en
--target-lang de``; plus ``--verbose``, which only changes what is printed, and
``--seed`` when given), then prints one table and writes it as ``OUT/results.csv``:

| task (--only) | data | metric (split) | target |
| --- | --- | --- | --- |
| sentiment | sst2/ | accuracy (test, 1,821 sentences) | >= 0.86 and >= baseline + 0.015 |
| tagging-ewt | ud_english_ewt/ | UPOS accuracy (test) | >= 0.950 and > feature CRF |
| tagging-lines | ud_english_lines/ | UPOS accuracy (test) | >= 0.960 and > feature CRF |
| generation | tinyshakespeare/input.txt | nats/char (last 10% = validation) | <= 1.54 |
| translation | multi30k/ en->de | BLEU, beam search (test_2016_flickr) | >= 33 |

Columns: the run's score, the target, the baseline computed in the same run
(sentiment: the recipe's tf-idf uni+bigram logistic regression; generation: the
recipe's own n-gram model; tagging: the feature CRF of ``benchmarks/feature_crf.py``,
a linear-chain CRF over word-shape features, sklearn-crfsuite, L-BFGS, c1 = c2 = 0.05,
150 iterations, trained here on the same train file and scored on the same test file;
translation: none), `oov_accuracy` (tagging: the recipe's accuracy on test words
outside its vocabulary; the CRF's accuracy on words unseen in training is in `note`),
reference rows copied from each dataset's SOURCE.md (file named in
`reference_source`), wall time of the recipe, epochs trained and `result`: ``pass``,
``below target``, ``no baseline`` (the target needs the same run's baseline and there
is none, e.g. sklearn-crfsuite is not installed; `note` says why), ``recipe failed``
(the error is in `note`; the other recipes still run) or ``skipped`` (its data is
missing).

The feature CRF needs sklearn-crfsuite, a benchmark extra (not a dependency of the
library): ``pip install -e '.[benchmark]'``.

Usage (from the repository root):

    python benchmarks/real_data.py                          # all five rows, 10 min training each
    python benchmarks/real_data.py --only sentiment,tagging # tagging: tagging-ewt and tagging-lines
    python benchmarks/real_data.py --only tagging-ewt --budget-minutes 5
    python benchmarks/real_data.py --only generation --extra "--units 512 --depth 2"
    python benchmarks/real_data.py --extra "translation:--beam-size 8" --out runs/rd2
    python benchmarks/real_data.py --smoke --budget-minutes 0.1   # tiny models: a plumbing check

``--only`` and the ``TASK:`` of ``--extra`` take a row name or a recipe name
(``tagging`` means both tagging rows). ``--extra`` flags are for experiments: the targets
are stated for the defaults.

How long it takes: ``--budget-minutes`` (default 10, the standard) is each recipe's
training budget (its ``--max-seconds``); evaluation comes on top (the tf-idf baseline,
the n-gram model, the feature CRFs, about 1.5 min for EWT and 0.5 min for LinES on one
core, greedy + beam decoding of 1,000 test sentences: up to a few minutes per recipe on
a CPU). With the defaults, expect about an hour for all five on a CPU (an estimate:
10 minutes of training x 5 runs, plus evaluation); early stopping can end a recipe
sooner. ``--smoke`` with a tiny budget shrinks the models (and trains the CRFs for 5
iterations): about 15-70 s per row, 2-3 minutes for all five on a CPU (the scores are
then meaningless).

Each recipe writes its usual run folder to ``OUT/NAME`` (default OUT: runs/real_data).
When the data folder (``--data-root``) is missing the script prints a message and exits
0; a task whose own data is missing is reported as skipped. Exit status: 0, or 1 when a
recipe raised an error or a row has no baseline.
"""

import argparse
import importlib.util
import shlex
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
SMOKE_PEER_ITERATIONS = 5


def _sibling(name):
    """The module ``benchmarks/NAME.py`` (the benchmarks folder is no package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


feature_crf = _sibling("feature_crf")


@dataclass
class Task:
    name: str  # the row; --only, --extra and OUT/NAME use it
    recipe: str  # the seqtasks task
    data: str  # relative to the data root: a folder, or a file for generation
    dataset: str
    metric: str  # key in metrics.json
    metric_label: str
    target: str
    smoke: list
    references: list  # (system, score) rows copied from `source`
    source: str  # SOURCE.md the references come from, relative to the data root
    flags: list = field(default_factory=list)  # which data to use, not settings
    baseline: str = None  # key in metrics.json
    baseline_system: str = ""
    peer: bool = False  # the baseline is the feature CRF, trained here on the same files
    lower_is_better: bool = False
    threshold: float = 0.0
    beat_baseline: float = None  # the score must be >= baseline + this (0: > baseline)
    needs: list = field(default_factory=list)  # files that must exist under `data`

    def passes(self, score, baseline):
        ok = score <= self.threshold if self.lower_is_better else score >= self.threshold
        if self.beat_baseline is None:
            return ok
        if self.beat_baseline == 0:
            return ok and score > baseline
        return ok and round(score - baseline, 9) >= self.beat_baseline


PEER = "feature CRF (sklearn-crfsuite, same run)"
TAGGING_SMOKE = ["--units", "8", "--embedding-dim", "8", "--char-filters", "8",
                 "--epochs", "1", "--batch-size", "64"]


def tagging_task(name, data, treebank, dataset, threshold, references):
    """A UD tagging row: UPOS test accuracy against a threshold and the feature CRF;
    the folder `data` holds ``<treebank>-ud-<split>.conllu``."""
    return Task(name=name, recipe="tagging", data=data, dataset=dataset, metric="accuracy",
                metric_label="UPOS accuracy (test)",
                target=f">= {threshold:.3f} and > feature CRF", threshold=threshold,
                beat_baseline=0.0, baseline_system=PEER, peer=True, smoke=TAGGING_SMOKE,
                references=references, source=f"{data}/SOURCE.md",
                needs=[f"{treebank}-ud-{split}.conllu" for split in ("train", "dev", "test")])


TASKS = {
    "sentiment": Task(
        name="sentiment", recipe="sentiment", data="sst2", dataset="SST-2 (binary, sentences)",
        metric="accuracy", metric_label="accuracy (test)",
        target=">= 0.86 and >= tf-idf baseline + 0.015", threshold=0.86, beat_baseline=0.015,
        baseline="baseline_accuracy", baseline_system="tf-idf uni+bigram LR (same run)",
        smoke=["--units", "8", "--embedding-dim", "8", "--epochs", "1",
               "--batch-size", "256"],
        references=[("binarised multinomial NB", 0.823),
                    ("tf-idf uni+bigram LR, C=4", 0.833),
                    ("2-layer LSTM, GloVe (Tai et al. 2015)", 0.863),
                    ("BiLSTM+ELMo+Attn (GLUE baseline)", 0.904)],
        source="sst2/SOURCE.md", needs=["train.tsv", "dev.tsv", "test.tsv"],
    ),
    "tagging-ewt": tagging_task(
        "tagging-ewt", "ud_english_ewt", "en_ewt", "UD English EWT (UPOS)", 0.95,
        [("most-frequent-tag per word (OOV -> NOUN)", 0.8620),
         ("bi-LSTM word+char 'bilty' (Plank et al. 2016), UD 1.3", 0.9443),
         ("same + Polyglot embeddings, UD 1.3", 0.9500),
         ("UDPipe 2, UD 2.15 model, gold tokenisation", 0.9750),
         ("UDPipe 2, UD 2.17 model, gold tokenisation", 0.9761)]),
    "tagging-lines": tagging_task(
        "tagging-lines", "ud_english_lines", "en_lines", "UD English LinES (UPOS)", 0.96,
        [("most-frequent-tag per word (OOV -> NOUN)", 0.8806),
         ("UDPipe 2, UD 2.15 model, gold tokenisation", 0.9772)]),
    "generation": Task(
        name="generation", recipe="generation", data="tinyshakespeare/input.txt",
        dataset="Tiny Shakespeare (char)",
        metric="cross_entropy", metric_label="cross-entropy nats/char (valid)",
        target="<= 1.54", threshold=1.54, lower_is_better=True,
        baseline="baseline_cross_entropy", baseline_system="5-gram add-k (same run)",
        smoke=["--units", "16", "--embedding-dim", "8", "--epochs", "1", "--seq-len", "32",
               "--batch-size", "32", "--max-chars", "100000", "--sample-length", "20",
               "--temperatures", "1.0", "--baseline-order", "3"],
        references=[("5-gram Witten-Bell (best n-gram order)", 1.669),
                    ("nanoGPT small CPU config", 1.88),
                    ("nanoGPT baby GPT (6x384, A100 ~3 min)", 1.4697)],
        source="tinyshakespeare/SOURCE.md",
    ),
    "translation": Task(
        name="translation", recipe="translation", data="multi30k",
        dataset="Multi30k en->de (test_2016_flickr)",
        metric="bleu", metric_label="BLEU, beam (test, sacreBLEU cased)",
        target=">= 33", threshold=33.0, flags=["--source-lang", "en", "--target-lang", "de"],
        smoke=["--units", "8", "--embedding-dim", "8", "--epochs", "1", "--min-freq", "20",
               "--tokens", "word", "--max-length", "12", "--beam-size", "2"],  # short outputs
        references=[("GRU enc-dec, no attention, de->en (bentrevett nb 2)", 20.6),
                    ("BiGRU + Bahdanau attention, de->en (bentrevett nb 3)", 28.3),
                    ("attentive GRU, en->de, BPE, lc-tok (nmtpy)", 37.33)],
        source="multi30k/SOURCE.md",
        needs=["train.en", "train.de", "val.en", "val.de", "test_2016_flickr.en",
               "test_2016_flickr.de"],
    ),
}
RECIPES = sorted({task.recipe for task in TASKS.values()} - set(TASKS))  # names of several rows


def named(name):
    """The rows `name` selects: itself, or every row of the recipe `name`."""
    return [task for task in TASKS if name in (task, TASKS[task].recipe)]


COLUMNS = ["task", "dataset", "metric", "score", "target", "baseline", "baseline_system",
           "oov_accuracy", "result", "wall_seconds", "epochs", "reference", "reference_source",
           "note"]
NUMBERS = ["score", "baseline", "oov_accuracy", "wall_seconds", "epochs"]


def parse_args(argv=None):
    choices = ", ".join([*TASKS, *RECIPES])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(TASKS),
                        help=f"comma-separated rows or recipes out of {choices} "
                             "(default: all rows)")
    parser.add_argument("--budget-minutes", type=float, default=10.0,
                        help="training budget of each recipe, passed as --max-seconds "
                             "(evaluation comes on top); default 10, the standard")
    parser.add_argument("--out", type=Path, default=Path("runs") / "real_data",
                        help="results.csv goes here, each recipe's run into OUT/NAME")
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT,
                        help=f"the shared data folder (default: {DATA_ROOT})")
    parser.add_argument("--seed", type=int, default=None,
                        help="passed on to the recipes as --seed (default: their own)")
    parser.add_argument("--smoke", action="store_true",
                        help="shrink every model to a few units and one epoch, and train the "
                             f"feature CRFs for {SMOKE_PEER_ITERATIONS} iterations (checks the "
                             "plumbing; scores are meaningless)")
    parser.add_argument("--extra", action="append", default=[], metavar="[TASK:]FLAGS",
                        help="recipe flags added last (so they win), e.g. \"--units 512\" for "
                             "every task, \"generation:--depth 2\" for one, \"tagging:...\" "
                             "for both tagging rows; repeatable (the targets are for the "
                             "defaults)")
    parser.add_argument("--verbose", action="store_true",
                        help="let the recipes print their training progress (one line per epoch)")
    args = parser.parse_args(argv)
    requested = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in requested if not named(name)]
    if unknown or not requested:
        parser.error(f"--only: unknown task(s) {', '.join(unknown) or '(none given)'}; "
                     f"choose from {choices}")
    args.only = list(dict.fromkeys(task for name in requested for task in named(name)))
    if not args.budget_minutes > 0:
        parser.error("--budget-minutes must be positive")
    args.extra_flags = {name: [] for name in TASKS}
    for value in args.extra:
        head, sep, rest = value.partition(":")
        names = named(head.strip()) if sep else []
        flags = rest if names else value
        try:
            split = shlex.split(flags)
        except ValueError as error:
            parser.error(f"--extra {value!r}: {error}")
        for name in names or TASKS:
            args.extra_flags[name] += split
    return args


def missing_data(task, root):
    """Why `task` cannot run on the data under `root`, or None when it can."""
    path = root / task.data
    if task.recipe == "generation":
        return None if path.is_file() else f"file {path} not found"
    if not path.is_dir():
        return f"folder {path} not found"
    absent = [name for name in task.needs if not (path / name).is_file()]
    return f"{', '.join(absent)} missing in {path}" if absent else None


def recipe_argv(task, args):
    """The recipe's flags: the data, the run folder and the budget (its defaults for the
    rest), then the smoke settings and the user's --extra flags."""
    argv = ["--data", str(args.data_root / task.data), *task.flags,
            "--out", str(args.out / task.name),
            "--max-seconds", f"{args.budget_minutes * 60:g}",
            "--verbose", "2" if args.verbose else "0"]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
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
    module = get_task(task.recipe)
    try:
        return run_task(module, parse_config(module, argv)), None
    except SystemExit as exit_:  # argparse rejected a flag (message already on stderr)
        return None, f"bad flags (exit {exit_.code}): {shlex.join(argv)}"
    except Exception as error:  # noqa: BLE001 - report it, then run the other tasks
        traceback.print_exc()
        return None, f"{type(error).__name__}: {error}"


def references_text(task):
    return "; ".join(f"{system} {score:g}" for system, score in task.references)


def run_peer(task, args):
    """The feature CRF trained on the task's train file and scored on its test file:
    ``(its train_and_score dict, None)`` or ``(None, why there is none)``."""
    iterations = SMOKE_PEER_ITERATIONS if args.smoke else feature_crf.ITERATIONS
    print(f"[{task.name}] feature CRF ({iterations} iterations) on {task.data}", flush=True)
    try:
        splits = feature_crf.read_folder(args.data_root / task.data)
        return feature_crf.train_and_score(splits["train"], splits["test"],
                                           iterations=iterations), None
    except ImportError as error:
        return None, f"no feature CRF: {error}"
    except Exception as error:  # noqa: BLE001 - report it, then run the recipe
        traceback.print_exc()
        return None, f"feature CRF failed: {type(error).__name__}: {error}"


def _share(value, digits=4):
    return "-" if value is None else f"{value:.{digits}f}"


def peer_note(peer):
    return (f"feature CRF: accuracy on words unseen in training {_share(peer['oov_accuracy'])} "
            f"({peer['oov_rate']:.1%} of test tokens), trained in {peer['seconds']:.0f} s")


def row_for(task, args):
    row = {"task": task.name, "dataset": task.dataset, "metric": task.metric_label,
           "score": None, "target": task.target, "baseline": None,
           "baseline_system": task.baseline_system, "oov_accuracy": None, "result": "",
           "wall_seconds": None, "epochs": None, "reference": references_text(task),
           "reference_source": str(args.data_root / task.source), "note": ""}
    reason = missing_data(task, args.data_root)
    if reason:
        print(f"[{task.name}] skipped: {reason}")
        return {**row, "result": "skipped", "note": reason}
    notes, baseline = [], None
    if task.peer:
        peer, why_not = run_peer(task, args)
        if peer:
            baseline = peer["accuracy"]
            notes.append(peer_note(peer))
            print(f"[{task.name}] feature CRF accuracy {baseline:.4f} in "
                  f"{peer['seconds']:.0f} s", flush=True)
        else:
            notes.append(why_not)
            print(f"[{task.name}] {why_not}", flush=True)
    argv = recipe_argv(task, args)
    print(f"[{task.name}] seqtasks run {task.recipe} {shlex.join(argv)}", flush=True)
    started = time.monotonic()
    metrics, error = run_recipe(task, argv)
    row["wall_seconds"] = round(time.monotonic() - started, 1)
    if error:
        print(f"[{task.name}] FAILED: {error}", flush=True)
        return {**row, "baseline": baseline, "result": "recipe failed",
                "note": "; ".join([error, *notes])}
    score = metrics.get(task.metric)
    if task.baseline:
        baseline = metrics.get(task.baseline)
    row.update(score=score, baseline=baseline, oov_accuracy=metrics.get("oov_accuracy"),
               epochs=metrics.get("epochs", metrics.get("epochs_trained")))
    if task.recipe == "generation" and metrics.get("baseline"):
        row["baseline_system"] = f"{metrics['baseline']} (same run)"
    if task.recipe == "translation" and "greedy" in metrics:
        notes.insert(0, f"greedy BLEU {metrics['greedy']['bleu']:.2f}; "
                        f"exact match {metrics.get('exact_match', 0):.3f}")
    if "oov_rate" in metrics:
        notes.insert(0, f"recipe: accuracy on test words outside its vocabulary "
                        f"{_share(metrics.get('oov_accuracy'))} ({metrics['oov_rate']:.1%} "
                        "of test tokens)")
    if score is None:
        row["result"] = "recipe failed"
        notes.insert(0, f"metrics.json has no {task.metric!r}")
    elif task.beat_baseline is not None and baseline is None:
        row["result"] = "no baseline"
    else:
        row["result"] = "pass" if task.passes(score, baseline) else "below target"
    row["note"] = "; ".join(notes)
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

    if any(task.peer for task in tasks):
        try:
            feature_crf.crfsuite()
        except ImportError as error:
            print(f"warning: {error}; without it the tagging rows have no baseline, so they "
                  "cannot pass", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"real-data benchmark: {', '.join(args.only)}; training budget "
          f"{args.budget_minutes:g} min each{' (smoke settings)' if args.smoke else ''}; "
          f"data {args.data_root}; runs in {args.out}", flush=True)
    rows = [row_for(task, args) for task in tasks]
    table = pd.DataFrame(rows, columns=COLUMNS)
    for column in NUMBERS:
        table[column] = pd.to_numeric(table[column])
    table.to_csv(args.out / "results.csv", index=False)

    shown = table[["task", "metric", "score", "target", "baseline", "oov_accuracy", "result",
                   "wall_seconds", "epochs"]].rename(columns={"oov_accuracy": "oov"})
    print("\n" + shown.to_string(index=False, na_rep="", formatters={
        "score": _number(4), "baseline": _number(4), "oov": _number(4),
        "wall_seconds": _number(1), "epochs": _number(0)}))
    baselines = [f"{row['task']}: {row['baseline_system']}" for row in rows
                 if row["baseline_system"]]
    if baselines:
        print("\nbaselines (same run): " + "; ".join(baselines))
    print("\nreference scores (copied from each dataset's SOURCE.md):")
    for task in tasks:
        print(f"  {task.name} ({args.data_root / task.source}): {references_text(task)}")
    for row in rows:
        if row["note"]:
            print(f"  note, {row['task']}: {row['note']}")
    print(f"\nwritten: {args.out / 'results.csv'}")
    return 1 if any(row["result"] in ("recipe failed", "no baseline") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
