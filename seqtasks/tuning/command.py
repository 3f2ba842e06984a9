"""``seqtasks tune NAME ...``: the command line of `seqtasks.tuning.search`.

    seqtasks tune sentiment --tuner hyperband --epochs 9 --max-trials 20
    seqtasks tune tagging --units 32,64 --depth 1 --cell lstm,gru --max-trials 6
    seqtasks tune generation --space space.json --out runs/tune-gen

Three kinds of flags: the search's own (``--tuner``, ``--max-trials``, ``--out``, ...);
the search-space flags ``--cell``, ``--units``, ``--depth``, ``--bidirectional``,
``--dropout`` and ``--learning-rate``, each a SPEC (``VALUE``, ``A,B,C`` or
``MIN:MAX[:STEP]``, see `seqtasks.tuning.space`) that overrides ``--space``; and the
task's settings (those of ``seqtasks run NAME``), which fix what is not searched. A
trial has no time budget unless ``--max-seconds`` is given. A bad flag, value or space
file is one line on stderr and exit code 2:

>>> main("sentiment", ["--units", "32,64", "--max-trials", "4"])  # doctest: +SKIP
0
"""

import argparse
from pathlib import Path

from seqtasks.errors import ConfigError
from seqtasks.tasks import get_task
from seqtasks.tasks.config import (HelpFormatter, OneLineParser, add_config_arguments,
                                   config_from_arguments)
from seqtasks.tuning.hypermodels import objectives
from seqtasks.tuning.search import search
from seqtasks.tuning.space import load_file, searchable, spec_text, task_space
from seqtasks.tuning.tuners import TUNERS
from seqtasks.validation import positive_int

# The settings with a SPEC flag (the other searchable ones are searched through --space;
# as flags they are the task's and fix a value).
SPACE_FLAGS = ("cell", "units", "depth", "bidirectional", "dropout", "learning_rate")
# Task settings that are not flags of a search: its --out is the search folder, a search
# always resumes, and early stopping watches the objective.
NOT_SEARCH_SETTINGS = ("out", "resume", "monitor")


def positive_count(text):
    """The value of a flag that counts something: a positive integer ("3")."""
    try:
        return positive_int("value", int(text))
    except (ValueError, ConfigError):
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None


def build_parser(task_name):
    """The parser of ``seqtasks tune NAME``: every flag with its help and default.

    >>> build_parser("sentiment").parse_args(["--units", "8,16"]).space_units
    '8,16'
    """
    task = get_task(task_name)
    parser = OneLineParser(
        prog=f"seqtasks tune {task.NAME}", allow_abbrev=False, formatter_class=HelpFormatter,
        description=f"Hyperparameter search of the {task.NAME} task with keras-tuner.")
    _add_search_flags(parser.add_argument_group("search"), task)
    _add_space_flags(parser.add_argument_group(
        "search space", "SPEC: VALUE fixes, A,B,C chooses, MIN:MAX[:STEP] is a range; these "
                        "override --space"), task)
    settings = parser.add_argument_group(
        f"{task.NAME} settings", f"the values of what is not searched (as in seqtasks run "
                                 f"{task.NAME})")
    add_config_arguments(settings, task.Config,
                         skip=(*NOT_SEARCH_SETTINGS, *SPACE_FLAGS, *task.FIXED))
    parser.set_defaults(max_seconds=None)  # trials cut short are not comparable
    return parser


def _add_search_flags(group, task):
    group.add_argument("--tuner", choices=tuple(TUNERS), default="random",
                       help="keras-tuner's search algorithm")
    group.add_argument("--max-trials", type=positive_count, default=10, metavar="N",
                       help="trials to run (also Hyperband's cap; its brackets follow from "
                            "--epochs, its max_epochs)")
    group.add_argument("--executions-per-trial", type=positive_count, default=1, metavar="N",
                       help="models trained per trial (the objective is their mean)")
    group.add_argument("--objective", choices=objectives(task), default=task.OBJECTIVE,
                       help="the metric to optimise; early stopping watches it too")
    group.add_argument("--out", dest="folder", type=Path, metavar="DIR",
                       default=Path("runs") / f"tune-{task.NAME}",
                       help="search folder: trials.csv, trials.png, best/ (a run folder), "
                            "search.json and keras_tuner/")
    group.add_argument("--space", type=Path, metavar="FILE", default=None,
                       help="JSON file of hyperparameter -> value, [values] or "
                            "{min, max[, step, sampling]}")
    group.add_argument("--overwrite", action="store_true",
                       help="start again, deleting the search in --out (otherwise: resume it)")
    group.add_argument("--retrain", action="store_true",
                       help="train the best hyperparameters again from scratch for best/")
    group.add_argument("--max-consecutive-failures", type=positive_count, default=3, metavar="N",
                       help="stop the search after this many failed trials in a row")


def _add_space_flags(group, task):
    """A SPEC flag for each of `SPACE_FLAGS` the task can search; its default (shown, not
    set: a flag given overrides --space) is the task's default space."""
    parameters, defaults = searchable(task), task_space(task)
    config_fields = task.Config.__dataclass_fields__
    for name in SPACE_FLAGS:
        if name in parameters:
            help_text = config_fields[name].metadata["help"]
            group.add_argument("--" + name.replace("_", "-"), dest=f"space_{name}",
                               metavar="SPEC", default=argparse.SUPPRESS,
                               help=f"{help_text} (default: {spec_text(defaults[name])})")


def space_changes(args):
    """The --space file's specs, overridden by the search-space flags given."""
    changes = load_file(args.space) if args.space else {}
    return {**changes, **{name: getattr(args, f"space_{name}") for name in SPACE_FLAGS
                          if hasattr(args, f"space_{name}")}}


def main(task_name, argv):
    """Parses `argv` (the flags after ``seqtasks tune NAME``) and runs the search; returns 0.

    A bad flag, spec or space file prints one line and exits with code 2; errors found
    later (another search's folder, too many failed trials) raise `SeqtasksError`, which
    ``seqtasks`` prints as one line.
    """
    task = get_task(task_name)
    parser = build_parser(task.NAME)
    args = parser.parse_args(argv)
    try:
        space = task_space(task, space_changes(args))
        config = config_from_arguments(task.Config, args)
    except ConfigError as error:
        parser.error(str(error))
    search(task.NAME, config, space=space, tuner=args.tuner, max_trials=args.max_trials,
           executions_per_trial=args.executions_per_trial, objective=args.objective,
           out=args.folder, overwrite=args.overwrite, retrain=args.retrain,
           max_consecutive_failures=args.max_consecutive_failures)
    return 0
