"""The fused standard LSTM and GRU for the TensorFlow backend on CPU: one forward scan, a
hand-written backward.

TensorFlow's gradient of a `tf.while_loop` computes the weight gradients inside the
backward loop: a small matrix product per step for the kernel and one for the
recurrent kernel, each over only `batch` rows. Here the forward scan projects each
step's inputs inside the loop (TensorFlow runs the projections of later steps, which do
not depend on the state, beside the recurrence: a GRU forward pass of (64, 100, 128 ->
256) 39 -> 32 ms against one product before the loop), the backward loop computes only
the gradients that carry the recurrence, and the gradients of the kernel, recurrent
kernel, bias and inputs are one large matrix product each over a span of steps' rows,
computed while the loop runs the next span (`CHUNKS`). The cells' equations and the
contracts of `keras.src.backend.lstm` and `gru` are shared with `jax_fused` (`fused`,
`fused_lstm`, `fused_gru`).

Computes exactly what `keras.layers.LSTM`'s and `keras.layers.GRU`'s loops compute for
their standard cells, masks included (any mask, both directions: see `fused`); `lstm`
and `gru` raise NotImplementedError for what they do not support, like the backends'
fused implementations, and `Recurrent` then runs its per-step loop.
"""

import functools

import tensorflow as tf

from seqtasks.layers.fused import backward_step, forward_step, previous, rows, step_rows, steps
from seqtasks.layers.fused_gru import run_gru
from seqtasks.layers.fused_lstm import run_lstm
from seqtasks.layers.spans import time_spans

# Spans of time of the backward pass (`_with_gradient`): 4 and 5 measured fastest for
# (batch 64, 100 steps, 256 units) on 2 CPU cores, 55 ms against 65 ms for one span.
# Narrower layers take one span: each span adds operations, and their steps are too
# cheap for the overlap to pay (bidirectional LSTM, 2-core Intel Xeon, forward and
# backward: 128 units, 60 steps 47 against 53 ms; 150 units, 50 steps 60 against 65-71 ms;
# 200 units 67-72 against 76-78 ms).
CHUNKS = 4
SPAN_UNITS = 256  # the narrowest layer whose backward pass runs in `CHUNKS` spans


def _forward(cell, inputs, kernel, weights, bias, initial_states, valid):
    """Runs the time-major sequence; returns all states and all saved values."""

    def step(carry, step_inputs):
        states, _ = carry
        projected = cell.project(step_inputs["x"], kernel, bias)
        return forward_step(cell, projected, states, weights, step_inputs.get("valid"))

    batch, units = tf.shape(initial_states[0])[0], initial_states[0].shape[-1]
    nothing_saved = tf.zeros((batch, cell.saved_blocks * units), inputs.dtype)
    return tf.scan(step, steps(valid, x=inputs), initializer=(initial_states, nothing_saved))


def _backward_chunk(cell, chunk, d_states, weights, width):
    """The backward loop over the time-major slices of `chunk` (``d_h``, the cell's
    `backward_sequences`, ``valid``), last step first, from the gradients `d_states`
    reaching its last states; returns those reaching the states before its first step
    and every step's output (time, batch, width)."""
    length = tf.shape(chunk["d_h"])[0]

    def run():
        outputs = tf.TensorArray(chunk["d_h"].dtype, size=length)

        def body(t, d_states, outputs):
            slices = {name: sequence[t] for name, sequence in chunk.items()}
            d_states, d_step = backward_step(cell, d_states, slices, weights)
            return t - 1, d_states, outputs.write(t, d_step)

        _, d_first, outputs = tf.while_loop(lambda t, *_: t >= 0, body,
                                            (length - 1, d_states, outputs))
        return d_first, outputs.stack()

    empty = tf.zeros((0, tf.shape(chunk["d_h"])[1], width), chunk["d_h"].dtype)
    return tf.cond(length > 0, run, lambda: (d_states, empty))


def _with_gradient(cell, valid):
    """The function (inputs, kernel, recurrent_kernel, bias, *initial_states) -> (the h
    carried through every step (time, batch, units), the last value of each other state)
    of `cell` over a time-major sequence whose steps `valid` (None: all) marks, with its
    hand-written gradient.

    The backward pass of a layer of `SPAN_UNITS` units or more runs in `CHUNKS` spans of
    time, last first; the weight gradients of a span (large matrix products) are computed
    while the loop runs the next span, on the other core (TensorFlow runs independent
    operations at once).
    """

    @tf.custom_gradient
    def sequence(inputs, kernel, recurrent_kernel, bias, *initial_states):
        states, saved = _forward(cell, inputs, kernel,
                                 cell.forward_weights(recurrent_kernel, bias), bias,
                                 initial_states, valid)

        def grad(d_hs, *d_last_others):
            d_states = (tf.zeros_like(initial_states[0]),
                        *(tf.zeros_like(s) if d is None else d
                          for d, s in zip(d_last_others, initial_states[1:])))
            previous_states = tuple(map(previous, initial_states, states))
            weights = cell.backward_weights(recurrent_kernel)
            d_input_parts, d_weight_parts = [], []
            units = initial_states[0].shape[-1]
            spans = CHUNKS if units >= SPAN_UNITS else 1
            for start, stop in reversed(time_spans(tf.shape(inputs)[0], spans)):
                # The span's derivative factors, computed while the loop runs the span after.
                span = slice(start, stop)
                factors = cell.backward_sequences(
                    tuple(s[span] for s in states), tuple(s[span] for s in previous_states),
                    saved[span])
                chunk = steps(None if valid is None else valid[span], d_h=d_hs[span], **factors)
                d_states, d_steps = _backward_chunk(
                    cell, chunk, d_states, weights,
                    cell.gradient_blocks * units)
                # The span's weight and input gradients: one matrix product over its rows each.
                d_input_rows, *d_weights = cell.weight_gradients(
                    rows(inputs[span]), step_rows(d_steps, chunk.get("valid")),
                    {name: rows(factor) for name, factor in factors.items()},
                    rows(previous_states[0][span]), kernel)
                d_input_parts.insert(0, d_input_rows)
                d_weight_parts.append(d_weights)
            d_inputs = tf.reshape(tf.concat(d_input_parts, 0), tf.shape(inputs))
            return (d_inputs, *(tf.add_n(list(parts)) for parts in zip(*d_weight_parts)),
                    *d_states)

        return (states[0], *(s[-1] for s in states[1:])), grad

    return sequence


def _sequence(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid):
    """`_with_gradient` on the values of the weights: `tf.custom_gradient` takes tensors
    (and the mask, which has no gradient, stays outside its arguments)."""
    weights_and_states = (kernel, recurrent_kernel, bias, *initial_states)
    return _with_gradient(cell, valid)(inputs, *(tf.identity(w) for w in weights_and_states))


lstm = functools.partial(run_lstm, _sequence, skip_masked_ends=True)
lstm.__doc__ = "The fused LSTM on TensorFlow, with `keras.src.backend.lstm`'s contract."
gru = functools.partial(run_gru, _sequence, saturate_masked_steps=True,
                        skip_masked_ends=True)
gru.__doc__ = "The fused GRU on TensorFlow, with `keras.src.backend.gru`'s contract."
