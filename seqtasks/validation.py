"""Argument checks shared by cells, layers, task configs and search spaces.

Each check returns the value in its canonical type or raises `ConfigError` naming the
argument, the way Keras's own layers word it:

>>> positive_int("units", 8)
8
>>> positive_int("units", True)
Traceback (most recent call last):
...
seqtasks.errors.ConfigError: units must be a positive integer, got True
>>> rate("dropout", 0.5)
0.5
"""

import numbers

from seqtasks.errors import ConfigError


def positive_int(name, value):
    """`value` as an int > 0 (NumPy integers accepted, booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(name, value):
    """`value` as an int >= 0 (NumPy integers accepted, booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ConfigError(f"{name} must be zero or a positive integer, got {value!r}")
    return int(value)


def positive_number(name, value):
    """`value` as a float > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def non_negative_number(name, value):
    """`value` as a float >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ConfigError(f"{name} must be zero or more, got {value!r}")
    return float(value)


def rate(name, value):
    """`value` as a float in [0, 1) (a dropout rate, a moving-average momentum)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ConfigError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def one_of(name, value, choices):
    """`value` if it is one of `choices`."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value
