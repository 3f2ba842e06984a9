"""Spans of time: a sequence's steps cut into consecutive spans, so that TensorFlow runs
the large operations of one span (matrix products, element-wise passes) on one core
while a recurrence runs through the next span on the other (its executor runs
independent operations at once). Used by the fused backward pass (`tf_fused`) and the
minimal cells' layer (`Recurrent`).

Example:

>>> time_spans(10, 4)
[(0, 3), (3, 6), (6, 9), (9, 10)]
>>> time_spans(10, 4, shortest=6)
[(0, 6), (6, 10)]
>>> import numpy as np
>>> final_state(np.zeros((0, 2, 3)), np.ones((2, 3))).tolist()
[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
"""

from keras import ops


def time_spans(time, count, shortest=1):
    """(start, stop) bounds of at most `count` consecutive spans that cover `time` steps,
    each of at least `shortest` steps (but the last).

    A static length (an int) gives only non-empty spans; a dynamic one (a tensor) gives
    `count` spans with tensor bounds, of which the last ones are empty when the steps run
    out.
    """
    if isinstance(time, int):
        span = max(1, shortest, -(-time // count))
        return [(start, min(start + span, time)) for start in range(0, time, span)] or [(0, 0)]
    span = ops.maximum((time + count - 1) // count, shortest)
    return [(ops.minimum(k * span, time), ops.minimum((k + 1) * span, time))
            for k in range(count)]


def final_state(states, initial):
    """The last of the time-major `states`, or `initial` when they have no step."""
    length = ops.shape(states)[0]
    if isinstance(length, int):
        return states[-1] if length else initial
    return ops.cond(length > 0, lambda: states[-1], lambda: initial)
