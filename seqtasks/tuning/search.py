"""A hyperparameter search of any task, from the command line or a notebook.

>>> from seqtasks.tasks import sentiment
>>> config = sentiment.Config(epochs=2, max_seconds=None)
>>> frame = search("sentiment", config, space={"units": [16, 32], "depth": 1}, max_trials=4,
...                out="runs/tune-sentiment")  # doctest: +SKIP
>>> frame[["trial", "status", "objective", "units", "cell"]].head()  # doctest: +SKIP
>>> seqtasks.load("runs/tune-sentiment/best").predict(["a superb film"])  # doctest: +SKIP

The search folder `out` holds:

- ``search.json``: the settings; a search is resumed only with the same ones,
- ``keras_tuner/``: keras-tuner's project (oracle state, one folder per trial),
- ``trials.csv``: one row per trial, best first, rewritten after every trial,
- ``trials.png``: the objective against hidden size and depth,
- ``best/``: the best trial as a full run folder (`seqtasks.runs`; ``seqtasks.load``
  reads it back) with its ``history.csv`` and ``hyperparameters.json``: the model of
  its best epoch, or trained again from scratch with ``retrain=True``.

Starting `search` again with the same `out` continues a search that was killed: trials
that had finished are kept (keras-tuner reloads its oracle), an interrupted trial runs
again from its last finished epoch.
"""

import contextlib
import json
import shutil
import time
import warnings
from pathlib import Path

import keras
import pandas as pd

from seqtasks.compile_cache import compile_less
from seqtasks.distribute import (check_backend, distributed, distribution_scope,
                                 make_strategy)
from seqtasks.errors import ConfigError, SeqtasksError
from seqtasks.runs import HISTORY, RunFolder, json_text, save_run, write_json
from seqtasks.tasks import get_task
from seqtasks.tasks.runner import finish
from seqtasks.tuning.hypermodels import TaskHyperModel, check_objective
from seqtasks.tuning.results import plot_trials, summary
from seqtasks.tuning.space import load_file, task_space
from seqtasks.tuning.tuners import make_tuner, role, tuner_class
from seqtasks.validation import positive_int

SETTINGS = "search.json"
IGNORED_SETTINGS = ("out", "verbose", "resume", "distribute")  # may change on resume


class SearchStopped(SeqtasksError):
    """keras-tuner stopped the search (too many trials failed in a row)."""


def search(task_name, config=None, space=None, tuner="random", max_trials=10,
           executions_per_trial=1, objective=None, out=None, overwrite=False, retrain=False,
           max_consecutive_failures=3):
    """Searches the hyperparameters of a task; returns the trials table (best first).

    Args:
        task_name: "sentiment", "tagging", "generation" or "translation".
        config: the task's ``Config``: the values of everything not searched (its data,
            ``epochs`` per trial (Hyperband: the most a trial gets), ``max_seconds`` per
            trial, ``seed`` of the data split, weights and tuner, ``distribute`` and
            ``verbose``: 0 quiet, 1 keras-tuner's trial tables and the summary, 2 also
            epochs). Default: the task's defaults without a time budget per trial.
        space: changes to the task's default space: a dict of name -> spec, or the path
            of a JSON file holding one (see `seqtasks.tuning.space`).
        tuner: "random", "hyperband", "bayesian" or "grid".
        max_trials: the number of trials (also Hyperband's cap).
        executions_per_trial: models trained per trial; the objective is their mean.
        objective: the metric to optimise (default: the task's ``OBJECTIVE``).
        out: the search folder (default ``runs/tune-NAME``).
        overwrite: delete an earlier search in `out` instead of resuming it.
        retrain: train the best hyperparameters again from scratch for ``best/``.
        max_consecutive_failures: stop after this many failed trials in a row.

    Raises:
        ConfigError: bad settings (nothing has been trained).
        SearchStopped: too many trials failed in a row (trials.csv is written).
    """
    started = time.monotonic()
    task = get_task(task_name)
    config = task.Config(max_seconds=None) if config is None else config
    if not isinstance(config, task.Config):
        raise ConfigError(f"config must be a {task.NAME}.Config, got {type(config).__name__}")
    tuner_class(tuner)  # checks the name
    objective = check_objective(task, objective)
    space = task_space(task, load_file(space) if isinstance(space, (str, Path)) else space)
    for name, value in (("max_trials", max_trials), ("executions_per_trial",
                                                      executions_per_trial),
                        ("max_consecutive_failures", max_consecutive_failures)):
        positive_int(name, value)
    if config.distribute == "multiworker":
        raise ConfigError("seqtasks tune: --distribute multiworker is for seqtasks run; "
                          "spread a search over processes with keras-tuner's chief and "
                          "workers (README: Scaling out)")
    check_backend(config.distribute)
    out = Path(out) if out is not None else Path("runs") / f"tune-{task.NAME}"
    part = role()
    _prepare_folder(out, _settings(task, tuner, objective, space, executions_per_trial, config),
                    overwrite and part != "worker", owner=part != "worker")

    compile_less()  # on JAX: trials of one program compile once
    with distributed(config.distribute):  # before TensorFlow starts: it may split the CPU
        keras.utils.set_random_seed(config.seed)
        hypermodel = TaskHyperModel(task, config, task.prepare(config), space, objective)
        hypermodel.fit_verbose = 2 if config.verbose >= 2 else 0
        searcher = make_tuner(tuner, hypermodel, objective, max_trials, config.epochs,
                              config.seed, out, executions_per_trial, max_consecutive_failures,
                              make_strategy(config.distribute))
        frame = _run(searcher, config.verbose, max_consecutive_failures)
        frame.attrs["seconds"] = time.monotonic() - started
        if part == "worker":
            return frame  # the chief writes the plot and the best run
        plot_trials(frame, out / "trials.png")
        if (frame["status"] == "COMPLETED").any():
            _save_best(searcher, hypermodel, frame, out / "best", retrain)
    if config.verbose:
        print(summary(frame, out, task.NAME, tuner, frame.attrs["seconds"]))
    return frame


