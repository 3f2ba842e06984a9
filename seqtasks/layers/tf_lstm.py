"""A fused standard LSTM for the TensorFlow backend on CPU: one forward scan, a hand-written backward.

TensorFlow's gradient of a `tf.while_loop` computes the weight gradients inside the
backward loop: a small matrix product per step for the kernel and one for the
recurrent kernel, each over only `batch` rows. Here the input projection of the whole
sequence is one matrix product before the loop, the backward loop computes only the
gradient that carries the recurrence (``dz @ recurrent_kernel.T``) and stores the
gate gradients ``dz``, and the gradients of the kernel, recurrent kernel, bias and
inputs are then one large matrix product each, over all ``time * batch`` rows. The
gate equations and the `keras.src.backend.lstm` contract are shared with `jax_lstm`
(`fused_lstm`).

Computes exactly what `keras.layers.LSTM`'s loop computes for its standard cell, masks
included (any mask, both directions: see `fused_lstm`); `lstm` raises
NotImplementedError for what it does not support, like the backends' fused
implementations, and `Recurrent` then runs its per-step loop.
"""

import functools

import tensorflow as tf

from seqtasks.layers.fused_lstm import backward_step, masked_cell_step, run_lstm, steps


def _forward(projected, recurrent_kernel, h0, c0, valid):
    """Runs the time-major projected inputs; returns all h, all c and all activated gates."""

    def step(carry, step_inputs):
        h, c, _ = carry
        z = step_inputs["z"] + tf.matmul(h, recurrent_kernel)
        return masked_cell_step(z, h, c, step_inputs.get("valid"))

    return tf.scan(step, steps(valid, z=projected),
                   initializer=(h0, c0, tf.zeros_like(projected[0])))


def _lstm_sequence(valid):
    """The function (inputs, kernel, recurrent_kernel, bias, h0, c0) -> (the h carried
    through every step (time, batch, units), final c) of a time-major sequence whose
    steps `valid` (None: all) marks, with its hand-written gradient."""

    @tf.custom_gradient
    def sequence(inputs, kernel, recurrent_kernel, bias, h0, c0):
        time, batch = tf.shape(inputs)[0], tf.shape(inputs)[1]
        rows = tf.reshape(inputs, (-1, inputs.shape[-1]))
        projected = tf.reshape(tf.matmul(rows, kernel) + bias, (time, batch, -1))
        hs, cs, activated = _forward(projected, recurrent_kernel, h0, c0, valid)

        def grad(d_hs, d_c_last):
            d_c_last = tf.zeros_like(c0) if d_c_last is None else d_c_last
            cs_prev = tf.concat([c0[None], cs[:-1]], axis=0)
            recurrent_kernel_t = tf.transpose(recurrent_kernel)

            def step(carry, step_slices):
                dh, dc, _ = carry
                return backward_step(dh, dc, step_slices, recurrent_kernel_t)

            d_hs_prev, d_cs_prev, dzs = tf.scan(
                step,
                steps(valid, d_h=d_hs, gates=activated, c=cs, c_prev=cs_prev),
                initializer=(tf.zeros_like(h0), d_c_last, tf.zeros_like(activated[0])),
                reverse=True,
            )
            # Weight and input gradients: one matrix product over all (time * batch) rows each.
            dz_rows = tf.reshape(dzs, (-1, dzs.shape[-1]))
            hs_prev = tf.reshape(tf.concat([h0[None], hs[:-1]], axis=0), (-1, h0.shape[-1]))
            d_kernel = tf.matmul(rows, dz_rows, transpose_a=True)
            d_recurrent_kernel = tf.matmul(hs_prev, dz_rows, transpose_a=True)
            d_bias = tf.reduce_sum(dz_rows, axis=0)
            d_inputs = tf.reshape(tf.matmul(dz_rows, kernel, transpose_b=True), tf.shape(inputs))
            return d_inputs, d_kernel, d_recurrent_kernel, d_bias, d_hs_prev[0], d_cs_prev[0]

        return (hs, cs[-1]), grad

    return sequence


def _lstm_on_tensors(inputs, kernel, recurrent_kernel, bias, h0, c0, valid):
    """`_lstm_sequence` on the values of the weights: `tf.custom_gradient` takes tensors
    (and the mask, which has no gradient, stays outside its arguments)."""
    weights_and_states = (kernel, recurrent_kernel, bias, h0, c0)
    return _lstm_sequence(valid)(inputs, *(tf.identity(w) for w in weights_and_states))


lstm = functools.partial(run_lstm, _lstm_on_tensors)
lstm.__doc__ = "The fused LSTM on TensorFlow, with `keras.src.backend.lstm`'s contract (`run_lstm`)."
