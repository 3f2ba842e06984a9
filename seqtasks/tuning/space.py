"""Search spaces: the values each hyperparameter may take in a search.

A space maps hyperparameter names (settings of the task's ``Config``: ``units``,
``depth``, ``cell``, ...) to a spec, written the same way in Python, in a JSON file and,
as text, on the command line:

- a fixed value: ``"gru"`` or ``["gru"]``; on the command line ``--cell gru``
- a choice among values: ``[32, 64, 128]``; ``--units 32,64,128``
- a range, any value in it: ``{"min": 1e-4, "max": 1e-2}``; ``--learning-rate 1e-4:1e-2``
- a range on a grid: ``{"min": 0, "max": 0.5, "step": 0.1}``; ``--dropout 0:0.5:0.1``

A range of ``learning_rate`` or ``clipnorm`` is sampled on a log scale unless
``"sampling"`` says otherwise (with log sampling a step multiplies).

What a task may search is `SHARED` plus its ``SEARCHABLE``, less what its architecture
fixes (``FIXED``); each name's type, allowed values (``choices``) and check come from its
``Config`` field (`seqtasks.tasks.config`), so a search accepts exactly the values a run
does. `task_space` merges the task's default space with the user's changes and checks
every value, so a bad space fails before any training with a one-line `ConfigError`:

>>> from seqtasks.tasks import sentiment
>>> space = task_space(sentiment, {"units": "8", "cell": "gru,lstm"})
>>> space["units"], space["cell"]
({'values': [8]}, {'values': ['gru', 'lstm']})
>>> task_space(sentiment, {"units": "eight"})
Traceback (most recent call last):
...
seqtasks.errors.ConfigError: units: 'eight' is not an integer
"""

import dataclasses
import json
import math
import typing
from pathlib import Path

from seqtasks.errors import ConfigError
from seqtasks.validation import one_of

# The hyperparameters every task can search (each task adds its own, ``SEARCHABLE``).
SHARED = ("cell", "units", "depth", "bidirectional", "dropout", "learning_rate", "clipnorm",
          "embedding_dim")
LOG_SCALE = ("learning_rate", "clipnorm")  # their ranges are sampled on a log scale
# The space searched when the user narrows nothing; ``units`` follows the task's default
# (see `default_space`).
DEFAULT_SPACE = {
    "cell": ["lstm", "gru", "elman", "mingru", "minlstm"],
    "depth": [1, 2, 3],
    "bidirectional": [False, True],
    "dropout": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
    "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
}
FOLLOWING_UNITS = 128  # the middle units of a task whose default units follow its data
TRUE, FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A searchable setting: its name, value type, allowed `choices` and `check`.

    >>> from seqtasks.tasks import sentiment
    >>> units = Parameter.of(sentiment.Config, "units")
    >>> units.normalize("32,64,32"), units.normalize("16:64:16")
    ({'values': [32, 64]}, {'min': 16, 'max': 64, 'sampling': 'linear', 'step': 16})
    """

    name: str
    kind: type
    choices: tuple | None = None
    check: typing.Callable | None = None

    @classmethod
    def of(cls, config_class, name):
        """The parameter of the field `name` of a task config class."""
        field = next(f for f in dataclasses.fields(config_class) if f.name == name)
        hint = typing.get_type_hints(config_class)[name]
        kind = next(arg for arg in typing.get_args(hint) or (hint,) if arg is not type(None))
        return cls(name, kind, field.metadata.get("choices"), field.metadata.get("check"))

    @property
    def sampling(self):
        """How a range of this parameter is sampled by default: "log" or "linear"."""
        return "log" if self.name in LOG_SCALE else "linear"

    def value(self, value):
        """`value` (Python or text) as the parameter's type, checked; ConfigError otherwise."""
        if isinstance(value, str):
            value = self._parse(value.strip())
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            raise ConfigError(f"{self.name}: {value!r} is not of type {self.kind.__name__}")
        if self.kind is float and not math.isfinite(value):
            raise ConfigError(f"{self.name}: {value!r} is not a finite number")
        if self.choices is not None:
            one_of(self.name, value, self.choices)
        return self.check(self.name, value) if self.check is not None else value

    def _parse(self, text):
        if self.kind is bool:
            if text.lower() not in TRUE + FALSE:
                raise ConfigError(f"{self.name}: {text!r} is not true or false")
            return text.lower() in TRUE
        if self.kind in (int, float):
            try:
                return self.kind(text)
            except ValueError:
                article = "an integer" if self.kind is int else "a number"
                raise ConfigError(f"{self.name}: {text!r} is not {article}") from None
        return text

    def normalize(self, spec):
        """`spec` (a value, a list, a range dict or command-line text) in canonical form.

        Returns ``{"values": [...]}`` (one value: fixed) or
        ``{"min": lo, "max": hi, "sampling": s}`` (plus ``"step"`` when given).
        """
        if isinstance(spec, str):
            spec = parse_text(spec)
        if isinstance(spec, dict) and set(spec) == {"values"}:
            spec = spec["values"]  # the canonical form of a choice
        if isinstance(spec, dict):
            return self._range(spec)
        values = list(spec) if isinstance(spec, (list, tuple)) else [spec]
        if not values:
            raise ConfigError(f"{self.name}: give at least one value")
        return {"values": list(dict.fromkeys(self.value(value) for value in values))}

    def _range(self, spec):
        if self.kind not in (int, float):
            raise ConfigError(f"{self.name}: a range needs a numeric hyperparameter")
        if set(spec) - {"min", "max", "step", "sampling"} or not {"min", "max"} <= set(spec):
            raise ConfigError(f"{self.name}: a range has keys min, max and optionally step, "
                              f"sampling")
        low, high = self.value(spec["min"]), self.value(spec["max"])
        if low > high:
            raise ConfigError(f"{self.name}: min {low} is above max {high}")
        sampling = spec.get("sampling", self.sampling)
        if sampling not in ("linear", "log"):
            raise ConfigError(f"{self.name}: sampling must be linear or log, got {sampling!r}")
        if sampling == "log" and low <= 0:
            raise ConfigError(f"{self.name}: log sampling needs min > 0")
        canonical = {"min": low, "max": high, "sampling": sampling}
        if spec.get("step") is not None:
            canonical["step"] = self._step(spec["step"], sampling)
        return canonical

    def _step(self, step, sampling):
        try:
            step = self.kind(step)
        except (TypeError, ValueError):
            raise ConfigError(f"{self.name}: step {step!r} is not a number") from None
        least = 1 if sampling == "log" else 0
        if not step > least:
            raise ConfigError(f"{self.name}: step must be > {least} with {sampling} sampling")
        return step


