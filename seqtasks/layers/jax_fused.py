"""The fused standard LSTM and GRU for the JAX backend: one forward loop, a hand-written
backward.

Differentiating `jax.lax.scan` automatically computes the weight gradients inside the
backward loop: small matrix products per step (for the input, the state, the kernel and
the recurrent kernel). Here the backward loop computes only the gradients that carry
the recurrence and stores the pre-activation gradients; the gradients of the kernel,
recurrent kernel, bias and inputs are then large matrix products over all steps at once,
which XLA runs much more efficiently on a CPU. The forward pass keeps the input
projection inside the loop: on XLA CPU a scan over a precomputed (time, batch, 4*units)
projection measured slower than projecting each step inside the loop. The cells'
equations and the contracts of `keras.src.backend.lstm` and `gru` are shared with
`tf_fused` (`fused`, `fused_lstm`, `fused_gru`).

Computes exactly what `keras.layers.LSTM`'s and `keras.layers.GRU`'s loops compute for
their standard cells, masks included (any mask, both directions: see `fused`); `lstm`
and `gru` raise NotImplementedError for what they do not support, like the backends'
fused implementations.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from seqtasks.layers.fused import (active_range, backward_step, forward_step, previous, rows,
                                   step_rows, steps)
from seqtasks.layers.fused_gru import run_gru
from seqtasks.layers.fused_lstm import run_lstm


def _outside(states, start, end, first, last):
    """The time-major `states` with `first` before step `start` and `last` from `end` on."""
    step = jnp.arange(states.shape[0])[:, None, None]
    return jnp.where(step < start, first, jnp.where(step >= end, last, states))


def _forward(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid):
    """Runs the time-major sequence over its `active_range`; returns all states (kept
    outside the range), all saved values (zero outside the range, where the backward
    pass does not read them) and the range."""
    weights = cell.forward_weights(recurrent_kernel, bias)
    time = inputs.shape[0]
    start, end = active_range(valid, time)

    def step(t, carry):
        states, sequences, saved = carry
        states, saved_now = forward_step(cell, cell.project(inputs[t], kernel, bias), states,
                                         weights, None if valid is None else valid[t])
        return (states, tuple(s.at[t].set(new) for s, new in zip(sequences, states)),
                saved.at[t].set(saved_now))

    batch, units = initial_states[0].shape
    empty = (tuple(jnp.zeros((time, *s.shape), s.dtype) for s in initial_states),
             jnp.zeros((time, batch, cell.saved_blocks * units), inputs.dtype))
    last, sequences, saved = lax.fori_loop(start, end, step, (initial_states, *empty))
    states = tuple(_outside(sequence, start, end, first, final)
                   for sequence, first, final in zip(sequences, initial_states, last))
    return states, saved, (start, end)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _sequence(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid):
    """(the h carried through every step (time, batch, units), the last value of each
    other state) of `cell` over a time-major sequence whose steps `valid` (None: all)
    marks."""
    states, _, _ = _forward(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid)
    return (states[0], *(s[-1] for s in states[1:]))


def _sequence_fwd(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid):
    states, saved, span = _forward(cell, inputs, kernel, recurrent_kernel, bias, initial_states,
                                   valid)
    residuals = (inputs, kernel, recurrent_kernel, states, saved, initial_states, valid, span)
    return (states[0], *(s[-1] for s in states[1:])), residuals


def _sequence_bwd(cell, residuals, cotangents):
    (inputs, kernel, recurrent_kernel, states, saved, initial_states, valid,
     (start, end)) = residuals
    d_hs, *d_last_others = cotangents
    previous_states = tuple(map(previous, initial_states, states))
    weights = cell.backward_weights(recurrent_kernel)
    sequences = cell.backward_sequences(states, previous_states, saved)
    slices = steps(valid, d_h=d_hs, **sequences)
    time, batch, units = states[0].shape
    # Outside the active range every step passes the states' gradients through and adds
    # the output's: the steps after it add up before the loop, those before it after.
    step_index = jnp.arange(time)[:, None, None]
    d_h_after, d_h_before = (jnp.sum(jnp.where(outside, d_hs, 0.0), axis=0)
                             for outside in (step_index >= end, step_index < start))

    def step(i, carry):
        t = start + end - 1 - i
        d_states, d_steps = carry
        d_states, d_step = backward_step(cell, d_states, {k: v[t] for k, v in slices.items()},
                                         weights)
        return d_states, d_steps.at[t].set(d_step)

    d_steps = jnp.zeros((time, batch, cell.gradient_blocks * units), d_hs.dtype)
    d_states, d_steps = lax.fori_loop(start, end, step, ((d_h_after, *d_last_others), d_steps))
    d_initial_states = (d_states[0] + d_h_before, *d_states[1:])
    # Weight and input gradients: one matrix product over all (time * batch) rows each.
    d_input_rows, d_kernel, d_recurrent_kernel, d_bias = cell.weight_gradients(
        rows(inputs), step_rows(d_steps, valid),
        {name: rows(sequence) for name, sequence in sequences.items()},
        rows(previous_states[0]), kernel)
    return (d_input_rows.reshape(inputs.shape), d_kernel, d_recurrent_kernel, d_bias,
            d_initial_states, None)


_sequence.defvjp(_sequence_fwd, _sequence_bwd)

lstm = functools.partial(run_lstm, _sequence)
lstm.__doc__ = "The fused LSTM on JAX, with `keras.src.backend.lstm`'s contract."
gru = functools.partial(run_gru, _sequence)
gru.__doc__ = "The fused GRU on JAX, with `keras.src.backend.gru`'s contract."
