"""The fused standard LSTM and GRU for the JAX backend: one forward scan, a hand-written
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

from seqtasks.layers.fused import backward_step, forward_step, previous, rows, step_rows, steps
from seqtasks.layers.fused_gru import run_gru
from seqtasks.layers.fused_lstm import run_lstm


def _forward(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid):
    """Runs the time-major sequence; returns all states and all saved values."""
    weights = cell.forward_weights(recurrent_kernel, bias)

    def step(states, step_inputs):
        projected = cell.project(step_inputs["x"], kernel, bias)
        states, saved = forward_step(cell, projected, states, weights, step_inputs.get("valid"))
        return states, (states, saved)

    _, (states, saved) = lax.scan(step, initial_states, steps(valid, x=inputs))
    return states, saved


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _sequence(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid):
    """(the h carried through every step (time, batch, units), the last value of each
    other state) of `cell` over a time-major sequence whose steps `valid` (None: all)
    marks."""
    states, _ = _forward(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid)
    return (states[0], *(s[-1] for s in states[1:]))


def _sequence_fwd(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid):
    states, saved = _forward(cell, inputs, kernel, recurrent_kernel, bias, initial_states, valid)
    residuals = (inputs, kernel, recurrent_kernel, states, saved, initial_states, valid)
    return (states[0], *(s[-1] for s in states[1:])), residuals


def _sequence_bwd(cell, residuals, cotangents):
    inputs, kernel, recurrent_kernel, states, saved, initial_states, valid = residuals
    d_hs, *d_last_others = cotangents
    previous_states = tuple(map(previous, initial_states, states))
    weights = cell.backward_weights(recurrent_kernel)

    def step(d_states, slices):
        return backward_step(cell, d_states, slices, weights)

    sequences = cell.backward_sequences(states, previous_states, saved)
    d_initial_states, d_steps = lax.scan(
        step,
        (jnp.zeros_like(initial_states[0]), *d_last_others),
        steps(valid, d_h=d_hs, **sequences),
        reverse=True,
    )
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
