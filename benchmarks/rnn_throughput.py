"""Training-step throughput of seqtasks recurrent layers against Keras's built-ins.

One training step = forward, backward and an Adam update, compiled the way
`model.fit` compiles it on the chosen backend (tf.function on TensorFlow, jit on JAX).
Every layer is timed in the same run, in interleaved rounds (each of seqtasks' layers
right before its built-in peer), and the script prints tokens/s for each and the ratios
ours/built-in: the median over the rounds of each round's ratio (the two layers of a
pair timed one after the other, so a slow spell of a shared machine disturbs both) and
the ratio of the fastest rounds.

    python benchmarks/rnn_throughput.py --backend tensorflow
    python benchmarks/rnn_throughput.py --backend jax --batch 32 --length 200
    python benchmarks/rnn_throughput.py --length 512 --linear-form scan \
        --only "Recurrent(MinGRUCell),Recurrent(MinLSTMCell),keras GRU"
    python benchmarks/rnn_throughput.py --masked \
        --only "Recurrent(LSTMCell),keras LSTM,Recurrent(GRUCell),keras GRU"

With ``--masked`` the batch is right-padded: each sequence's length is drawn uniformly
from [longest/2, longest] (``--longest``, default: the length), the steps after it are
zeros, and a `keras.layers.Masking` layer gives every model the mask (tokens/s then
still count the padded steps). A longest below the length gives a batch padded past its
longest row, as `keras.utils.pad_sequences(maxlen=...)` pads every batch to one length:

    python benchmarks/rnn_throughput.py --masked --longest 50 \
        --only "Recurrent(LSTMCell),keras LSTM"

The minimal cells (`MinGRUCell`, `MinLSTMCell`) run as one input projection and a linear
recurrence whose form (`--linear-form loop|scan`, default: the backend's in
`seqtasks.layers.linear_recurrence.FORMS`) the script sets for the run.
"""

import argparse
import os
import statistics
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default=None,
                        help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--input-dim", type=int, default=128)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", default=None,
                        help="comma-separated subset of layer names to time")
    parser.add_argument("--linear-form", choices=("loop", "scan"), default=None,
                        help="the minimal cells' linear recurrence (default: the backend's)")
    parser.add_argument("--longest", type=int, default=None,
                        help="with --masked, the longest sequence (default: --length)")
    parser.add_argument("--masked", action="store_true",
                        help="right-padded batches, lengths uniform in [longest/2, longest]")
    return parser.parse_args(argv)


def candidates(keras, seqtasks):
    """Name -> layer factory; the built-ins are the peers the ratios compare against."""
    from seqtasks.cells import GRUCell, LSTMCell, MinGRUCell, MinLSTMCell
    from seqtasks.layers import Recurrent

    return {
        "Recurrent(LSTMCell)": lambda u: Recurrent(LSTMCell(u)),
        "Recurrent(GRUCell)": lambda u: Recurrent(GRUCell(u)),
        "Recurrent(GRUCell resetbefore)": lambda u: Recurrent(GRUCell(u, reset_after=False)),
        "Recurrent(MinGRUCell)": lambda u: Recurrent(MinGRUCell(u)),
        "Recurrent(MinLSTMCell)": lambda u: Recurrent(MinLSTMCell(u)),
        "RNN(LSTMCell)": lambda u: keras.layers.RNN(LSTMCell(u)),
        "keras LSTM": lambda u: keras.layers.LSTM(u),
        "keras GRU": lambda u: keras.layers.GRU(u),
        "keras GRU resetbefore": lambda u: keras.layers.GRU(u, reset_after=False),
    }


RATIOS = [
    ("Recurrent(LSTMCell)", "keras LSTM"),
    ("Recurrent(GRUCell)", "keras GRU"),
    ("Recurrent(GRUCell resetbefore)", "keras GRU resetbefore"),
    ("RNN(LSTMCell)", "keras LSTM"),
    ("Recurrent(MinGRUCell)", "keras GRU"),
    ("Recurrent(MinLSTMCell)", "keras GRU"),
]


def timing_order(names):
    """`names` in the order a round times them: each of seqtasks' layers right before its
    built-in peer (`RATIOS`), the rest after.

    >>> timing_order(["Recurrent(GRUCell)", "keras LSTM", "keras GRU", "Recurrent(LSTMCell)"])
    ['Recurrent(LSTMCell)', 'keras LSTM', 'Recurrent(GRUCell)', 'keras GRU']
    """
    paired = [name for pair in RATIOS for name in pair if set(pair) <= set(names)]
    order = list(dict.fromkeys(paired))
    return order + [name for name in names if name not in order]


def build_model(keras, layer, args):
    inputs = keras.Input((args.length, args.input_dim), batch_size=args.batch)
    hidden = keras.layers.Masking()(inputs) if args.masked else inputs
    outputs = keras.layers.Dense(1)(layer(hidden))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def main(argv=None):
    args = parse_args(argv)
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    import numpy as np
    import keras

    import seqtasks
    from seqtasks.layers import linear_recurrence

    if args.linear_form:
        linear_recurrence.FORMS[keras.backend.backend()] = args.linear_form
    form = linear_recurrence.FORMS.get(keras.backend.backend(), "loop")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.length, args.input_dim), dtype=np.float32)
    if args.masked:
        longest = min(args.longest or args.length, args.length)
        lengths = rng.integers(longest // 2, longest, size=args.batch, endpoint=True)
        x[np.arange(args.length)[None, :] >= lengths[:, None]] = 0.0
    y = rng.standard_normal((args.batch, 1), dtype=np.float32)
    chosen = candidates(keras, seqtasks)
    if args.only:
        names = args.only.split(",")
        unknown = sorted(set(names) - set(chosen))
        if unknown:
            print(f"rnn_throughput.py: --only: unknown layers {unknown}; choose among "
                  f"{', '.join(chosen)}", file=sys.stderr)
            return 2
        chosen = {name: chosen[name] for name in names}
    models = {}
    for name, factory in chosen.items():
        keras.utils.set_random_seed(0)
        models[name] = build_model(keras, factory(args.units), args)
        for _ in range(args.warmup):
            models[name].train_on_batch(x, y)

    times = {name: [] for name in timing_order(models)}
    for _ in range(args.rounds):
        for name in times:
            model = models[name]
            start = time.perf_counter()
            for _ in range(args.steps):
                model.train_on_batch(x, y)
            times[name].append(time.perf_counter() - start)

    tokens = args.batch * args.length * args.steps
    speed = {name: tokens / statistics.median(t) for name, t in times.items()}
    best = {name: tokens / min(t) for name, t in times.items()}
    print(f"backend={keras.backend.backend()} batch={args.batch} length={args.length} "
          f"input={args.input_dim} units={args.units} rounds={args.rounds} steps={args.steps} "
          f"linear form={form} masked={args.masked}"
          + (f" longest={args.longest}" if args.masked and args.longest else ""))
    for name, value in speed.items():
        print(f"{name:30s} {value:12,.0f} tokens/s (median)  {best[name]:12,.0f} (best)")
    for ours, peer in RATIOS:
        if ours in speed and peer in speed:
            pairs = statistics.median(p / o for o, p in zip(times[ours], times[peer]))
            print(f"ratio {ours} / {peer}: {pairs:.2f} (median of the rounds' ratios), "
                  f"{best[ours] / best[peer]:.2f} (best)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
