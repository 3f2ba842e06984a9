"""What every recipe shares: its command-line flags, seeding, and one-line errors.

A recipe is a script with ``main(argv=None) -> int``:

    def main(argv=None):
        parser = recipe_parser("sentiment", __doc__, units=64, epochs=8)
        args = parser.parse_args(argv)
        with start_run(args) as work:
            ...  # load data, build, train, evaluate, save into `work`
        return 0

    if __name__ == "__main__":
        sys.exit(run_main(main))

`seqtasks run NAME ...` calls the same `main`.
"""

import argparse
import sys
import time
from pathlib import Path

import keras

from seqtasks.cells.registry import CELLS
from seqtasks.distribute import STRATEGIES, distribution_scope, split_cpu_from_environment
from seqtasks.errors import ConfigError, SeqtasksError
from seqtasks.runs import RunFolder
from seqtasks.training import fit


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


def rate(text):
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def recipe_parser(name, description, extra_cells=(), **defaults):
    """An argparse parser with the flags every recipe has; `defaults` sets the recipe's own."""
    d = {
        "cell": "lstm", "units": 64, "depth": 1, "bidirectional": False, "dropout": 0.0,
        "epochs": 10, "batch_size": 32, "max_seconds": None, "learning_rate": 1e-3,
        "clipnorm": 1.0, "ema": 0.0, "patience": 3, "seed": 0, **defaults,
    }
    parser = argparse.ArgumentParser(
        prog=f"seqtasks run {name}", description=(description or "").strip().split("\n")[0]
    )
    parser.add_argument("--data", type=Path, default=None,
                        help="your data (see data/README.md); default: the embedded dataset")
    parser.add_argument("--cell", choices=[*CELLS, *extra_cells], default=d["cell"])
    parser.add_argument("--units", type=positive_int, default=d["units"])
    parser.add_argument("--depth", type=positive_int, default=d["depth"])
    parser.add_argument("--bidirectional", action=argparse.BooleanOptionalAction,
                        default=d["bidirectional"])
    parser.add_argument("--dropout", type=rate, default=d["dropout"])
    parser.add_argument("--epochs", type=positive_int, default=d["epochs"])
    parser.add_argument("--batch-size", type=positive_int, default=d["batch_size"])
    parser.add_argument("--max-seconds", type=positive_float, default=d["max_seconds"],
                        help="stop training after this many seconds")
    parser.add_argument("--learning-rate", type=positive_float, default=d["learning_rate"])
    parser.add_argument("--clipnorm", type=positive_float, default=d["clipnorm"],
                        help="clip gradients to this global norm")
    parser.add_argument("--ema", type=rate, default=d["ema"],
                        help="keep a moving average of the weights with this momentum (e.g. "
                             "0.999) and validate, keep and save it; 0 (default): off")
    parser.add_argument("--patience", type=positive_int, default=d["patience"],
                        help="early-stopping patience in epochs")
    parser.add_argument("--seed", type=int, default=d["seed"])
    parser.add_argument("--out", type=Path, default=Path("runs") / name,
                        help="run folder (written atomically)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in OUT.partial")
    parser.add_argument("--distribute", choices=STRATEGIES, default="none",
                        help="mirrored: data-parallel training over the GPUs (or the logical "
                             "CPUs of $SEQTASKS_CPU_DEVICES)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    return parser


def raise_parser_errors(parser):
    """Makes `parser` raise `ConfigError` (one line, exit code 2 from the CLI) on bad flags
    instead of printing its usage and exiting."""

    def error(message):
        raise ConfigError(message)

    parser.error = error
    return parser


def start_run(args):
    """Seeds everything from ``args.seed`` and returns the run's `RunFolder` context."""
    split_cpu_from_environment()  # before TensorFlow starts (see seqtasks.distribute)
    keras.utils.set_random_seed(args.seed)
    return RunFolder(args.out, resume=args.resume)


def train_model(args, build_model, data, train, valid, work, monitor="val_loss"):
    """Builds the recipe's model and trains it with the flags every recipe has.

    ``build_model(args, data)`` runs under the ``--distribute`` strategy's scope (a no-op
    by default); `seqtasks.training.fit` then trains on `train`, validates on `valid` and
    checkpoints into `work`, with ``--epochs``, ``--max-seconds``, ``--patience`` and
    ``--verbose``, stopping early on (and keeping the best epoch by) `monitor`.
    Returns ``(model, history, seconds of training)``.
    """
    with distribution_scope(args.distribute):
        model = build_model(args, data)
    started = time.monotonic()
    history = fit(model, train, valid, work, epochs=args.epochs, max_seconds=args.max_seconds,
                  patience=args.patience, monitor=monitor, verbose=args.verbose)
    return model, history, time.monotonic() - started


def run_main(main, argv=None, prog=None):
    """Calls ``main(argv)``; a `SeqtasksError` becomes one line on stderr and exit code 2."""
    try:
        return main(argv) or 0
    except SeqtasksError as error:
        name = prog or Path(sys.argv[0]).name
        print(f"{name}: error: {error}", file=sys.stderr)
        return 2
