"""Turning encoded sequences into model inputs: padding, one-hot, tf.data and LM batches.

Example:

>>> pad([[5, 6, 7], [8]])
array([[5, 6, 7],
       [8, 0, 0]], dtype=int32)
"""

import keras
import numpy as np
import tensorflow as tf

from seqtasks.errors import ConfigError, DataError


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


def one_hot(ids, depth):
    """One-hot float32 vectors for integer ids, an alternative input to an Embedding.

    The pad id 0 becomes an all-zero vector, so `keras.layers.Masking(0.0)` still masks
    padded steps.

    Example:

    >>> one_hot([[2, 1, 0]], depth=3)[0]
    array([[0., 0., 1.],
           [0., 1., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= depth):
        raise ConfigError(f"ids must lie in [0, depth={depth}); found {ids.min()}..{ids.max()}")
    vectors = np.eye(depth, dtype="float32")[ids]
    vectors[..., 0] = 0.0
    return vectors


def make_dataset(inputs, targets=None, batch_size=32, shuffle=True, seed=0, bucket_boundaries=None):
    """A `tf.data.Dataset` of zero-padded batches of variable-length sequences.

    Args:
        inputs: a list of id sequences of any lengths.
        targets: None, one label per sequence (many-to-one), or one tag sequence per
            input of the same length (many-to-many, padded like the inputs).
        batch_size: sequences per batch.
        shuffle: shuffle the sequences (again each epoch), reproducibly from `seed`.
        seed: the shuffling seed.
        bucket_boundaries: sequence lengths at which to split the data into buckets
            (`tf.data.Dataset.bucket_by_sequence_length`), so each batch holds sequences
            of similar lengths and needs little padding. Each batch is padded only to
            its longest sequence either way.

    Returns:
        A dataset of `inputs` batches, or of `(inputs, targets)` batches.

    Example:

    >>> ds = make_dataset([[1, 2, 3], [4]], [[1, 1, 2], [2]], batch_size=2, shuffle=False)
    >>> x, y = next(iter(ds))
    >>> x.numpy().tolist(), y.numpy().tolist()
    ([[1, 2, 3], [4, 0, 0]], [[1, 1, 2], [2, 0, 0]])
    """
    if not len(inputs):
        raise ConfigError("inputs is empty")
    elements = _ragged(inputs)
    if targets is not None:
        elements = (elements, _checked_targets(inputs, targets))
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    # Slices of a RaggedTensor have a RaggedTensorSpec, which padded_batch rejects; an
    # identity map turns them back into plain tensors.
    dataset = dataset.map(_identity)
    if shuffle:
        dataset = dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    if bucket_boundaries:
        dataset = dataset.bucket_by_sequence_length(
            _first_length,
            bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
        )
    else:
        dataset = dataset.padded_batch(batch_size)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _identity(*elements):
    """Returns a dataset element unchanged (see `make_dataset`)."""
    return elements if len(elements) > 1 else elements[0]


def _first_length(sequence, *targets):
    """The bucketing key: the length of the input sequence."""
    return tf.shape(sequence)[0]


def _ragged(sequences):
    """The int sequences as an int32 RaggedTensor, one row per sequence."""
    lengths = [len(sequence) for sequence in sequences]
    values = np.fromiter(
        (i for sequence in sequences for i in sequence), dtype="int32", count=sum(lengths)
    )
    return tf.RaggedTensor.from_row_lengths(values, lengths)


def _checked_targets(inputs, targets):
    """Labels as an array, or tag sequences as a RaggedTensor, checked against `inputs`."""
    if len(targets) != len(inputs):
        raise DataError(f"{len(inputs)} input sequences but {len(targets)} targets")
    if np.ndim(targets[0]) == 0:
        return np.asarray(targets)
    for i, (sequence, tags) in enumerate(zip(inputs, targets, strict=True)):
        if len(sequence) != len(tags):
            raise DataError(f"sequence {i} has {len(sequence)} tokens but {len(tags)} tags")
    return _ragged(targets)


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
