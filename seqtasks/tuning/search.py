"""A hyperparameter search of one recipe, from the command line or a notebook.

>>> frame = search("sentiment", space={"units": [16, 32], "depth": 1}, max_trials=4,
...                epochs=2, out="runs/tune-sentiment")  # doctest: +SKIP
>>> frame[["trial", "status", "objective", "units", "cell"]].head()  # doctest: +SKIP

The search folder `out` holds:

- ``search.json``: the settings; a search is resumed only with the same ones,
- ``keras_tuner/``: keras-tuner's project (oracle state, one folder per trial),
- ``trials.csv``: one row per trial, best first, rewritten after every trial,
- ``trials.png``: the objective against hidden size and depth,
- ``best/model.keras`` and ``best/hyperparameters.json``: the best trial's model (its
  best epoch, or trained again from scratch with ``retrain=True``).

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

from seqtasks.distribute import distribution_scope, make_strategy
from seqtasks.errors import ConfigError, SeqtasksError
from seqtasks.runs import RunFolder, write_json
from seqtasks.tuning.hypermodels import hypermodel_class, recipe_arguments
from seqtasks.tuning.results import plot_trials, summary
from seqtasks.tuning.space import load_file
from seqtasks.tuning.tuners import make_tuner, role, tuner_class

SETTINGS = "search.json"
IGNORED_SETTINGS = ("out", "verbose", "resume", "distribute")  # may change on resume


class SearchStopped(SeqtasksError):
    """keras-tuner stopped the search (too many trials failed in a row)."""


def search(recipe, data=None, space=None, tuner="random", max_trials=10,
           executions_per_trial=1, objective=None, epochs=None, out=None, seed=0,
           max_seconds=None, recipe_args=(), overwrite=False, retrain=False,
           distribute="none", max_consecutive_failures=3, verbose=1):
    """Searches the hyperparameters of `recipe`; returns the trials table (best first).

    Args:
        recipe: "sentiment", "tagging", "generation" or "translation".
        data: the recipe's ``--data`` (None: its embedded dataset).
        space: changes to the recipe's default space: a dict of name -> spec, or the path
            of a JSON file holding one (see `seqtasks.tuning.space`).
        tuner: "random", "hyperband", "bayesian" or "grid".
        max_trials: the number of trials (also Hyperband's cap).
        executions_per_trial: models trained per trial; the objective is their mean.
        objective: the metric to optimise (default: val_accuracy for sentiment and
            tagging, val_loss for generation and translation).
        epochs: epochs per trial (Hyperband: the most a trial gets); default: the recipe's.
        out: the search folder (default ``runs/tune-RECIPE``).
        seed: seeds the data split, the weights and the tuner.
        max_seconds: a wall-time budget per trial (default: none).
        recipe_args: more flags of the recipe, e.g. ``["--max-chars", "20000"]``.
        overwrite: delete an earlier search in `out` instead of resuming it.
        retrain: train the best hyperparameters again from scratch for ``best/``.
        distribute: "mirrored" trains every trial data-parallel (`seqtasks.distribute`).
        max_consecutive_failures: stop after this many failed trials in a row.
        verbose: 0 quiet; 1 keras-tuner's trial tables and the summary; 2 also epochs.

    Raises:
        ConfigError: bad settings (nothing has been trained).
        SearchStopped: too many trials failed in a row (trials.csv is written).
    """
    started = time.monotonic()
    hypermodel_type = hypermodel_class(recipe)
    tuner_class(tuner)  # checks the name
    objective = hypermodel_type.check_objective(objective)
    changes = load_file(space) if isinstance(space, (str, Path)) else dict(space or {})
    space = hypermodel_type.resolve_space(changes)
    for name, value in (("max_trials", max_trials),
                        ("executions_per_trial", executions_per_trial)):
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    args = _recipe_arguments(recipe, recipe_args, data=data, epochs=epochs, seed=seed,
                             max_seconds=max_seconds)
    out = Path(out) if out is not None else Path("runs") / f"tune-{recipe}"
    part = role()
    _prepare_folder(out, _settings(recipe, tuner, objective, space, executions_per_trial, args),
                    overwrite and part != "worker", owner=part != "worker")

    strategy = make_strategy(distribute)  # before TensorFlow starts: it may split the CPU
    keras.utils.set_random_seed(seed)
    hypermodel = hypermodel_type(args, hypermodel_type.module().prepare_data(args), space,
                                 objective)
    hypermodel.fit_verbose = 2 if verbose >= 2 else 0
    searcher = make_tuner(tuner, hypermodel, objective, max_trials, args.epochs, seed, out,
                          executions_per_trial, max_consecutive_failures, strategy)
    frame = _run(searcher, verbose, max_consecutive_failures)
    frame.attrs["seconds"] = time.monotonic() - started
    if part == "worker":
        return frame  # the chief writes the plot and the best model
    plot_trials(frame, out / "trials.png")
    if (frame["status"] == "COMPLETED").any():
        _save_best(searcher, hypermodel, frame, out / "best", retrain, distribute)
    if verbose:
        print(summary(frame, out, recipe, tuner, frame.attrs["seconds"]))
    return frame


def _recipe_arguments(recipe, recipe_args, **values):
    """The recipe's arguments with the search's `values` (None: the recipe's default) set
    through its own flags, so that its parser checks them."""
    flags = list(recipe_args)
    for name, value in values.items():
        flags += [f"--{name.replace('_', '-')}", str(value)] if value is not None else []
    args = recipe_arguments(recipe, flags, prog=f"seqtasks tune {recipe}")
    # No time budget unless asked (not the recipe's): a trial cut short is not comparable.
    args.max_seconds = values.get("max_seconds")
    return args


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


def _settings(recipe, tuner, objective, space, executions_per_trial, args):
    """What must stay the same for a search to be resumed, as JSON values."""
    recipe_args = {k: v for k, v in vars(args).items() if k not in IGNORED_SETTINGS}
    settings = {"recipe": recipe, "tuner": tuner, "objective": objective, "space": space,
                "executions_per_trial": executions_per_trial, "recipe_args": recipe_args}
    return json.loads(json.dumps(settings, default=str))


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


def _save_best(searcher, hypermodel, frame, folder, retrain, distribute="none"):
    """Saves the best completed trial's model in `folder` (written atomically)."""
    trial = searcher.oracle.get_trial(str(frame.iloc[0]["trial"]))
    hp = trial.hyperparameters
    with RunFolder(folder) as work:
        if retrain:
            epochs = hp.values.get("tuner/epochs", hypermodel.args.epochs)
            with distribution_scope(distribute):
                model = hypermodel.build(hp)
            hypermodel.fit(hp, model, work_dir=work / "training", epochs=epochs)
            shutil.move(work / "training" / "history.csv", work / "history.csv")
            shutil.rmtree(work / "training")
        else:
            with _quiet_weight_loading():
                model = searcher.load_model(trial)  # the weights of the trial's best epoch
            with distribution_scope(distribute):  # saved in full, the model loads quietly
                model.optimizer.build(model.trainable_variables)
        model.save(work / "model.keras")
        write_json(work / "hyperparameters.json", {
            "trial": trial.trial_id, "objective": hypermodel.objective, "score": trial.score,
            "retrained": retrain, "values": hp.values})


@contextlib.contextmanager
def _quiet_weight_loading():
    """Hides Keras's warning that a trial checkpoint has no optimizer state to load (keras-
    tuner loads checkpoints into fresh models: Hyperband's next rounds, the best model)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        yield
