"""Search spaces: the values each hyperparameter may take in a search.

A space maps hyperparameter names (the recipe's argument names: ``units``, ``depth``,
``cell``, ...) to a spec, written the same way in Python, in a JSON file and, as text, on
the command line:

- a fixed value: ``"gru"`` or ``["gru"]``; on the command line ``--cell gru``
- a choice among values: ``[32, 64, 128]``; ``--units 32,64,128``
- a range, any value in it: ``{"min": 1e-4, "max": 1e-2}``; ``--learning-rate 1e-4:1e-2``
- a range on a grid: ``{"min": 0, "max": 0.5, "step": 0.1}``; ``--dropout 0:0.5:0.1``

A range of ``learning_rate`` is sampled on a log scale unless ``"sampling"`` says
otherwise (with log sampling a step multiplies). `resolve` merges a recipe's default
space with the user's changes and checks every value, so a bad space fails before any
training with a one-line `ConfigError`:

>>> space = resolve({"units": [32, 64], "depth": [1, 2]}, {"units": "8"}, {})
>>> space["units"], space["depth"]
({'values': [8]}, {'values': [1, 2]})
>>> resolve({}, {"units": "eight"}, {})
Traceback (most recent call last):
...
seqtasks.errors.ConfigError: units: 'eight' is not an integer
"""

import json
import math
from pathlib import Path

from seqtasks.errors import ConfigError

TRUE, FALSE = ("true", "yes", "1"), ("false", "no", "0")


def _positive(value):
    return value > 0


def _rate(value):
    return 0.0 <= value < 1.0


# name -> (type, check of a value, what the check means, default sampling of a range)
PARAMETERS = {
    "cell": (str, None, "", None),
    "units": (int, _positive, "positive", "linear"),
    "depth": (int, _positive, "positive", "linear"),
    "bidirectional": (bool, None, "", None),
    "dropout": (float, _rate, "in [0, 1)", "linear"),
    "learning_rate": (float, _positive, "positive", "log"),
    "clipnorm": (float, _positive, "positive", "log"),
    "embedding_dim": (int, _positive, "positive", "linear"),
    "attention": (str, None, "", None),
    "pooling": (str, None, "", None),
}


def _scalar(name, value):
    """`value` (Python or text) as the parameter's type, checked; ConfigError otherwise."""
    kind, check, meaning, _ = PARAMETERS[name]
    if isinstance(value, str):
        text = value.strip()
        if kind is bool:
            if text.lower() not in TRUE + FALSE:
                raise ConfigError(f"{name}: {value!r} is not true or false")
            value = text.lower() in TRUE
        elif kind in (int, float):
            try:
                value = kind(text)
            except ValueError:
                article = "an integer" if kind is int else "a number"
                raise ConfigError(f"{name}: {value!r} is not {article}") from None
        else:
            value = text
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{name}: {value!r} is not of type {kind.__name__}")
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{name}: {value!r} is not a finite number")
    if check is not None and not check(value):
        raise ConfigError(f"{name}: {value!r} must be {meaning}")
    return value


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


def normalize(name, spec, choices=None):
    """A spec in its canonical form, every value checked.

    Returns ``{"values": [...]}`` (one value: fixed) or
    ``{"min": lo, "max": hi, "sampling": s}`` (plus ``"step"`` when given).

    Args:
        name: the hyperparameter (a key of `PARAMETERS`).
        spec: a value, a list of values, a range dict, or command-line text.
        choices: the values a text parameter may take (e.g. the cell names).
    """
    if name not in PARAMETERS:
        raise ConfigError(f"{name!r} is not a hyperparameter seqtasks can search; "
                          f"choose among {', '.join(PARAMETERS)}")
    if isinstance(spec, str):
        spec = parse_text(spec)
    if isinstance(spec, dict) and set(spec) == {"values"}:
        spec = spec["values"]  # the canonical form of a choice
    if isinstance(spec, dict):
        return _normalize_range(name, spec)
    values = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if not values:
        raise ConfigError(f"{name}: give at least one value")
    values = [_scalar(name, value) for value in values]
    if choices is not None:
        for value in values:
            if value not in choices:
                raise ConfigError(f"{name}: {value!r} is not one of {', '.join(map(str, choices))}")
    return {"values": list(dict.fromkeys(values))}


def _normalize_range(name, spec):
    kind, _, _, default_sampling = PARAMETERS[name]
    if kind not in (int, float):
        raise ConfigError(f"{name}: a range needs a numeric hyperparameter")
    unknown = set(spec) - {"min", "max", "step", "sampling"}
    if unknown or not {"min", "max"} <= set(spec):
        raise ConfigError(f"{name}: a range has keys min, max and optionally step, sampling")
    low, high = _scalar(name, spec["min"]), _scalar(name, spec["max"])
    if low > high:
        raise ConfigError(f"{name}: min {low} is above max {high}")
    sampling = spec.get("sampling", default_sampling)
    if sampling not in ("linear", "log"):
        raise ConfigError(f"{name}: sampling must be linear or log, got {sampling!r}")
    if sampling == "log" and low <= 0:
        raise ConfigError(f"{name}: log sampling needs min > 0")
    canonical = {"min": low, "max": high, "sampling": sampling}
    if spec.get("step") is not None:
        try:
            step = kind(spec["step"])
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: step {spec['step']!r} is not a number") from None
        if not step > (1 if sampling == "log" else 0):
            raise ConfigError(f"{name}: step must be > {1 if sampling == 'log' else 0} "
                              f"with {sampling} sampling")
        canonical["step"] = step
    return canonical


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


def resolve(defaults, changes, choices, fixed=None, allowed=None):
    """The space to search: `defaults` updated by `changes`, in canonical form.

    Args:
        defaults: the recipe's default space (name -> spec).
        changes: name -> spec to add or replace (from a space file and the flags).
        choices: name -> the allowed values of a text parameter (cell, attention, pooling).
        fixed: name -> the only value the recipe's architecture allows (a language
            model is never bidirectional); changing it to anything else is an error.
        allowed: the names the recipe can search (default: all of `PARAMETERS`).
    """
    fixed = fixed or {}
    allowed = tuple(allowed or PARAMETERS)
    space = {}
    for name, spec in {**defaults, **changes}.items():
        if name not in allowed:
            raise ConfigError(f"{name!r} is not a hyperparameter this recipe can search; "
                              f"choose among {', '.join(allowed)}")
        canonical = normalize(name, spec, choices.get(name))
        if name in fixed and canonical != {"values": [fixed[name]]}:
            if name in changes:
                raise ConfigError(f"{name}: this recipe allows only {fixed[name]!r}")
            canonical = {"values": [fixed[name]]}
        space[name] = canonical
    return space


def declare(hp, name, spec, default=None):
    """Declares `name` on a `keras_tuner.HyperParameters` and returns its value for the trial.

    `default` (the recipe's own value) is where a grid search starts; it is used when the
    spec contains it.
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
