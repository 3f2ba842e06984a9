"""``seqtasks tune NAME ...``: the command line of `seqtasks.tuning.search`.

    seqtasks tune sentiment --tuner hyperband --epochs 9 --max-trials 20
    seqtasks tune tagging --units 32,64 --depth 1 --cell lstm,gru --max-trials 6
    seqtasks tune generation --space space.json --max-chars 50000 --out runs/tune-gen

Flags that `seqtasks tune` does not know are the recipe's (``--max-chars``,
``--embedding-dim``, ...): they set what is not searched. A bad flag, value or space file
is one line on stderr and exit code 2.
"""

import argparse

from seqtasks.distribute import STRATEGIES
from seqtasks.errors import ConfigError
from seqtasks.recipe import positive_float, positive_int, raise_parser_errors
from seqtasks.tuning.hypermodels import HYPERMODELS
from seqtasks.tuning.search import search
from seqtasks.tuning.space import load_file
from seqtasks.tuning.tuners import TUNERS

# Flags that narrow or fix the default space, and the hyperparameter each one sets (the
# others, such as embedding_dim or attention, are searched through --space; as plain flags
# they are the recipe's and fix a value).
SPACE_FLAGS = {"--cell": "cell", "--units": "units", "--depth": "depth",
               "--bidirectional": "bidirectional", "--dropout": "dropout",
               "--learning-rate": "learning_rate"}


def build_parser(recipe):
    """The parser of ``seqtasks tune RECIPE``; its errors raise `ConfigError`."""
    parser = raise_parser_errors(argparse.ArgumentParser(
        prog=f"seqtasks tune {recipe}", allow_abbrev=False,
        description=f"Hyperparameter search of the {recipe} recipe with keras-tuner. Other "
                    f"flags are the recipe's (see seqtasks run {recipe} --help)."))
    parser.add_argument("--tuner", choices=tuple(TUNERS), default="random")
    parser.add_argument("--max-trials", type=positive_int, default=10)
    parser.add_argument("--executions-per-trial", type=positive_int, default=1,
                        help="models trained per trial (the objective is their mean)")
    parser.add_argument("--objective", default=None,
                        help=f"metric to optimise (default {HYPERMODELS[recipe].objective})")
    parser.add_argument("--out", default=None, help=f"search folder (default runs/tune-{recipe})")
    parser.add_argument("--data", default=None, help="the recipe's data (default: embedded)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="epochs per trial (Hyperband: the most); default: the recipe's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=positive_float, default=None,
                        help="wall-time budget of each trial (default: none)")
    parser.add_argument("--space", default=None,
                        help="JSON file of hyperparameter -> value, [values] or "
                             "{min, max[, step, sampling]}")
    space = parser.add_argument_group(
        "search space", "VALUE fixes, A,B,C chooses, MIN:MAX[:STEP] is a range; these "
                        "override --space")
    for flag, name in SPACE_FLAGS.items():
        space.add_argument(flag, dest=f"space_{name}", metavar="SPEC", default=None)
    parser.add_argument("--overwrite", action="store_true",
                        help="start again, deleting the search in OUT (default: resume it)")
    parser.add_argument("--retrain", action="store_true",
                        help="train the best hyperparameters again from scratch for best/")
    parser.add_argument("--distribute", choices=STRATEGIES, default="none",
                        help="train every trial data-parallel (see seqtasks run --help)")
    parser.add_argument("--max-consecutive-failures", type=positive_int, default=3)
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    return parser


def main(recipe, argv):
    """Parses `argv`, runs the search; returns the exit code (errors raise ConfigError)."""
    if recipe not in HYPERMODELS:
        raise ConfigError(f"no recipe {recipe!r}; choose one of {', '.join(HYPERMODELS)}")
    args, recipe_args = build_parser(recipe).parse_known_args(argv)
    space = {}
    if args.space:
        space.update(load_file(args.space))
    space.update({name: getattr(args, f"space_{name}") for name in SPACE_FLAGS.values()
                  if getattr(args, f"space_{name}") is not None})
    search(recipe, data=args.data, space=space, tuner=args.tuner, max_trials=args.max_trials,
           executions_per_trial=args.executions_per_trial, objective=args.objective,
           epochs=args.epochs, out=args.out, seed=args.seed, max_seconds=args.max_seconds,
           recipe_args=recipe_args, overwrite=args.overwrite, retrain=args.retrain,
           distribute=args.distribute, max_consecutive_failures=args.max_consecutive_failures,
           verbose=args.verbose)
    return 0
