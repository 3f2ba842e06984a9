"""A fused standard LSTM for the JAX backend: one forward scan, a hand-written backward.

Differentiating `jax.lax.scan` automatically computes the weight gradients inside the
backward loop: four small matrix products per step (for the input, the state, the
kernel and the recurrent kernel). Here the backward loop computes only the gradient
that carries the recurrence (``dz @ recurrent_kernel.T``) and stores the gate
gradients ``dz``; the gradients of the kernel, recurrent kernel, bias and inputs
are then large matrix products over all steps at once, which XLA runs much more
efficiently on a CPU. The forward pass keeps the input projection inside the loop:
on XLA CPU a scan over a precomputed (time, batch, 4*units) projection measured
slower than projecting each step inside the loop. The gate equations and the
`keras.src.backend.lstm` contract are shared with `tf_lstm` (`fused_lstm`).

Computes exactly what `keras.layers.LSTM`'s loop computes for its standard cell, masks
included (any mask, both directions: see `fused_lstm`); `lstm` raises
NotImplementedError for what it does not support, like the backends' fused
implementations.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from seqtasks.layers.fused_lstm import backward_step, masked_cell_step, run_lstm, steps


def _forward(inputs, kernel, recurrent_kernel, bias, h0, c0, valid):
    """Runs the time-major sequence; returns all h, all c and all activated gates."""

    def step(carry, step_inputs):
        h, c = carry
        z = step_inputs["x"] @ kernel + bias + h @ recurrent_kernel
        h, c, activated = masked_cell_step(z, h, c, step_inputs.get("valid"))
        return (h, c), (h, c, activated)

    _, (hs, cs, activated) = lax.scan(step, (h0, c0), steps(valid, x=inputs))
    return hs, cs, activated


@jax.custom_vjp
def _lstm_sequence(inputs, kernel, recurrent_kernel, bias, h0, c0, valid):
    """(the h carried through every step (time, batch, units), final c) of a time-major
    sequence whose steps `valid` (None: all) marks."""
    hs, cs, _ = _forward(inputs, kernel, recurrent_kernel, bias, h0, c0, valid)
    return hs, cs[-1]


def _lstm_sequence_fwd(inputs, kernel, recurrent_kernel, bias, h0, c0, valid):
    hs, cs, activated = _forward(inputs, kernel, recurrent_kernel, bias, h0, c0, valid)
    residuals = (inputs, kernel, recurrent_kernel, hs, cs, activated, h0, c0, valid)
    return (hs, cs[-1]), residuals


def _lstm_sequence_bwd(residuals, cotangents):
    inputs, kernel, recurrent_kernel, hs, cs, activated, h0, c0, valid = residuals
    d_hs, d_c_last = cotangents
    cs_prev = jnp.concatenate([c0[None], cs[:-1]], axis=0)
    recurrent_kernel_t = recurrent_kernel.T

    def step(carry, step_slices):
        dh, dc, dz = backward_step(*carry, step_slices, recurrent_kernel_t)
        return (dh, dc), dz

    (dh0, dc0), dzs = lax.scan(
        step,
        (jnp.zeros_like(h0), d_c_last),
        steps(valid, d_h=d_hs, gates=activated, c=cs, c_prev=cs_prev),
        reverse=True,
    )
    # Weight and input gradients: one matrix product over all (time * batch) rows each.
    rows = dzs.reshape(-1, dzs.shape[-1])
    hs_prev = jnp.concatenate([h0[None], hs[:-1]], axis=0).reshape(-1, h0.shape[-1])
    d_recurrent_kernel = hs_prev.T @ rows
    d_kernel = inputs.reshape(-1, inputs.shape[-1]).T @ rows
    d_bias = jnp.sum(rows, axis=0)
    d_inputs = (rows @ kernel.T).reshape(inputs.shape)
    return d_inputs, d_kernel, d_recurrent_kernel, d_bias, dh0, dc0, None


_lstm_sequence.defvjp(_lstm_sequence_fwd, _lstm_sequence_bwd)

lstm = functools.partial(run_lstm, _lstm_sequence)
lstm.__doc__ = "The fused LSTM on JAX, with `keras.src.backend.lstm`'s contract (`run_lstm`)."
