"""`TaskHyperModel`: any task as a `keras_tuner.HyperModel`, hyperparameter values in, a
trained model out.

The task's ``prepare(config)`` runs once, before the search; ``build(hp)`` is the task's
``build(config.replace(**values), data)`` with the trial's values of the searched
settings; ``fit`` trains with `seqtasks.training.fit` (checkpoints, early stopping on the
objective, NaN detection).

>>> from seqtasks.tasks import sentiment
>>> config = sentiment.Config(epochs=1, max_seconds=None)
>>> data = sentiment.prepare(config)  # doctest: +SKIP
>>> hypermodel = TaskHyperModel(sentiment, config, data, {"units": [8, 16]})  # doctest: +SKIP
>>> model = hypermodel.build(keras_tuner.HyperParameters())  # doctest: +SKIP
"""

import shutil
from pathlib import Path

import keras_tuner
import pandas as pd

from seqtasks.errors import ConfigError
from seqtasks.training import TrainingError, fit
from seqtasks.tuning.space import declare, task_space


def direction_of(objective):
    """"max" for accuracies, "min" for losses.

    >>> direction_of("val_accuracy"), direction_of("val_loss")
    ('max', 'min')
    """
    return "max" if objective.endswith("accuracy") else "min"


def objectives(task):
    """The metric names a search of `task` may optimise: its ``METRICS`` and their
    validation (``val_``) variants."""
    return (*task.METRICS, *(f"val_{name}" for name in task.METRICS))


def check_objective(task, objective=None):
    """`objective` (default: the task's ``OBJECTIVE``), checked against what its model
    reports."""
    objective = objective or task.OBJECTIVE
    if objective not in objectives(task):
        raise ConfigError(f"--objective {objective!r}: the {task.NAME} model reports "
                          f"{', '.join(objectives(task))}")
    return objective


class TaskHyperModel(keras_tuner.HyperModel):
    """A task's model as a HyperModel.

    Args:
        task: the task module (`seqtasks.tasks`).
        config: the task's config: the values of everything that is not searched, and
            where a grid search starts for what is.
        data: what the task's ``prepare(config)`` returned.
        space: name -> spec, changes to the task's default space (see
            `seqtasks.tuning.space.task_space`); None: the default space.
        objective: the metric the search optimises (default: the task's ``OBJECTIVE``).

    `epochs_trained` counts the epochs of the current trial (failed fits included);
    `fit_verbose` is Keras's verbosity in ``fit`` (keras-tuner's `verbose` is its display's).
    """

    def __init__(self, task, config, data, space=None, objective=None):
        super().__init__(name=f"{task.NAME}_hypermodel")
        self.task, self.config, self.data = task, config, data
        self.space = task_space(task, space)
        self.objective = check_objective(task, objective)
        self.epochs_trained = 0
        self.fit_verbose = 0

    def trial_config(self, hp):
        """The config with the trial's values of the searched settings (declared on `hp`)."""
        return self.config.replace(**{
            name: declare(hp, name, spec, default=getattr(self.config, name))
            for name, spec in self.space.items()})

    def build(self, hp):
        return self.task.build(self.trial_config(hp), self.data)

    def fit(self, hp, model, *args, work_dir, callbacks=(), epochs=None, initial_epoch=0,
            verbose=0, **kwargs):
        """Trains `model` in `work_dir`; returns the metrics of its best epoch.

        An interrupted fit (a checkpoint in ``work_dir/backup``) continues where it stopped;
        otherwise `work_dir` is cleared first. `epochs` and `initial_epoch` come from
        Hyperband (default: ``config.epochs``); the budget is ``config.max_seconds``.
        """
        work = Path(work_dir)
        if not (work / "backup").is_dir():
            shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        try:
            history = fit(model, self.data.train, self.data.valid, work,
                          epochs=epochs or self.config.epochs, initial_epoch=initial_epoch,
                          max_seconds=self.config.max_seconds, patience=self.config.patience,
                          monitor=self.objective, verbose=self.fit_verbose,
                          extra_callbacks=[*getattr(self.data, "callbacks", ()), *callbacks])
        finally:
            if (work / "history.csv").is_file():
                self.epochs_trained += len(pd.read_csv(work / "history.csv"))
        return best_epoch(history, self.objective)


def best_epoch(history, objective):
    """The metrics (all columns but ``epoch``) of the history row best in `objective`."""
    column = pd.to_numeric(history[objective], errors="coerce")
    if column.isna().all():
        raise TrainingError(f"{objective} was not finite in any epoch")
    best = column.idxmax() if direction_of(objective) == "max" else column.idxmin()
    return {name: float(value) for name, value in history.loc[best].items() if name != "epoch"}
