"""Turning encoded sequences into model inputs: padding, length-bucketed batches, a bounded
set of batch shapes for backends that compile per shape (JAX), LM windows (random, or
sequential for stateful training).

Example:

>>> pad([[5, 6, 7], [8]])
array([[5, 6, 7],
       [8, 0, 0]], dtype=int32)
"""

import dataclasses

import keras
import numpy as np

from seqtasks.allocator import keep_freed_memory
from seqtasks.errors import ConfigError


def pad(sequences, maxlen=None, truncating="post", padding="post", value=0):
    """Pads (and truncates) integer sequences into an int32 matrix.

    A thin wrapper of `keras.utils.pad_sequences` with the defaults that suit RNNs with
    masking: padding and truncation at the end.

    Example:

    >>> pad([[1, 2, 3], [4]], maxlen=2)
    array([[1, 2],
           [4, 0]], dtype=int32)
    """
    return keras.utils.pad_sequences(
        sequences, maxlen=maxlen, dtype="int32", padding=padding, truncating=truncating, value=value
    )


def length_groups(lengths, batch_size, rng=None, pool_batches=50):
    """Batches of indices whose sequences have similar lengths, so little goes to padding.

    With a NumPy `rng` (training) the indices are shuffled, cut into pools of
    `pool_batches` batches, each pool sorted by length and cut into batches, and the
    batches shuffled: a new order on every call. Without one (evaluation) the indices
    are sorted by length (stably) and cut into batches.

    Example:

    >>> length_groups([5, 1, 4, 2], batch_size=2)
    [[1, 3], [2, 0]]
    """
    lengths = np.asarray(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    order, pool, groups = rng.permutation(len(lengths)), pool_batches * batch_size, []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda k: lengths[k])
        groups += [[int(k) for k in chunk[i:i + batch_size]]
                   for i in range(0, len(chunk), batch_size)]
    return [groups[k] for k in rng.permutation(len(groups))]


