"""Task configs: one typed dataclass per task, the single source of every setting.

Each field is declared with `setting`: its default, help text, choices and check. The
command-line flags and their ``--help`` (`config_parser`), the values a hyperparameter
search leaves fixed, and ``config.json`` (`TaskConfig.to_json`) are all derived from it.
A task's config subclasses `TaskConfig` and changes a shared field's default with `like`:

>>> import dataclasses
>>> @dataclasses.dataclass
... class ToyConfig(TaskConfig):
...     units: int = like("units", 16)
>>> ToyConfig().units, ToyConfig(units=8).units
(16, 8)
>>> ToyConfig(units=0)
Traceback (most recent call last):
...
seqtasks.errors.ConfigError: units must be a positive integer, got 0
"""

import argparse
import dataclasses
import sys
import types
import typing
from pathlib import Path

from seqtasks.cells.registry import CELLS
from seqtasks.distribute import STRATEGIES
from seqtasks.errors import ConfigError
from seqtasks.validation import non_negative_int, one_of, positive_int, positive_number, rate


def setting(default, help, choices=None, check=None, parse=None):
    """A config field: `help` text, allowed `choices`, a `check(name, value)` from
    `seqtasks.validation`, and `parse(text)` for flags whose text is not the type's."""
    return dataclasses.field(default=default, metadata={
        "help": help, "choices": choices, "check": check, "parse": parse})


def like(name, default, **changes):
    """The `TaskConfig` field `name` with another default (and other metadata `changes`)."""
    metadata = {**TaskConfig.__dataclass_fields__[name].metadata, **changes}
    return dataclasses.field(default=default, metadata=metadata)


def float_list(text):
    """Parses ``"0.6,0.8,1.0"`` (a comma-separated list flag)."""
    try:
        return [float(value) for value in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")


@dataclasses.dataclass
class TaskConfig:
    """The settings every task has: data, the recurrent stack, training, the run folder."""

    data: Path | None = setting(
        None, "your data: a folder of train/valid/test files or a file, in the formats of "
              "seqtasks/data/FORMATS.md; default: the task's embedded dataset")
    cell: str = setting("lstm", "recurrent cell", choices=CELLS)
    units: int = setting(64, "hidden units of each recurrent layer (and direction)",
                         check=positive_int)
    depth: int = setting(1, "stacked recurrent layers", check=positive_int)
    bidirectional: bool = setting(False, "read the sequence in both directions")
    dropout: float = setting(0.0, "dropout rate on embeddings and between layers", check=rate)
    embedding_dim: int = setting(64, "width of the token embeddings", check=positive_int)
    epochs: int = setting(10, "most training epochs", check=positive_int)
    batch_size: int = setting(32, "examples per training batch", check=positive_int)
    max_seconds: float | None = setting(
        None, "stop training after this many seconds (none: no time budget)",
        check=positive_number)
    learning_rate: float = setting(1e-3, "Adam's learning rate", check=positive_number)
    clipnorm: float | None = setting(1.0, "clip gradients to this global norm (none: no "
                                          "clipping)", check=positive_number)
    ema: float = setting(0.0, "keep a moving average of the weights with this momentum "
                              "(e.g. 0.999) and validate, keep and save it; 0: off", check=rate)
    patience: int = setting(3, "early stopping: epochs without improvement", check=positive_int)
    seed: int = setting(0, "seeds the data split, the weights and the shuffling",
                        check=non_negative_int)
    out: Path | None = setting(None, "run folder, written atomically (default runs/TASK)")
    resume: bool = setting(False, "continue the interrupted run in OUT.partial")
    distribute: str = setting("none", "mirrored: data-parallel training over the GPUs (or "
                                      "the logical CPUs of $SEQTASKS_CPU_DEVICES); "
                                      "multiworker: over the processes of $TF_CONFIG, the "
                                      "chief writes the run (both TensorFlow); "
                                      "data-parallel: over jax.devices() (JAX)",
                              choices=STRATEGIES)
    verbose: int = setting(1, "0 quiet, 1 progress bars, 2 one line per epoch and "
                              "TensorFlow's own log", choices=(0, 1, 2))

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                if not _optional(hints[field.name]):
                    raise ConfigError(f"{field.name} must be set, got None")
                continue
            value = _coerce(field.name, value, _base_type(hints[field.name]))
            if field.metadata.get("choices") is not None:
                one_of(field.name, value, field.metadata["choices"])
            if field.metadata.get("check") is not None:
                value = field.metadata["check"](field.name, value)
            object.__setattr__(self, field.name, value)

    def replace(self, **changes):
        """A copy with `changes` (checked like the constructor's arguments)."""
        unknown = set(changes) - {field.name for field in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"{type(self).__name__} has no setting {sorted(unknown)[0]!r}")
        return dataclasses.replace(self, **changes)

    def to_json(self):
        """The settings as JSON values (paths as strings, unset values as None -> null)."""
        return {name: str(value) if isinstance(value, Path) else value
                for name, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, values):
        """The config of `to_json`'s dict; settings this version does not know are refused."""
        return cls().replace(**values)


def _optional(hint):
    return isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)


