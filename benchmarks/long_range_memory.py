"""Long-range memory: which cells learn the adding problem or the copy task, how far.

`--problem adding` (default): every cell (a `seqtasks.cells.CELLS` name) reads
adding-problem sequences of each length and predicts the sum of the two marked numbers
through a Dense readout of its last state; the loss is the test MSE, against the 0.167 of
always answering 1.0. `--problem copy`: every cell reads 10 symbols, waits a delay of
each length, and must write the symbols back after the "now" marker (a softmax at every
step); the loss is the test cross-entropy per step, against the one of guessing the
symbols uniformly. A run trains for `--epochs` over `--samples` sequences, or until its
`--max-seconds` are spent; "learned" means a loss below `--threshold` times the baseline.

    python benchmarks/long_range_memory.py --quick            # tiny settings, a few minutes
    python benchmarks/long_range_memory.py --cells elman,lstm,gru --lengths 50,100,200
    python benchmarks/long_range_memory.py --problem copy --lengths 20,50,100
"""

import argparse
import math
import os
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("tensorflow", "jax"), default=None,
                        help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    parser.add_argument("--problem", choices=("adding", "copy"), default="adding",
                        help="the adding problem, or the copy task (lengths are its delays)")
    parser.add_argument("--cells", default="elman,lstm,gru,gru-minimal")
    parser.add_argument("--lengths", default="50,100,200")
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--clipnorm", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=600.0,
                        help="wall-time budget of each (cell, length) run")
    parser.add_argument("--threshold", type=float, default=0.1,
                        help="learned: test loss below this fraction of the baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="small settings: lengths 20,50, 32 units, 4000 samples, "
                             "5 epochs, 60 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.lengths, args.units, args.samples, args.epochs, args.max_seconds = (
            "20,50", 32, 4000, 5, 60.0)
    args.cells = args.cells.split(",")
    args.lengths = [int(n) for n in args.lengths.split(",")]
    return args


COPY_LENGTH, COPY_SYMBOLS = 10, 8  # symbols to remember, alphabet size


def problem(keras, cell, length, args):
    """``(train, test, model, baseline loss)`` of one cell on `args.problem`."""
    from seqtasks.cells import make_cell
    from seqtasks.data.memory import ADDING_BASELINE_MSE, adding_problem, copy_task
    from seqtasks.layers import Recurrent
    from seqtasks.training import make_optimizer

    if args.problem == "adding":
        train, test = (adding_problem(n, length, seed=args.seed + k)
                       for k, n in enumerate((args.samples, 1000)))
        inputs = keras.Input((length, 2))
        outputs = keras.layers.Dense(1)(Recurrent(make_cell(cell, args.units))(inputs))
        loss, baseline = "mse", ADDING_BASELINE_MSE
    else:
        train, test = (copy_task(n, COPY_LENGTH, delay=length, symbols=COPY_SYMBOLS,
                                 seed=args.seed + k)
                       for k, n in enumerate((args.samples, 1000)))
        inputs = keras.Input((2 * COPY_LENGTH + length,), dtype="int32")
        x = keras.layers.Embedding(COPY_SYMBOLS + 2, 16)(inputs)
        x = Recurrent(make_cell(cell, args.units), return_sequences=True)(x)
        outputs = keras.layers.Dense(COPY_SYMBOLS + 1, activation="softmax")(x)
        loss = "sparse_categorical_crossentropy"
        baseline = COPY_LENGTH * math.log(COPY_SYMBOLS) / (2 * COPY_LENGTH + length)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=make_optimizer(args.learning_rate, args.clipnorm), loss=loss)
    return train, test, model, baseline


def run_one(keras, cell, length, args):
    """Trains one cell at one length; returns its row of the results table."""
    from seqtasks.training import TimeBudget

    keras.utils.set_random_seed(args.seed)
    (x, y), (x_test, y_test), model, baseline = problem(keras, cell, length, args)
    budget = TimeBudget(args.max_seconds)
    start = time.monotonic()
    history = model.fit(x, y, batch_size=args.batch, epochs=args.epochs, callbacks=[budget],
                        verbose=0)
    loss = float(model.evaluate(x_test, y_test, batch_size=256, verbose=0))
    return {
        "cell": cell, "length": length, "loss": loss, "baseline_ratio": loss / baseline,
        "learned": loss < args.threshold * baseline,
        "epochs": len(history.history["loss"]), "seconds": time.monotonic() - start,
        "stopped_by_budget": budget.exhausted,
    }


def main(argv=None):
    args = parse_args(argv)
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    import keras
    import pandas as pd

    rows = []
    for length in args.lengths:
        for cell in args.cells:
            rows.append(run_one(keras, cell, length, args))
            row = rows[-1]
            print(f"{cell:>12} T={length:<4} loss {row['loss']:.4f} "
                  f"({'learned' if row['learned'] else 'not learned'}, "
                  f"{row['epochs']} epochs, {row['seconds']:.0f} s)", file=sys.stderr)
    table = pd.DataFrame(rows)
    what = ("test MSE (baseline 0.167 = always 1.0)" if args.problem == "adding" else
            "test cross-entropy per step / the uniform guess's (columns: delays)")
    print(f"\n{args.problem} problem, keras backend {keras.backend.backend()}: {what}; "
          f"learned = below {args.threshold:g} x baseline")
    text = [f"{row.baseline_ratio if args.problem == 'copy' else row.loss:.4f} "
            f"{'yes' if row.learned else 'no'}" for row in table.itertuples()]
    print(table.assign(result=text).pivot(index="cell", columns="length", values="result")
          .loc[args.cells].to_string())
    return table


if __name__ == "__main__":
    main()
