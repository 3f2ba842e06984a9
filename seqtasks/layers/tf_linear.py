"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` on TensorFlow, with a hand-written
gradient.

TensorFlow's gradient of the forward `tf.scan` runs a backward `tf.while_loop` that
pops each step's saved values from stacks and differentiates every op of the step. The
recurrence's gradient is itself a linear recurrence run backwards,
``G_t = dh_t + a_{t+1} * G_{t+1}``, after which ``da_t = G_t * h_{t-1}`` and
``db_t = G_t`` are element-wise over the whole sequence: one multiply-add a step in each
direction (forward and backward of (512, 64, 256) about 2x faster than the autodiff on
2 CPU cores).

Example:

>>> a, b = tf.fill((3, 1, 1), 0.5), tf.ones((3, 1, 1))
>>> linear_recurrence(a, b, tf.zeros((1, 1)))[:, 0, 0].numpy().tolist()
[1.0, 1.5, 1.75]
"""

import tensorflow as tf


def _run(a, b, initial, reverse=False):
    return tf.scan(lambda h, terms: terms[0] * h + terms[1], (a, b), initializer=initial,
                   reverse=reverse)


def linear_recurrence(a, b, initial):
    """The states h_1..h_T (time, batch, units) of time-major `a` and `b` from `initial`
    (batch, units); any of them may be a variable (a stateful layer's state). T may be 0
    (`tf.scan` cannot stack no step whose shape is not fully known)."""
    a, b, initial = tf.identity(a), tf.identity(b), tf.identity(initial)
    if a.shape[0] is not None:
        return _with_gradient(a, b, initial) if a.shape[0] else b
    return tf.cond(tf.shape(a)[0] > 0, lambda: _with_gradient(a, b, initial), lambda: b)


@tf.custom_gradient
def _with_gradient(a, b, initial):
    states = _run(a, b, initial)

    def grad(d_states):
        # G_t, the gradient reaching h_t from its output and from h_{t+1}.
        a_next = tf.concat([a[1:], tf.zeros_like(a[:1])], 0)
        carried = _run(a_next, d_states, tf.zeros_like(initial), reverse=True)
        previous = tf.concat([initial[None], states[:-1]], 0)
        return carried * previous, carried, a[0] * carried[0]

    return states, grad
