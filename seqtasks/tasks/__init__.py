"""One module per task; each is a library API that the CLI, the recipes and the tuner use.

A task module has

- ``NAME`` and ``Config``: a `seqtasks.tasks.config.TaskConfig` dataclass, the single
  source of every setting's default, type, choices and help text;
- ``prepare(config)``: reads and encodes the data; returns an object with
  ``preprocessor`` (the fitted preprocessing), ``train`` and ``valid`` (Keras datasets)
  and, where training needs them, ``callbacks`` (Keras callbacks);
- ``build(config, data)``: the compiled Keras model;
- ``evaluate(model, data, config)``: the metrics dict on the test split;
- ``report(model, data, config, metrics, history, folder)``: plots and a predictions sample;
- ``Preprocessor``: raw text <-> model tensors, with ``get_config``/``from_config``;
- ``Predictor(model, preprocessor, config)``: ``predict(texts, **options)``;
- ``OBJECTIVE`` and ``METRICS``: what a hyperparameter search optimises and may monitor.

`load` turns any finished run folder back into its task's predictor:

>>> predictor = load("runs/sentiment")  # doctest: +SKIP
>>> predictor.predict(["a superb film"])  # doctest: +SKIP
[{'text': 'a superb film', 'label': 'positive', 'probability': 0.97}]
"""

import importlib
from pathlib import Path

from seqtasks.errors import ConfigError, DataError

TASK_NAMES = ("sentiment", "tagging", "generation", "translation", "trees", "relations")


def get_task(name):
    """The task module called `name`."""
    if name not in TASK_NAMES:
        raise ConfigError(f"no task {name!r}; choose one of {', '.join(TASK_NAMES)}")
    return importlib.import_module(f"seqtasks.tasks.{name}")


def load(run_dir):
    """The predictor of a finished run folder (``seqtasks run``, a recipe or ``best/`` of a
    search): its task's ``Predictor`` over the saved model, preprocessing and config."""
    import keras

    from seqtasks.runs import MODEL, read_run_files

    run_dir = Path(run_dir)
    name, preprocessing, settings = read_run_files(run_dir)
    if name not in TASK_NAMES:
        raise DataError(f"unknown task {name!r}", path=run_dir / "config.json")
    task = get_task(name)
    try:
        config = task.Config.from_json(settings)
    except ConfigError as error:
        raise DataError(str(error), path=run_dir / "config.json") from None
    preprocessor = task.Preprocessor.from_config(preprocessing)
    model = keras.saving.load_model(run_dir / MODEL, safe_mode=True)
    return task.Predictor(model, preprocessor, config)