def parse_text(text):
    """Command-line text as a spec: ``a,b`` -> list, ``lo:hi[:step]`` -> range, else a value.

    >>> parse_text("32,64"), parse_text("1e-4:1e-2"), parse_text("gru")
    (['32', '64'], {'min': '1e-4', 'max': '1e-2'}, 'gru')
    """
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise ConfigError(f"{text!r}: a range is MIN:MAX or MIN:MAX:STEP")
        return dict(zip(("min", "max", "step"), parts))
    if "," in text:
        return [part for part in text.split(",") if part.strip()]
    return text


def spec_text(spec):
    """A canonical spec as command-line text (the inverse of `parse_text`).

    >>> spec_text({"values": [32, 64]}), spec_text({"min": 0.0, "max": 0.5, "step": 0.1})
    ('32,64', '0.0:0.5:0.1')
    """
    if "values" in spec:
        return ",".join(map(str, spec["values"]))
    return ":".join(str(spec[key]) for key in ("min", "max", "step") if key in spec)


def searchable(task):
    """Name -> `Parameter` of what a search of `task` may vary: `SHARED` and the task's
    ``SEARCHABLE``, less the names its architecture fixes (``FIXED``)."""
    names = [name for name in (*SHARED, *task.SEARCHABLE) if name not in task.FIXED]
    return {name: Parameter.of(task.Config, name) for name in names}


def default_space(task):
    """The space searched when nothing is narrowed: `DEFAULT_SPACE`, ``units`` at half,
    once and twice the task's default (`FOLLOWING_UNITS` where its units follow the data,
    as translation's follow its tokens), less what the task fixes."""
    units = task.Config().units or FOLLOWING_UNITS
    space = {**DEFAULT_SPACE, "units": sorted({max(1, units // 2), units, 2 * units})}
    return {name: spec for name, spec in space.items() if name not in task.FIXED}


def task_space(task, changes=None):
    """The space a search of `task` explores, in canonical form, every value checked.

    Args:
        task: a task module (`seqtasks.tasks`).
        changes: name -> spec to add to or replace in the task's `default_space` (from a
            space file and the flags); a canonical space comes back unchanged.
    """
    parameters = searchable(task)
    space = {}
    for name, spec in {**default_space(task), **(changes or {})}.items():
        if name not in parameters:
            fixed = f" (it is always {task.FIXED[name]!r})" if name in task.FIXED else ""
            raise ConfigError(f"{name!r} is not a hyperparameter {task.NAME} can search{fixed}; "
                              f"choose among {', '.join(parameters)}")
        space[name] = parameters[name].normalize(spec)
    return space


def load_file(path):
    """The space in a JSON file: an object of hyperparameter name -> spec."""
    path = Path(path)
    try:
        space = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the space file ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: not a JSON space file ({error})") from None
    if not isinstance(space, dict):
        raise ConfigError(f"{path}: a space file holds a JSON object of name -> values")
    return space


def declare(hp, name, spec, default=None):
    """Declares `name` on a `keras_tuner.HyperParameters`; returns its value for the trial.

    `default` (the config's own value) is where a grid search starts; it is used when
    the spec contains it.

    >>> import keras_tuner
    >>> declare(keras_tuner.HyperParameters(), "units", {"values": [32, 64]}, default=64)
    64
    """
    if "values" in spec:
        values = spec["values"]
        if len(values) == 1:
            return hp.Fixed(name, values[0])
        if sorted(values) == [False, True]:
            return hp.Boolean(name, default=bool(default))
        return hp.Choice(name, values, default=default if default in values else values[0])
    low, high = spec["min"], spec["max"]
    start = default if default is not None and low <= default <= high else low
    kind = hp.Int if isinstance(low, int) else hp.Float
    return kind(name, low, high, step=spec.get("step"), sampling=spec["sampling"],
                default=start)