def _run(searcher, verbose, max_consecutive_failures):
    """Runs the tuner's search; returns the trials table (also when keras-tuner stops it)."""
    searcher.write_trials()  # a resumed search's table is current before the first trial
    try:
        with _quiet_weight_loading():
            searcher.search(verbose=1 if verbose else 0)
    except RuntimeError as error:
        if "consecutive failures" not in str(error):
            raise
        searcher.write_trials()
        raise SearchStopped(f"the search stopped after {max_consecutive_failures} failed "
                            f"trials in a row; see {searcher.trials_csv}") from None
    return searcher.write_trials()


def _settings(task, tuner, objective, space, executions_per_trial, config):
    """What must stay the same for a search to be resumed, as JSON values."""
    fixed = {k: v for k, v in config.to_json().items() if k not in IGNORED_SETTINGS}
    settings = {"task": task.NAME, "tuner": tuner, "objective": objective, "space": space,
                "executions_per_trial": executions_per_trial, "config": fixed}
    return json.loads(json_text(settings))


def _prepare_folder(out, settings, overwrite, owner=True):
    """Checks that `out` is new or holds a search with the same settings; records them.

    Only the `owner` (not a distributed worker) deletes (`overwrite`) or records.
    """
    record = out / SETTINGS
    if out.is_dir() and any(out.iterdir()):
        if not record.is_file():
            raise ConfigError(f"{out} is not a search folder (it has no {SETTINGS}); "
                              f"choose another --out")
        if overwrite:
            shutil.rmtree(out)
        else:
            saved = json.loads(record.read_text())
            changed = [key for key in settings if saved.get(key) != settings[key]]
            if changed:
                raise ConfigError(f"{out} holds a search with other settings "
                                  f"({', '.join(changed)}); give the same ones to resume it, "
                                  f"or --overwrite to start again")
    if owner:
        out.mkdir(parents=True, exist_ok=True)
        write_json(record, settings)


def _save_best(searcher, hypermodel, frame, folder, retrain):
    """Saves the best completed trial as a full run folder in `folder` (written atomically):
    the run files of `seqtasks.runs.save_run` with the trial's config, the task's test
    metrics and report, ``history.csv`` and ``hyperparameters.json``. The trial's model is
    completed as a run completes it (`seqtasks.tasks.runner.finish`: sentiment's n-gram
    mixture, tagging's average of taggers)."""
    task, data = hypermodel.task, hypermodel.data
    trial = searcher.oracle.get_trial(str(frame.iloc[0]["trial"]))
    config = hypermodel.trial_config(trial.hyperparameters).replace(out=folder)
    with RunFolder(folder) as work:
        model, history = (_retrained(hypermodel, trial, work) if retrain
                          else _trial_model(searcher, trial, config.distribute))
        model = finish(task, model, data, config, work, history)
        metrics = task.evaluate(model, data, config)
        save_run(work, task.NAME, model, data.preprocessor, config, metrics, history)
        task.report(model, data, config, metrics, history, work)
        write_json(work / "hyperparameters.json", {
            "trial": trial.trial_id, "objective": hypermodel.objective, "score": trial.score,
            "retrained": retrain, "values": trial.hyperparameters.values})


def _trial_model(searcher, trial, distribute):
    """The model of the trial's best epoch and the trial's training history."""
    with _quiet_weight_loading():
        model = searcher.load_model(trial)
    with distribution_scope(distribute):  # saved in full, the model loads quietly
        model.optimizer.build(model.trainable_variables)
    return model, pd.read_csv(searcher.training_dir(trial.trial_id) / HISTORY)


def _retrained(hypermodel, trial, work):
    """The trial's hyperparameters trained again from scratch (in ``work/training``,
    removed afterwards), and the history of that training."""
    hp = trial.hyperparameters
    with distribution_scope(hypermodel.config.distribute):
        model = hypermodel.build(hp)
    hypermodel.fit(hp, model, work_dir=work / "training",
                   epochs=hp.values.get("tuner/epochs", hypermodel.config.epochs))
    history = pd.read_csv(work / "training" / HISTORY)
    shutil.rmtree(work / "training")
    return model, history


@contextlib.contextmanager
def _quiet_weight_loading():
    """Hides Keras's warning that a trial checkpoint has no optimizer state to load (keras-
    tuner loads checkpoints into fresh models: Hyperband's next rounds, the best model)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        yield