def bucket(size, step=8):
    """The smallest bucket boundary that holds `size` steps: a multiple of `step` up to 64,
    then a geometric ladder (multiples of 16, each at most 1.25 times the last: 80, 96,
    112, 128, 160, 192, 240, 288, ...).

    A backend that compiles a step per input shape (JAX) compiles once per boundary a
    batch is padded to. Up to 64 steps padding costs at most 7 steps (sentences and
    texts of a few dozen words take 2 to 4 boundaries); beyond, under a quarter of the
    length, with a boundary count that grows with the log of the longest length.

    Example:

    >>> [bucket(n) for n in (1, 8, 9, 64, 65, 100, 1000)]
    [8, 8, 16, 64, 80, 112, 1008]
    >>> [bucket(n, step=16) for n in (1, 9, 17, 33)]
    [16, 16, 32, 48]
    """
    if size <= 64:
        return max(step, -(-size // step) * step)
    boundary = 64
    while boundary < size:
        boundary = boundary * 5 // 4 // 16 * 16
    return boundary


@dataclasses.dataclass(frozen=True)
class Padding:
    """How `pad_batch` pads the inputs of a batch.

    Attributes:
        values: the padding value of each input of a dict not padded with 0 (``{name:
            value}``; -1 for arrays of indices).
        like: ``{name: other}``: every free axis of input `name` is padded to the bucket
            of input `other`'s first free axis where that is longer, so the two change
            shape together: a tree's levels (heights, width) take the bucket of its
            nodes, one shape per node bucket, not one per combination of the three.
        step: the step of the `bucket` ladder up to 64: 8, or 16 for a model whose
            padded positions cost little (a tree model's loop runs over the real nodes
            only), so that JAX compiles fewer shapes.

    Example:

    >>> Padding({"children": -1}, like={"levels": "children"}, step=16).step
    16
    """

    values: dict = dataclasses.field(default_factory=dict)
    like: dict = dataclasses.field(default_factory=dict)
    step: int = 8


def compiles_per_shape():
    """Whether the backend compiles its train, test and predict steps once per input shape
    (JAX), so that batches should come in a few padded shapes (`pad_batch`). TensorFlow
    reads batches of any shape through `tf_dataset`; torch runs eagerly."""
    return keras.backend.backend() == "jax"


def pad_batch(batch, rows, free_axes, padding=Padding()):
    """`batch` with every free length padded up to its `bucket` and `rows` rows.

    Args:
        batch: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``; ``x`` an array or a dict of
            arrays.
        rows: the rows of the result: the batch's rows are followed by copies of its first
            row (real data, so no layer sees an empty sequence), whose sample weight is 0.
        free_axes: the axes of ``x`` whose size varies from batch to batch (the model's
            unknown input sizes): a tuple for an array, ``{name: tuple}`` for a dict.
        padding: the inputs' padding values, the inputs padded like others and the
            step of the buckets (`Padding`).

    Returns:
        ``x`` padded for a batch without targets; else ``(x, y, sample_weight)`` with every
        axis of ``y`` and ``sample_weight`` after the first padded (0), and a sample weight
        of 1 at each target (where the batch had none) and 0 on the added rows and steps.
        So a loss averaged over the weighted steps (``reduction="mean_with_sample_weight"``)
        and a weighted metric take the same values as on the batch itself.

    Example:

    >>> x, y, weight = pad_batch((np.array([[3, 4]]), np.array([1])), 2, (1,))
    >>> x.tolist(), y.tolist(), weight.tolist()
    ([[3, 4, 0, 0, 0, 0, 0, 0], [3, 4, 0, 0, 0, 0, 0, 0]], [1, 1], [1.0, 0.0])
    """
    x, *targets = batch if isinstance(batch, tuple) else (batch,)
    step = padding.step
    if isinstance(x, dict):
        longest = {name: np.shape(x[other])[free_axes[other][0]]
                   for name, other in padding.like.items() if name in x and other in x}
        x = {name: _padded(array, rows, free_axes[name], padding.values.get(name, 0), step,
                           longest.get(name, 0))
             for name, array in x.items()}
    else:
        x = _padded(x, rows, free_axes, 0, step)
    if not targets:
        return x
    y, weight = (*targets, None)[:2]
    count = len(y)
    weight = np.ones(np.shape(y), "float32") if weight is None else np.asarray(weight, "float32")
    weight = _padded(weight, count, range(1, weight.ndim), 0, step)
    weight = np.concatenate([weight, np.zeros((rows - count, *weight.shape[1:]), "float32")])
    return x, _padded(y, rows, range(1, np.ndim(y)), 0, step), weight


def _padded(array, rows, axes, value, step, at_least=0):
    """`array` padded with `value` to the `bucket` (of `step`) of each of its `axes` (of
    `at_least` where that is longer), then to `rows` rows by copies of its first row."""
    array = np.asarray(array)
    if len(array) > rows:
        raise ConfigError(f"a batch of {len(array)} rows does not fit in {rows}")
    widths = [(0, 0)] * array.ndim
    for axis in axes:
        widths[axis] = (0, bucket(max(array.shape[axis], at_least), step)
                        - array.shape[axis])
    array = np.pad(array, widths, constant_values=value)
    return np.concatenate([array, np.repeat(array[:1], rows - len(array), axis=0)])


class LengthBatches(keras.utils.PyDataset):
    """Batches of examples of similar lengths (`length_groups`), encoded on the fly.

    A Keras `PyDataset`: its length is known (so the first epoch shows its step count
    and Keras never runs out of data), and with `shuffle` every epoch has new batches.

    Args:
        examples: the examples, in any form `encode` takes.
        encode: ``encode(list of examples) -> batch`` (e.g. ``(inputs, targets)``,
            padded to the batch's longest sequence).
        lengths: the length of each example (what batches are grouped by).
        batch_size: examples per batch.
        shuffle: new batches every epoch (reproducibly from `seed`); otherwise sorted
            by length.
        seed: the shuffling seed.
        padding: how `pad_batch` pads the batches (`Padding`) where a backend compiles
            per shape.

    Example:

    >>> batches = LengthBatches([[1, 2], [3], [4, 5, 6]], pad, [2, 1, 3], batch_size=2,
    ...                         shuffle=False)
    >>> len(batches), batches[0].tolist()
    (2, [[3, 0], [1, 2]])
    """

    def __init__(self, examples, encode, lengths, batch_size, shuffle=True, seed=0,
                 padding=Padding()):
        super().__init__()
        if not len(examples):
            raise ConfigError("no examples to batch")
        if len(lengths) != len(examples):
            raise ConfigError(f"{len(examples)} examples but {len(lengths)} lengths")
        self.examples, self.encode, self.lengths = examples, encode, lengths
        self.batch_size, self.padding = batch_size, padding
        self.rng = np.random.default_rng(seed) if shuffle else None
        self.groups = length_groups(lengths, batch_size, self.rng)

    def __len__(self):
        return len(self.groups)

    def __getitem__(self, index):
        return self.encode([self.examples[k] for k in self.groups[index]])

    def on_epoch_end(self):
        if self.rng is not None:
            self.groups = length_groups(self.lengths, self.batch_size, self.rng)


class BucketedBatches(keras.utils.PyDataset):
    """The batches of a `LengthBatches` in a bounded set of shapes (`pad_batch`): every
    batch has ``batch_size`` rows (the last one's added rows weigh 0) and its free lengths
    padded to their `bucket`, so a backend that compiles per shape (JAX) compiles a few
    times, not once per batch length.

    Example:

    >>> batches = LengthBatches([[1], [2, 3], [4, 5, 6]], lambda c: (pad(c), pad(c)),
    ...                         [1, 2, 3], batch_size=2, shuffle=False)
    >>> [x.shape for x, _, _ in BucketedBatches(batches, free_axes=(1,))]
    [(2, 8), (2, 8)]
    """

    def __init__(self, batches, free_axes):
        super().__init__()
        self.batches, self.free_axes = batches, free_axes

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return pad_batch(self.batches[index], self.batches.batch_size, self.free_axes,
                         self.batches.padding)

    def on_epoch_end(self):
        self.batches.on_epoch_end()


def lm_random_batches(ids, seq_len, batch_size, seed=0):
    """Language-model batches of randomly sampled subsequences of one token stream.

    After a random start offset in `[0, seq_len)`, the stream is cut into
    non-overlapping subsequences of `seq_len` ids, which are shuffled; each is used
    once, so the result is one epoch. Targets are the inputs shifted by one step.

    Args:
        ids: the token stream, a 1-D sequence of ints.
        seq_len: the length of each subsequence (the BPTT truncation length).
        batch_size: subsequences per batch; leftovers that do not fill a batch are dropped.
        seed: the seed of the offset and the shuffle.

    Returns:
        `(inputs, targets)`: int32 arrays of shape `(num_batches * batch_size, seq_len)`,
        batch `k` being rows `k * batch_size` to `(k + 1) * batch_size`. Feed them to
        `model.fit(inputs, targets, batch_size=batch_size, shuffle=False)`.

    Example:

    >>> x, y = lm_random_batches(range(100), seq_len=5, batch_size=4, seed=0)
    >>> x.shape, bool((y == x + 1).all())
    ((16, 5), True)
    """
    rng = np.random.default_rng(seed)
    ids = _offset_stream(ids, seq_len, batch_size, rng)
    num_subsequences = (len(ids) - 1) // seq_len
    num_used = num_subsequences // batch_size * batch_size
    starts = rng.permutation(num_subsequences)[:num_used] * seq_len
    positions = starts[:, None] + np.arange(seq_len)
    return ids[positions], ids[positions + 1]


def lm_sequential_batches(ids, seq_len, batch_size, seed=0):
    """Language-model batches that continue each other, for `stateful=True` RNNs.

    After a random start offset in `[0, seq_len)`, the stream is split into
    `batch_size` contiguous rows, which are walked along in steps of `seq_len`: row `b`
    of batch `k + 1` starts exactly where row `b` of batch `k` ended, so a stateful RNN
    can carry its state from one batch to the next. Targets are the inputs shifted by
    one step.

    Args:
        ids: the token stream, a 1-D sequence of ints.
        seq_len: the number of steps per batch (the BPTT truncation length).
        batch_size: the number of parallel rows.
        seed: the seed of the start offset.

    Returns:
        `(inputs, targets)`: int32 arrays of shape `(num_batches * batch_size, seq_len)`,
        batch `k` being rows `k * batch_size` to `(k + 1) * batch_size`. Feed them to
        `model.fit(inputs, targets, batch_size=batch_size, shuffle=False)`.

    Example:

    >>> x, y = lm_sequential_batches(range(100), seq_len=5, batch_size=2, seed=0)
    >>> bool(x[2, 0] == x[0, -1] + 1)  # row 0 of batch 1 continues row 0 of batch 0
    True
    """
    ids = _offset_stream(ids, seq_len, batch_size, np.random.default_rng(seed))
    row_len = (len(ids) - 1) // batch_size
    num_batches = row_len // seq_len

    def batches(stream):
        rows = stream[: batch_size * row_len].reshape(batch_size, row_len)
        steps = rows[:, : num_batches * seq_len].reshape(batch_size, num_batches, seq_len)
        return steps.transpose(1, 0, 2).reshape(num_batches * batch_size, seq_len)

    return batches(ids), batches(ids[1:])


class WindowBatches(keras.utils.PyDataset):
    """Truncated-BPTT batches of random windows of a token stream, redrawn every epoch.

    Each epoch is `lm_random_batches` with the seed ``seed + epoch``: a new random start
    offset (so windows are cut at new places) and a new shuffle. With ``redraw=False``
    the same windows come every epoch (for validation). ``inputs`` and ``targets`` hold
    the current epoch's rows.

    Example:

    >>> batches = WindowBatches(np.arange(1000) % 7, seq_len=10, batch_size=4)
    >>> x, y = batches[0]
    >>> x.shape, bool(((x + 1) % 7 == y).all())
    ((4, 10), True)
    """

    def __init__(self, ids, seq_len, batch_size, seed=0, redraw=True):
        super().__init__()
        self.ids = np.asarray(ids, dtype="int32")
        self.seq_len, self.batch_size, self.seed = seq_len, batch_size, seed
        self.redraw, self.epoch = redraw, 0
        self.inputs, self.targets = self.draw(0)

    def draw(self, epoch):
        """``(inputs, targets)`` of `epoch`."""
        return lm_random_batches(self.ids, self.seq_len, self.batch_size, seed=self.seed + epoch)

    def __len__(self):
        if not self.redraw:
            return len(self.inputs) // self.batch_size
        # The fewest batches any start offset gives, so every epoch has the same length.
        return (len(self.ids) - self.seq_len) // self.seq_len // self.batch_size

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.inputs[rows], self.targets[rows]

    def on_epoch_end(self):
        if self.redraw:
            self.epoch += 1
            self.inputs, self.targets = self.draw(self.epoch)


class SequentialBatches(WindowBatches):
    """Batches that continue each other (`lm_sequential_batches`), for a stateful model.

    Row ``b`` of batch ``k + 1`` starts where row ``b`` of batch ``k`` ended; the batches
    come in order (train with ``shuffle=False``), the same every epoch. The model's
    states are reset by a callback
    (`seqtasks.models.language_model.ResetStates`), not here: a `tf.data` pipeline
    reads batches ahead of training, so a pass's first batch is read before the pass
    begins.

    Example:

    >>> batches = SequentialBatches(np.arange(100), seq_len=5, batch_size=2)
    >>> (first, _), (second, _) = batches[0], batches[1]
    >>> bool((second[:, 0] == first[:, -1] + 1).all())
    True
    """

    def __init__(self, ids, seq_len, batch_size, seed=0):
        super().__init__(ids, seq_len, batch_size, seed, redraw=False)

    def draw(self, epoch):
        return lm_sequential_batches(self.ids, self.seq_len, self.batch_size, seed=self.seed)


def _offset_stream(ids, seq_len, batch_size, rng):
    """`ids` as an int32 array from a random offset in `[0, seq_len)`.

    Checks the stream is long enough for at least one batch at any offset.
    """
    ids = np.asarray(ids, dtype="int32")
    if ids.ndim != 1:
        raise ConfigError(f"ids must be one stream (1-D), got shape {ids.shape}")
    needed = seq_len * (batch_size + 1)
    if len(ids) < needed:
        raise ConfigError(
            f"{len(ids)} ids are too few for a batch of {batch_size} x {seq_len} after a "
            f"random offset; need at least {needed}"
        )
    return ids[rng.integers(seq_len) :]


def tf_dataset(batches):
    """A `tf.data.Dataset` over a Keras `PyDataset` whose batches vary in shape.

    Keras turns a `PyDataset` into a `tf.data` pipeline whose element shapes it infers
    from the first two batches; when those happen to share a length, a later, longer
    batch fails ("yielded an element of shape (8, 7) where (None, 6) was expected").
    Here every dimension is left free, the cardinality is known (so progress bars know
    the step count) and `on_epoch_end` runs after each pass.

    Example:

    >>> batches = LengthBatches([[1], [2], [3, 4]], pad, [1, 1, 2], batch_size=2,
    ...                         shuffle=False)
    >>> [x.shape.as_list() for x in tf_dataset(batches)]
    [[2, 1], [1, 2]]
    """
    import tensorflow as tf

    def free(array):
        array = np.asarray(array)
        return tf.TensorSpec((None,) * array.ndim, tf.as_dtype(array.dtype))

    signature = tf.nest.map_structure(free, batches[0])

    def passes():
        keep_freed_memory()  # after TensorFlow's own malloc setting: see seqtasks.allocator
        for index in range(len(batches)):
            yield batches[index]
        batches.on_epoch_end()

    dataset = tf.data.Dataset.from_generator(passes, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))
    return dataset.prefetch(2)
