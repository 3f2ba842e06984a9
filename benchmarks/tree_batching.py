"""Level batching of the Tree-LSTM: a training epoch over batches of trees against the same
trees one at a time.

`seqtasks.layers.TreeLSTM` computes the nodes of equal height across a whole batch in one
step, so a batch costs as many steps as its tallest tree. Fed one tree at a time, the same
layer takes as many steps per tree, and an epoch as many batches as trees. Both modes
train the same model (`seqtasks.tasks.trees`'s defaults) on the same trees in one `fit`
each, as a run does, one after the other; each fit's first epoch is a warm-up (tracing)
and is not timed. The script prints each mode's median epoch time and the ratio
one-at-a-time / batched.

    python benchmarks/tree_batching.py                                  # SST trees
    python benchmarks/tree_batching.py --data data/trees --trees 300 --rounds 3
"""

import argparse
import statistics
import sys
from pathlib import Path

import keras

from epoch_times import EpochTimes

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sst_trees"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="a folder with train.txt of bracketed trees (default: the "
                             "shared SST trees)")
    parser.add_argument("--trees", type=int, default=400, help="training trees per epoch")
    parser.add_argument("--batch", type=int, default=25, help="trees per batch when batched")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per mode")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    train = args.data / "train.txt"
    if not train.is_file():
        print(f"skipped: {train} is missing (the shared data folder is absent)")
        return 0
    from seqtasks.data.batching import tf_dataset
    from seqtasks.data.trees import read_trees
    from seqtasks.tasks import trees as task

    keras.utils.set_random_seed(0)
    sample = read_trees(train)[:args.trees]
    config = task.Config(batch_size=args.batch, verbose=0)
    preprocessor = task.Preprocessor.fit(sample, composition=config.composition)
    data = task.Data({"train": sample}, {}, preprocessor, None, None)
    modes = {"batched": args.batch, "one at a time": 1}
    models = {mode: task.build(config, data) for mode in modes}
    batches = {mode: task.node_batches(preprocessor, sample, size, seed=0)
               for mode, size in modes.items()}
    times = {}
    for mode in modes:
        epochs = EpochTimes()
        models[mode].fit(tf_dataset(batches[mode]), epochs=args.rounds + 1, verbose=0,
                         callbacks=[epochs])
        times[mode] = epochs.seconds[1:]  # the first epoch traces the training step
    heights = sum(tree.height() + 1 for tree in sample)
    nodes = sum(tree.size() for tree in sample)
    print(f"{len(sample)} trees, {nodes} nodes, {heights} tree heights in all; "
          f"batch {args.batch}, median of {args.rounds} epochs after a warm-up")
    for mode in modes:
        print(f"{mode:>14}: {statistics.median(times[mode]):7.2f} s per epoch "
              f"({len(batches[mode])} batches)")
    ratio = statistics.median(times["one at a time"]) / statistics.median(times["batched"])
    print(f"batched is {ratio:.1f}x faster than one tree at a time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
