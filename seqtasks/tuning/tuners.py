"""keras-tuner's four tuners, each recording its trials for `trials.csv`.

`TrialRecords` is mixed into `keras_tuner.RandomSearch`, `Hyperband`,
`BayesianOptimization` and `GridSearch`. Around keras-tuner's own trial loop it

- trains every trial in its own folder (``trial_ID/training``; a killed trial continues
  from its last finished epoch when the search is resumed),
- records the wall time and epochs of every trial, failed ones too, in ``trial_ID/run.json``,
- turns a NaN/inf loss into `keras_tuner.errors.FailedTrialError` (failed, not retried),
- rewrites ``trials.csv`` after every trial (`seqtasks.tuning.results.write_trials`),
- on resume, treats a trial whose end was saved but not yet the oracle's state as ended,
- writes keras-tuner's state files (oracle, tuner, trials) atomically (`save_json_atomically`).

Distributed tuning is keras-tuner's own: with ``KERASTUNER_TUNER_ID``,
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` set, the tuner whose id starts
with "chief" serves the oracle over gRPC and the others run trials (see `role`).

>>> make_tuner("random", hypermodel, "val_accuracy", max_trials=5, epochs=3,
...            seed=0, out="runs/tune")  # doctest: +SKIP
"""

import json
import os
import time
from pathlib import Path

import keras_tuner
from keras_tuner.engine.trial import TrialStatus

from seqtasks import compat
from seqtasks.errors import ConfigError
from seqtasks.runs import write_atomically, write_json
from seqtasks.training import TrainingError
from seqtasks.tuning.hypermodels import direction_of
from seqtasks.tuning.results import RUN_RECORD, write_trials

PROJECT = "keras_tuner"  # keras-tuner's project folder inside the search folder


def save_json_atomically(path, obj):
    """keras-tuner's ``utils.save_json``, written to a temporary file and renamed into place.

    keras-tuner truncates its state files and writes them in place; a SIGKILL in between
    left an empty ``oracle.json`` that the resumed search could not read. Installed in
    its place when this module is imported. Returns the JSON text, as the original does.
    """
    text = json.dumps(obj)
    write_atomically(path, lambda f: f.write(text))
    return text


compat.install_save_json(save_json_atomically)


def role():
    """"chief", "worker" or "single": this process's part in a distributed search."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        if not os.environ.get(name):
            raise ConfigError(f"KERASTUNER_ORACLE_IP is set but {name} is not")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


class TrialRecords:
    """The mixin described in the module docstring; `trials_csv` is the table's path."""

    def __init__(self, *args, trials_csv, **kwargs):
        self.trials_csv = Path(trials_csv)
        super().__init__(*args, **kwargs)

    def training_dir(self, trial_id):
        """The folder a trial trains in: checkpoints and ``history.csv``."""
        return Path(self.get_trial_dir(trial_id)) / "training"

    def run_trial(self, trial, *args, **kwargs):
        folder = Path(self.get_trial_dir(trial.trial_id))
        self.hypermodel.epochs_trained = 0
        started = time.monotonic()
        try:
            return super().run_trial(trial, *args, work_dir=self.training_dir(trial.trial_id),
                                     **kwargs)
        except TrainingError as error:
            raise keras_tuner.errors.FailedTrialError(str(error)) from error
        finally:
            write_json(folder / RUN_RECORD, {
                "seconds": round(time.monotonic() - started, 2),
                "epochs": self.hypermodel.epochs_trained, "tuner_id": self.tuner_id})

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self.write_trials()

    def write_trials(self):
        """Rewrites trials.csv from the trial files; returns the table."""
        objective = self.oracle.objective
        return write_trials(self.project_dir, self.trials_csv, objective.name,
                            objective.direction, order=self.hypermodel.space)

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        # keras-tuner imports tensorboard here even with no TensorBoard callback (and
        # TensorFlow no longer installs it): only go there when there is one.
        if any(type(callback).__name__ == "TensorBoard" for callback in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)

    def reload(self):
        super().reload()
        if not self._is_worker():
            end_saved_trials(self.oracle)


def end_saved_trials(oracle):
    """Takes trials that had ended (their files say so) off the queue of trials to rerun.

    keras-tuner saves an ending trial's file and then the oracle's state; a kill between
    the two would otherwise run that trial a second time.
    """
    ended = (TrialStatus.COMPLETED, TrialStatus.FAILED)
    for trial_id in list(oracle._retry_queue):
        if oracle.trials[trial_id].status in ended:
            oracle._retry_queue.remove(trial_id)
            if trial_id not in oracle.end_order:
                oracle.end_order.append(trial_id)


class RandomSearch(TrialRecords, keras_tuner.RandomSearch):
    """Random search, recording its trials."""


class Hyperband(TrialRecords, keras_tuner.Hyperband):
    """Hyperband (successive halving over brackets), recording its trials."""


class BayesianOptimization(TrialRecords, keras_tuner.BayesianOptimization):
    """Gaussian-process Bayesian optimisation, recording its trials."""


class GridSearch(TrialRecords, keras_tuner.GridSearch):
    """Grid search (every combination, the config's values first), recording its trials."""


TUNERS = {"random": RandomSearch, "hyperband": Hyperband, "bayesian": BayesianOptimization,
          "grid": GridSearch}


def tuner_class(kind):
    """The tuner class called `kind` ("random", "hyperband", "bayesian" or "grid")."""
    if kind not in TUNERS:
        raise ConfigError(f"--tuner must be one of {', '.join(TUNERS)}, got {kind!r}")
    return TUNERS[kind]


def make_tuner(kind, hypermodel, objective, max_trials, epochs, seed, out,
               executions_per_trial=1, max_consecutive_failures=3, distribution_strategy=None):
    """A tuner of `kind` whose project lives in ``out/keras_tuner`` (reloaded if there).

    Hyperband has no trial count of its own (its brackets follow from `epochs`, its
    ``max_epochs``): it runs brackets until `max_trials` trials have been made.
    """
    cls = tuner_class(kind)
    options = dict(
        hypermodel=hypermodel,
        objective=keras_tuner.Objective(objective, direction_of(objective)),
        seed=seed + 1,  # keras-tuner takes seed 0 as "random"
        directory=str(out), project_name=PROJECT, overwrite=False,
        executions_per_trial=executions_per_trial,
        max_consecutive_failed_trials=max_consecutive_failures,
        distribution_strategy=distribution_strategy,
        trials_csv=Path(out) / "trials.csv",
    )
    if cls is Hyperband:
        tuner = Hyperband(max_epochs=epochs, factor=3, hyperband_iterations=max_trials,
                          **options)
        tuner.oracle.max_trials = max_trials
        return tuner
    return cls(max_trials=max_trials, **options)
