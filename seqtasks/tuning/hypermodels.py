"""One `keras_tuner.HyperModel` per recipe: hyperparameter values in, a trained model out.

Each HyperModel wraps a recipe's own functions: the recipe's ``prepare_data(args)`` runs
once, before the search, and ``build(hp)`` calls the recipe's ``build_model(args, data)``
with the trial's values set on a copy of the recipe's arguments; ``fit`` trains with
`seqtasks.training.fit` (checkpoints, early stopping on the objective, NaN detection).

>>> args = recipe_arguments("sentiment", ["--epochs", "1"])  # doctest: +SKIP
>>> data = SentimentHyperModel.module().prepare_data(args)  # doctest: +SKIP
>>> hypermodel = SentimentHyperModel(args, data, space={"units": [8, 16]})  # doctest: +SKIP
>>> model = hypermodel.build(keras_tuner.HyperParameters())  # doctest: +SKIP
"""

import copy
import importlib
import shutil
from pathlib import Path

import keras_tuner
import pandas as pd

from seqtasks.errors import ConfigError
from seqtasks.recipe import raise_parser_errors
from seqtasks.training import TrainingError, fit
from seqtasks.tuning.space import declare, resolve

# The space searched when the user narrows nothing (each recipe can change parts of it).
DEFAULT_SPACE = {
    "cell": ["lstm", "gru", "elman"],
    "units": [32, 64, 128],
    "depth": [1, 2, 3],
    "bidirectional": [False, True],
    "dropout": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
    "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
}
COMMON = ("cell", "units", "depth", "bidirectional", "dropout", "learning_rate", "clipnorm",
          "embedding_dim")


def direction_of(objective):
    """"max" for accuracies, "min" for losses."""
    return "max" if objective.endswith("accuracy") else "min"


class RecipeHyperModel(keras_tuner.HyperModel):
    """A recipe's model as a HyperModel (subclasses name the recipe and its search space).

    Args:
        args: the recipe's arguments (`argparse.Namespace`), the values of everything
            that is not searched.
        data: what the recipe's ``prepare_data(args)`` returned.
        space: name -> spec (see `seqtasks.tuning.space`); None: the default space.
        objective: the metric the search optimises (default: the recipe's).

    Class attributes: `recipe` (module name in `seqtasks.recipes`), `objective` (default),
    `metrics` (what the compiled model reports), `tunable` (names that may be searched),
    `fixed` (values the architecture imposes), `space_defaults` (this recipe's changes to
    `DEFAULT_SPACE`). The values a text parameter (cell, attention) may take are those the
    recipe's own flag accepts (`choices`).
    """

    recipe = None
    objective = "val_loss"
    metrics = ("loss",)
    tunable = COMMON
    fixed = {}
    space_defaults = {}

    def __init__(self, args, data, space=None, objective=None):
        super().__init__(name=f"{self.recipe}_hypermodel")
        self.args, self.data = args, data
        self.space = self.resolve_space(space or {})
        self.objective = self.check_objective(objective)
        self.epochs_trained = 0
        self.fit_verbose = 0  # Keras's in fit (keras-tuner's `verbose` is its display's)

    @classmethod
    def module(cls):
        """The recipe module (``seqtasks.recipes.NAME``)."""
        return importlib.import_module(f"seqtasks.recipes.{cls.recipe}")

    @classmethod
    def objectives(cls):
        """The metric names an objective may be: training and validation ones."""
        return (*cls.metrics, *(f"val_{name}" for name in cls.metrics))

    @classmethod
    def check_objective(cls, objective=None):
        """`objective` (default: the recipe's), checked against what the model reports."""
        objective = objective or cls.objective
        if objective not in cls.objectives():
            raise ConfigError(f"--objective {objective!r}: the {cls.recipe} model reports "
                              f"{', '.join(cls.objectives())}")
        return objective

    @classmethod
    def choices(cls):
        """Name -> the values the recipe's flag allows, for its searchable text parameters."""
        parser = cls.module().make_parser()
        return {action.dest: tuple(action.choices) for action in parser._actions
                if action.dest in cls.tunable and action.choices is not None}

    @classmethod
    def resolve_space(cls, changes):
        """The recipe's default space with `changes` applied, checked (see `space.resolve`)."""
        defaults = {name: spec for name, spec in {**DEFAULT_SPACE, **cls.space_defaults}.items()
                    if name not in cls.fixed}
        return resolve(defaults, changes, cls.choices(), cls.fixed, cls.tunable)

    def arguments(self, hp):
        """A copy of the recipe's arguments with the trial's values of the searched ones."""
        args = copy.copy(self.args)
        for name, spec in self.space.items():
            setattr(args, name, declare(hp, name, spec, default=getattr(self.args, name, None)))
        return args

    def build(self, hp):
        return self.module().build_model(self.arguments(hp), self.data)

    def fit(self, hp, model, *args, work_dir, callbacks=(), epochs=None, initial_epoch=0,
            verbose=0, **kwargs):
        """Trains `model` in `work_dir`; returns the metrics of its best epoch.

        An interrupted fit (a checkpoint in ``work_dir/backup``) continues where it stopped;
        otherwise `work_dir` is cleared first. Each epoch trained is counted in
        `epochs_trained` (failed fits included). `epochs` and `initial_epoch` come from
        Hyperband; `verbose` is keras-tuner's display setting, so Keras's own verbosity is
        `fit_verbose`.
        """
        work = Path(work_dir)
        if not (work / "backup").is_dir():
            shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        try:
            history = fit(model, self.data.train, self.data.valid, work,
                          epochs=epochs or self.args.epochs, initial_epoch=initial_epoch,
                          max_seconds=self.args.max_seconds, patience=self.args.patience,
                          monitor=self.objective, verbose=self.fit_verbose,
                          extra_callbacks=list(callbacks))
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


