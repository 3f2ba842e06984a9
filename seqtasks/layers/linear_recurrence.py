"""`linear_recurrence`: ``h_t = a_t * h_{t-1} + b_t`` over a whole sequence, the only
sequential part of the minimal cells (`seqtasks.cells.minimal`).

Two forms, equal up to rounding:

- ``"loop"``: `keras.ops.scan` over time, one multiply-add a step (on TensorFlow
  `seqtasks.layers.tf_linear`'s `tf.scan`, with a hand-written gradient).
- ``"scan"``: `keras.ops.associative_scan` of the pairs (a, b) under
  ``(a1, b1) . (a2, b2) = (a1 * a2, a2 * b1 + b2)``: O(log T) sequential depth, about
  twice the arithmetic. Not on TensorFlow, whose Keras `associative_scan` fails inside a
  `tf.function` (it compares dimensions in Python).

`FORMS` names the faster form per backend, measured on 2 CPU cores with
`benchmarks/rnn_throughput.py --length 512 --linear-form loop|scan`: on JAX the loop
trains minGRU at 76k tokens/s, the scan at 50k; other backends take the loop.

Example:

>>> import numpy as np
>>> a, b = np.full((1, 3, 1), 0.5, "float32"), np.ones((1, 3, 1), "float32")
>>> np.asarray(linear_recurrence(a, b, np.zeros((1, 1), "float32")))[0, :, 0].tolist()
[1.0, 1.5, 1.75]
"""

import keras
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.validation import one_of

FORMS = {"tensorflow": "loop", "jax": "loop"}


def linear_recurrence(a, b, initial, form=None, time_major=False):
    """The states h_1..h_T, (batch, time, units), of ``h_t = a_t * h_{t-1} + b_t`` from
    ``h_0 = initial`` (batch, units); a and b are (batch, time, units).

    Args:
        form: "loop" or "scan" (see the module docs); None: `FORMS` for the backend.
        time_major: a, b and the states are (time, batch, units) instead (faster for the
            loop: no transposes, and each step reads contiguous rows).
    """
    backend = keras.backend.backend()
    form = one_of("form", form or FORMS.get(backend, "loop"), ("loop", "scan"))
    if form == "scan" and backend == "tensorflow":
        raise ConfigError("form='scan' does not run on TensorFlow (Keras's associative_scan "
                          "fails inside tf.function): use form='loop'")
    time_axis = 0 if time_major else 1
    if form == "scan":
        def combine(earlier, later):
            return earlier[0] * later[0], later[0] * earlier[1] + later[1]

        products, sums = ops.associative_scan(combine, (a, b), axis=time_axis)
        return products * ops.expand_dims(initial, time_axis) + sums

    if not time_major:
        a, b = ops.moveaxis(a, 1, 0), ops.moveaxis(b, 1, 0)
    if backend == "tensorflow":
        from seqtasks.layers import tf_linear

        states = tf_linear.linear_recurrence(a, b, initial)
    else:
        def step(h, terms):
            h = terms[0] * h + terms[1]
            return h, h

        _, states = ops.scan(step, initial, (a, b))
    return states if time_major else ops.moveaxis(states, 0, 1)
