"""Synthetic tasks that need a long memory, as NumPy arrays (seeded, no global state).

* `adding_problem`: sum the two numbers that are marked somewhere in a long sequence
  (Hochreiter and Schmidhuber, 1997). Always answering 1.0 gives an MSE of 1/6 ≈ 0.167
  (`ADDING_BASELINE_MSE`, the variance of the sum of two U(0, 1) numbers).
* `copy_task`: read a few symbols, wait `delay` steps, then write them out again
  (the copy-memory task of Arjovsky et al., 2016).
* `random_sequences`: token sequences of random lengths, for reconstruction (autoencoders).

Example:

>>> x, y = adding_problem(4, length=10, seed=0)
>>> x.shape, y.shape
((4, 10, 2), (4, 1))
>>> bool(np.allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(axis=1)))
True
>>> x, y = copy_task(2, length=3, delay=5, seed=0)
>>> x.shape, bool((y[:, -3:] == x[:, :3]).all())
((2, 11), True)
"""

import numpy as np

from seqtasks.errors import ConfigError
from seqtasks.validation import positive_int

ADDING_BASELINE_MSE = 1.0 / 6.0


def adding_problem(n, length, seed=0):
    """`n` adding-problem sequences of `length` steps.

    Returns ``(x, y)``: x float32 (n, length, 2), channel 0 uniform numbers in [0, 1),
    channel 1 a marker that is 1 at exactly two steps (one in each half of the
    sequence) and 0 elsewhere; y float32 (n, 1), the sum of the two marked numbers.
    """
    n, length = positive_int("n", n), positive_int("length", length)
    if length < 2:
        raise ConfigError(f"length must be at least 2, got {length}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, length))
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    markers = np.zeros((n, length))
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    x = np.stack([values, markers], axis=-1).astype("float32")
    y = (values * markers).sum(axis=1, keepdims=True).astype("float32")
    return x, y


def copy_task(n, length=10, delay=50, symbols=8, seed=0):
    """`n` copy-after-delay sequences of ``2 * length + delay`` integer steps.

    Token 0 is the blank, 1..`symbols` are the symbols, ``symbols + 1`` is the "now
    write" marker. The input is `length` random symbols, blanks, the marker at step
    ``length + delay - 1``, then blanks; the target is blanks, then the `length`
    symbols over the last `length` steps. Returns ``(x, y)``, both int32
    (n, 2 * length + delay). Guessing a uniform symbol for the last `length` steps
    (and blanks before) costs a cross-entropy of ``length * log(symbols) / (2 * length + delay)``.
    """
    n, length = positive_int("n", n), positive_int("length", length)
    delay, symbols = positive_int("delay", delay), positive_int("symbols", symbols)
    rng = np.random.default_rng(seed)
    total = 2 * length + delay
    data = rng.integers(1, symbols + 1, (n, length))
    x = np.zeros((n, total), dtype="int32")
    y = np.zeros((n, total), dtype="int32")
    x[:, :length] = data
    x[:, length + delay - 1] = symbols + 1
    y[:, -length:] = data
    return x, y


def random_sequences(n, min_length, max_length, vocab_size, seed=0):
    """`n` sequences of token ids 1..``vocab_size - 1`` (0 is padding), right-padded.

    Lengths are uniform in [min_length, max_length]; returns int32 (n, max_length).

    >>> random_sequences(2, 2, 4, vocab_size=11, seed=0).shape
    (2, 4)
    """
    n = positive_int("n", n)
    min_length = positive_int("min_length", min_length)
    max_length = positive_int("max_length", max_length)
    vocab_size = positive_int("vocab_size", vocab_size)
    if min_length > max_length or vocab_size < 2:
        raise ConfigError(
            f"need min_length <= max_length and vocab_size >= 2, got "
            f"{min_length}, {max_length}, {vocab_size}"
        )
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, max_length + 1, n)
    ids = rng.integers(1, vocab_size, (n, max_length))
    ids[np.arange(max_length)[None, :] >= lengths[:, None]] = 0
    return ids.astype("int32")