class SentimentHyperModel(RecipeHyperModel):
    """The many-to-one sentiment classifier (`recipes/sentiment.py`); its pooling (last,
    max) can be searched too."""

    recipe = "sentiment"
    objective = "val_accuracy"
    metrics = ("loss", "accuracy")
    tunable = (*COMMON, "pooling")


class TaggingHyperModel(RecipeHyperModel):
    """The per-token tagger (`recipes/tagging.py`)."""

    recipe = "tagging"
    objective = "val_accuracy"
    metrics = ("loss", "accuracy")


class GenerationHyperModel(RecipeHyperModel):
    """The character language model (`recipes/generation.py`): left to right only."""

    recipe = "generation"
    fixed = {"bidirectional": False}
    space_defaults = {"units": [64, 128, 256]}


class TranslationHyperModel(RecipeHyperModel):
    """The attentional encoder-decoder (`recipes/translation.py`): its encoder is always
    bidirectional; the attention (luong, bahdanau) can be searched too."""

    recipe = "translation"
    fixed = {"bidirectional": True}
    tunable = (*COMMON, "attention")
    space_defaults = {"units": [64, 128, 256]}


HYPERMODELS = {model.recipe: model for model in (
    SentimentHyperModel, TaggingHyperModel, GenerationHyperModel, TranslationHyperModel)}


def hypermodel_class(recipe):
    """The HyperModel class of a recipe name."""
    if recipe not in HYPERMODELS:
        raise ConfigError(f"no recipe {recipe!r}; choose one of {', '.join(HYPERMODELS)}")
    return HYPERMODELS[recipe]


def recipe_arguments(recipe, argv=(), prog=None):
    """The recipe's arguments: its defaults, changed by the recipe flags in `argv`.

    A bad or unknown flag raises `ConfigError` (one line), not SystemExit.
    """
    parser = raise_parser_errors(hypermodel_class(recipe).module().make_parser())
    parser.prog = prog or parser.prog
    args, unknown = parser.parse_known_args(list(argv))
    if unknown:
        raise ConfigError(f"unrecognized arguments: {' '.join(unknown)}")
    return args

