"""The fused standard LSTM and GRU for the TensorFlow backend on CPU: one forward scan, a
hand-written backward.

TensorFlow's gradient of a `tf.while_loop` computes the weight gradients inside the
backward loop: a small matrix product per step for the kernel and one for the
recurrent kernel, each over only `batch` rows. Here the input projection of the whole
sequence is one matrix product before the loop, the backward loop computes only the
gradients that carry the recurrence and stores the pre-activation gradients, and the
gradients of the kernel, recurrent kernel, bias and inputs are then one large matrix
product each, over all ``time * batch`` rows. The cells' equations and the contracts of
`keras.src.backend.lstm` and `gru` are shared with `jax_fused` (`fused`, `fused_lstm`,
`fused_gru`).

Computes exactly what `keras.layers.LSTM`'s and `keras.layers.GRU`'s loops compute for
their standard cells, masks included (any mask, both directions: see `fused`); `lstm`
and `gru` raise NotImplementedError for what they do not support, like the backends'
fused implementations, and `Recurrent` then runs its per-step loop.
"""

import functools

import tensorflow as tf

from seqtasks.layers.fused import backward_step, forward_step, previous, rows, steps
from seqtasks.layers.fused_gru import run_gru
from seqtasks.layers.fused_lstm import run_lstm


def _forward(cell, projected, weights, initial_states, valid):
    """Runs the time-major projected inputs; returns all states and all saved values."""

    def step(carry, step_inputs):
        states, _ = carry
        return forward_step(cell, step_inputs["projected"], states, weights,
                            step_inputs.get("valid"))

    batch, units = tf.shape(initial_states[0])[0], initial_states[0].shape[-1]
    nothing_saved = tf.zeros((batch, cell.saved_blocks * units), projected.dtype)
    return tf.scan(step, steps(valid, projected=projected),
                   initializer=(initial_states, nothing_saved))


def _with_gradient(cell, valid):
    """The function (inputs, kernel, recurrent_kernel, bias, *initial_states) -> (the h
    carried through every step (time, batch, units), the last value of each other state)
    of `cell` over a time-major sequence whose steps `valid` (None: all) marks, with its
    hand-written gradient."""

    @tf.custom_gradient
    def sequence(inputs, kernel, recurrent_kernel, bias, *initial_states):
        time, batch = tf.shape(inputs)[0], tf.shape(inputs)[1]
        input_rows = rows(inputs)
        projected = tf.reshape(cell.project(input_rows, kernel, bias), (time, batch, -1))
        states, saved = _forward(cell, projected, cell.forward_weights(recurrent_kernel, bias),
                                 initial_states, valid)

        def grad(d_hs, *d_last_others):
            d_last_others = [tf.zeros_like(s) if d is None else d
                             for d, s in zip(d_last_others, initial_states[1:])]
            previous_states = tuple(map(previous, initial_states, states))
            weights = cell.backward_weights(recurrent_kernel)

            def step(carry, slices):
                d_states, _ = carry
                return backward_step(cell, d_states, slices, weights)

            d_previous, d_pre = tf.scan(
                step,
                steps(valid, d_h=d_hs,
                      **cell.backward_sequences(states, previous_states, saved)),
                initializer=((tf.zeros_like(initial_states[0]), *d_last_others),
                             tf.zeros_like(saved[0])),
                reverse=True,
            )
            # Weight and input gradients: one matrix product over all (time * batch) rows each.
            d_input_rows, *d_weights = cell.weight_gradients(
                input_rows, rows(d_pre), rows(saved), rows(previous_states[0]), kernel)
            return (tf.reshape(d_input_rows, tf.shape(inputs)), *d_weights,
                    *(d[0] for d in d_previous))

        return (states[0], *(s[-1] for s in states[1:])), grad

    return sequence


def _sequence(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid):
    """`_with_gradient` on the values of the weights: `tf.custom_gradient` takes tensors
    (and the mask, which has no gradient, stays outside its arguments)."""
    weights_and_states = (kernel, recurrent_kernel, bias, *initial_states)
    return _with_gradient(cell, valid)(inputs, *(tf.identity(w) for w in weights_and_states))


lstm = functools.partial(run_lstm, _sequence)
lstm.__doc__ = "The fused LSTM on TensorFlow, with `keras.src.backend.lstm`'s contract."
gru = functools.partial(run_gru, _sequence)
gru.__doc__ = "The fused GRU on TensorFlow, with `keras.src.backend.gru`'s contract."
