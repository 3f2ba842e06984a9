"""Epoch time of each task's default model on seqtasks' layers against the same model on
Keras's built-in LSTM and GRU layers.

For sentiment (BiGRU), tagging (BiLSTM + CRF) and translation (BiGRU/BiLSTM encoder and
decoder), the script builds the task's default model twice on the same data (the
embedded dataset, or ``--data`` for one task): as the task builds it, with `Recurrent`
over seqtasks cells (fused where it can be), and with every such layer replaced by
`keras.layers.LSTM`/`GRU` of the same cell settings (the weights have the same layout).
Each model trains in one `fit` on the task's own batches (as a run feeds them), a
warm-up epoch (tracing) then ``--rounds`` timed epochs; the two models alternate fit by
fit, and the script prints each one's median epoch time and the ratio built-in / ours
(above 1: seqtasks is faster), the median of the pairs' ratios (epoch k of a fit of
ours against epoch k of the built-ins' fit right after it).

    python benchmarks/task_epochs.py
    python benchmarks/task_epochs.py --only tagging --rounds 5
    python benchmarks/task_epochs.py --only translation --data ../shared/data/multi30k \\
        --options "source_lang=en,target_lang=de"
    KERAS_BACKEND=jax python benchmarks/task_epochs.py
"""

import argparse
import contextlib
import importlib
import statistics
import sys
from pathlib import Path

import keras

from epoch_times import EpochTimes

TASKS = ("sentiment", "tagging", "translation")
# The modules that build task models from `Recurrent` (patched for the built-in variant).
BUILDERS = ("seqtasks.layers.stack", "seqtasks.models.translator")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(TASKS),
                        help=f"comma-separated tasks among {', '.join(TASKS)}")
    parser.add_argument("--data", type=Path, default=None,
                        help="the task's data (default: its embedded dataset); one task only")
    parser.add_argument("--options", default="",
                        help="more config settings, NAME=VALUE,... (e.g. source_lang=en)")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per model and fit")
    parser.add_argument("--fits", type=int, default=2,
                        help="fits per model, alternating between the two models")
    return parser.parse_args(argv)


def builtin_layer(cell, **kwargs):
    """`keras.layers.LSTM`/`GRU` with the settings of a seqtasks `LSTMCell`/`GRUCell`."""
    from seqtasks.layers.recurrent import Recurrent

    shared = {"units": cell.units, "dropout": cell.dropout,
              "recurrent_dropout": cell.recurrent_dropout}
    kind = type(cell).__name__
    if kind == "LSTMCell" and cell.is_standard():
        return keras.layers.LSTM(**shared, **kwargs)
    if kind == "GRUCell" and cell.is_standard():
        return keras.layers.GRU(**shared, reset_after=cell.reset_after, **kwargs)
    return Recurrent(cell, **kwargs)


@contextlib.contextmanager
def builtin_layers():
    """Within it, task models are built from `builtin_layer` instead of `Recurrent`."""
    modules = [importlib.import_module(name) for name in BUILDERS]
    originals = [module.Recurrent for module in modules]
    for module in modules:
        module.Recurrent = builtin_layer
    try:
        yield
    finally:
        for module, original in zip(modules, originals):
            module.Recurrent = original


def parse_options(text):
    """``"a=1,b=x"`` -> ``{"a": "1", "b": "x"}`` (the config converts the values)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"--options: expected NAME=VALUE,..., got {text!r}")
    return dict(pairs)


def time_task(name, args):
    """``{"ours": [seconds], "keras": [seconds]}`` of the timed epochs of task `name`."""
    from seqtasks.training import feed

    task = importlib.import_module(f"seqtasks.tasks.{name}")
    config = task.Config(data=args.data, verbose=0, **parse_options(args.options))
    data = task.prepare(config)
    builds = {"ours": contextlib.nullcontext, "keras": builtin_layers}
    times = {variant: [] for variant in builds}
    for _ in range(args.fits):
        for variant, context in builds.items():
            keras.utils.set_random_seed(0)
            with context():
                model = task.build(config, data)
            epochs = EpochTimes()
            model.fit(feed(model, data.train), epochs=args.rounds + 1, verbose=0,
                      callbacks=[epochs])
            times[variant] += epochs.seconds[1:]  # the first epoch traces the training step
    return times


def main(argv=None):
    args = parse_args(argv)
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(TASKS))
    if unknown or (args.data is not None and len(names) != 1):
        raise SystemExit(f"--only takes tasks among {', '.join(TASKS)} (one with --data), "
                         f"got {args.only!r}")
    print(f"backend {keras.backend.backend()}; median of {args.rounds} epochs x {args.fits} "
          f"fits per model after a warm-up epoch each")
    print(f"{'task':<12} {'ours s/epoch':>13} {'keras s/epoch':>14} {'keras / ours':>13}")
    for name in names:
        times = time_task(name, args)
        ours, theirs = statistics.median(times["ours"]), statistics.median(times["keras"])
        ratio = statistics.median(k / o for o, k in zip(times["ours"], times["keras"]))
        print(f"{name:<12} {ours:>13.2f} {theirs:>14.2f} {ratio:>13.2f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