def _base_type(hint):
    """``int | None`` -> int; ``list[float]`` -> list."""
    if isinstance(hint, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return typing.get_origin(hint) or hint


def _coerce(name, value, kind):
    """`value` as `kind` where that loses nothing (an int for a float, a str for a Path)."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is Path and isinstance(value, str):
        return Path(value)
    if kind in (int, float, str, bool, list) and not isinstance(value, kind):
        if kind is int and hasattr(value, "__index__") and not isinstance(value, bool):
            return int(value)  # NumPy integers, as Keras accepts them
        raise ConfigError(f"{name} must be of type {kind.__name__}, got {value!r}")
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{name} must be of type int, got {value!r}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr and exit code 2."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                    argparse.RawDescriptionHelpFormatter):
    """Shows every flag's default, and descriptions as written."""


def flag_type(name, kind, check=None, parse=None, optional=False):
    """An argparse `type`: the text parsed as `kind` (or by `parse`), then `check(name,
    value)` from `seqtasks.validation`, its error worded for a flag; "none" unsets an
    `optional` setting.

    >>> flag_type("units", int, positive_int)("8")
    8
    """
    parse = parse or (kind if kind in (int, float, str, Path) else str)

    def convert(text):
        if optional and text.lower() in ("none", "null"):
            return None
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}")
        if check is not None:
            try:
                value = check(name, value)
            except ConfigError as error:
                raise argparse.ArgumentTypeError(str(error).removeprefix(f"{name} ")) from None
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


def add_config_arguments(parser, config_class, skip=()):
    """Adds a flag for every field of `config_class` (but `skip`) to `parser`."""
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        if field.name in skip:
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = _base_type(hints[field.name])
        help_text = field.metadata.get("help", "").replace("%", "%%")  # argparse formats it
        options = {"default": field.default, "help": help_text, "dest": field.name}
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **options)
            continue
        choices = field.metadata.get("choices")
        convert = flag_type(field.name, kind, field.metadata.get("check"),
                            field.metadata.get("parse"), _optional(hints[field.name]))
        parser.add_argument(flag, type=convert, choices=choices,
                            metavar=None if choices else field.name.upper(), **options)
    return parser


def config_parser(config_class, prog, description=""):
    """The parser of ``seqtasks run TASK``: one flag per setting, defaults in the help."""
    parser = OneLineParser(prog=prog, description=description, formatter_class=HelpFormatter)
    return add_config_arguments(parser, config_class)


def config_from_arguments(config_class, arguments):
    """The config of parsed arguments (an `argparse.Namespace` with its fields)."""
    names = {field.name for field in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in vars(arguments).items() if k in names})


def parse_config(task, argv=None):
    """The config of ``seqtasks run TASK`` flags `argv` (default: the command line's).

    Bad flags print one line and exit with code 2; ``--help`` shows every flag's help
    and default.
    """
    description = (task.__doc__ or "").split(">>>")[0].strip()
    parser = config_parser(task.Config, f"seqtasks run {task.NAME}", description)
    return config_from_arguments(task.Config, parser.parse_args(argv))
