"""The results of a search as a table: one row per trial, best first.

The table is read from keras-tuner's project folder (each ``trial_ID/trial.json``:
hyperparameters, metrics, score, status) and seqtasks' ``trial_ID/run.json`` (seconds and
epochs), so any process that shares the folder (a resumed search, a distributed worker)
writes the same table. Columns: ``trial``, ``status`` (COMPLETED, FAILED or RUNNING),
``objective`` (the trial's score), one column per hyperparameter, ``epochs``,
``seconds``, the trial's metrics (``val_loss``, ...) and ``error`` (why a trial failed).

>>> frame = read_trials("runs/tune-sentiment/keras_tuner", "val_accuracy", "max")  # doctest: +SKIP
>>> frame[["trial", "objective", "units", "depth"]].head(3)  # doctest: +SKIP
"""

import json
from pathlib import Path

import pandas as pd
from keras_tuner.engine.trial import Trial, TrialStatus

from seqtasks.plots import plot_search
from seqtasks.runs import write_atomically

RUN_RECORD = "run.json"
ORDER = {TrialStatus.COMPLETED: 0, TrialStatus.FAILED: 1}  # others (RUNNING, ...) last


def _last_line(message):
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _run_record(folder):
    try:
        return json.loads((folder / RUN_RECORD).read_text())
    except (OSError, ValueError):  # not written yet, or cut short by a kill
        return {}


def _row(path):
    """One trial's row and the names of its hyperparameters; None while its file is being
    written (keras-tuner does not write it atomically; another process may be at it)."""
    try:
        trial = Trial.load(str(path))
    except (OSError, ValueError):
        return None, []
    record = _run_record(path.parent)
    values = trial.hyperparameters.values
    row = {"trial": trial.trial_id, "status": trial.status,
           "objective": trial.score if trial.status == TrialStatus.COMPLETED else None,
           **values, "epochs": record.get("epochs"), "seconds": record.get("seconds")}
    for name in trial.metrics.metrics:
        row.setdefault(name, trial.metrics.get_last_value(name))
    row["error"] = _last_line(trial.message) if trial.status != TrialStatus.COMPLETED else ""
    return row, list(values)


def read_trials(project_dir, objective, direction, order=()):
    """The trials in keras-tuner's `project_dir` as a DataFrame, best first.

    Completed trials come first, sorted by `objective` ("max" or "min" `direction`), then
    failed trials, then unfinished ones, each in trial order. Hyperparameter columns follow
    `order` (names), then the rest. ``frame.attrs`` holds `objective`, `direction` and the
    list of `hyperparameters` (column names).
    """
    rows, names = [], {name: None for name in order}
    for path in sorted(Path(project_dir).glob("trial_*/trial.json")):
        row, hyperparameters = _row(path)
        if row is not None:
            rows.append(row)
            names.update(dict.fromkeys(hyperparameters))
    names = [name for name in names if any(name in row for row in rows)]
    frame = pd.DataFrame(rows, columns=list(dict.fromkeys(
        ["trial", "status", "objective", *names, "epochs", "seconds",
         *(name for row in rows for name in row), "error"])))
    if len(frame):
        group = frame["status"].map(ORDER).fillna(len(ORDER))
        score = frame["objective"].astype(float)
        frame = frame.assign(_group=group, _score=-score if direction == "max" else score)
        frame = frame.sort_values(["_group", "_score", "trial"], kind="stable")
        frame = frame.drop(columns=["_group", "_score"]).reset_index(drop=True)
    frame.attrs.update(objective=objective, direction=direction, hyperparameters=list(names))
    return frame


def write_csv_atomically(frame, path):
    """Writes `frame` to `path` through a temporary file renamed into place."""
    write_atomically(path, lambda f: frame.to_csv(f, index=False))


def write_trials(project_dir, path, objective, direction, order=()):
    """Reads the trials (`read_trials`), writes them to `path` atomically, returns them."""
    frame = read_trials(project_dir, objective, direction, order)
    write_csv_atomically(frame, path)
    return frame


def plot_trials(frame, path):
    """The objective of the completed trials against hidden size and depth (`plot_search`)."""
    done = frame[frame["status"] == TrialStatus.COMPLETED]
    plot_search(done, frame.attrs.get("objective", "objective"), path)


def summary(frame, out, task_name, tuner, seconds=None):
    """A few lines for the end of a search: counts, the best trial, where the outputs are."""
    objective = frame.attrs.get("objective", "objective")
    counts = frame["status"].value_counts()
    lines = [f"{tuner} search of {task_name}: {len(frame)} trials "
             f"({counts.get(TrialStatus.COMPLETED, 0)} completed, "
             f"{counts.get(TrialStatus.FAILED, 0)} failed)"
             + (f" in {seconds:.1f} s" if seconds is not None else "")
             + f"; objective {objective} ({frame.attrs.get('direction', '?')})"]
    done = frame[frame["status"] == TrialStatus.COMPLETED]
    if len(done):
        best = done.iloc[0]
        searched = [name for name in frame.attrs.get("hyperparameters", [])
                    if not name.startswith("tuner/")]
        values = " ".join(f"{name}={best[name]}" for name in searched if pd.notna(best[name]))
        lines.append(f"best trial {best['trial']}: {objective} {best['objective']:.4f} with "
                     f"{values}")
        shown = ["trial", "objective", *searched, "epochs", "seconds"]
        lines.append(done[shown].head(5).to_string(index=False))
    lines.append(f"table {Path(out) / 'trials.csv'}, plot {Path(out) / 'trials.png'}, "
                 f"best run {Path(out) / 'best'}")
    return "\n".join(lines)

