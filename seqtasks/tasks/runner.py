"""Running a task end to end: config -> prepare -> build -> fit -> evaluate -> run folder.

`run_task` is what ``seqtasks run NAME`` calls; the scripts in ``recipes/`` spell out the
same steps with the task's functions, so both give the same run:

>>> from seqtasks.tasks import sentiment
>>> config = sentiment.Config(epochs=1, out="runs/sentiment")  # doctest: +SKIP
>>> metrics = run_task(sentiment, config)  # doctest: +SKIP
"""

import contextlib
import time
from pathlib import Path

import keras

from seqtasks.compile_cache import compile_less
from seqtasks.distribute import (distributed, distribution_scope, is_chief,
                                 split_cpu_from_environment)
from seqtasks.runs import RunFolder, ScratchFolder, save_run
from seqtasks.training import fit


@contextlib.contextmanager
def start_run(task, config):
    """Starts the run's distribution, seeds everything from ``config.seed``; yields the
    folder to work in.

    The run folder is ``config.out`` or ``runs/NAME``; it appears only once the run has
    finished (see `seqtasks.runs.RunFolder`). In a multi-worker run
    (``--distribute multiworker``) only the chief writes it; the other workers work in a
    temporary folder, removed at the end (`seqtasks.runs.ScratchFolder`). On JAX, models
    of one architecture share their compiled steps and random draws compile faster
    (`seqtasks.compile_cache.compile_less`).
    """
    compile_less()  # before the first compile
    split_cpu_from_environment()  # before TensorFlow starts (see seqtasks.distribute)
    with distributed(config.distribute):
        keras.utils.set_random_seed(config.seed)
        folder = RunFolder if is_chief(config.distribute) else ScratchFolder
        with folder(config.out or Path("runs") / task.NAME, resume=config.resume) as work:
            yield work


def build(task, config, data):
    """The task's compiled model, built under ``config.distribute``'s strategy scope."""
    with distribution_scope(config.distribute):
        return task.build(config, data)


def train(model, data, config, work):
    """Trains `model` on ``data.train``, validating on ``data.valid``, in folder `work`.

    Training (`seqtasks.training.fit`) checkpoints every epoch (``--resume`` continues
    from there), stops early on the task's monitored metric (``config.monitor`` where the
    task has one, else ``val_loss``) and keeps its best epoch, within
    ``config.max_seconds``, with the Keras callbacks the data needs (``data.callbacks``,
    e.g. resetting the states of stateful layers each epoch). Returns the history;
    ``history.attrs["seconds"]`` is the training time.
    """
    started = time.monotonic()
    history = fit(model, data.train, data.valid, work, epochs=config.epochs,
                  max_seconds=config.max_seconds, patience=config.patience,
                  monitor=getattr(config, "monitor", "val_loss"), verbose=config.verbose,
                  extra_callbacks=getattr(data, "callbacks", ()))
    history.attrs["seconds"] = round(time.monotonic() - started, 1)
    return history


def finish(task, model, data, config, work, history):
    """The model the run keeps: ``task.finish(model, data, config, work, history)`` for a
    task that completes its trained model (sentiment mixes in a bag-of-n-grams model,
    tagging averages more taggers), else `model`."""
    if not hasattr(task, "finish"):
        return model
    return task.finish(model, data, config, work, history)


def training_summary(history):
    """The metrics of training itself: epochs run, the best validation loss, seconds."""
    summary = {"epochs": len(history), "train_seconds": history.attrs.get("seconds")}
    if "val_loss" in history:
        summary["best_val_loss"] = float(history["val_loss"].min())
    return summary


def run_task(task, config):
    """Runs `task` (a module of `seqtasks.tasks`) with `config`; returns its metrics.

    Writes the run folder: model, preprocessing, config, metrics, history and the task's
    report (plots, a sample of predictions).
    """
    with start_run(task, config) as work:
        data = task.prepare(config)
        model = build(task, config, data)
        history = train(model, data, config, work)
        model = finish(task, model, data, config, work, history)
        metrics = {**task.evaluate(model, data, config), **training_summary(history)}
        save_run(work, task.NAME, model, data.preprocessor, config, metrics)
        task.report(model, data, config, metrics, history, work)
    return metrics
