"""A fused standard LSTM for the JAX backend: one forward scan, a hand-written backward.

Differentiating `jax.lax.scan` automatically computes the weight gradients inside the
backward loop: four small matrix products per step (for the input, the state, the
kernel and the recurrent kernel). Here the backward loop computes only the gradient
that carries the recurrence (``dz @ recurrent_kernel.T``) and stores the gate
gradients ``dz``; the gradients of the kernel, recurrent kernel, bias and inputs
are then large matrix products over all steps at once, which XLA runs much more
efficiently on a CPU. The forward pass keeps the input projection inside the loop:
on XLA CPU a scan over a precomputed (time, batch, 4*units) projection measured
slower than projecting each step inside the loop.

Computes exactly `keras.layers.LSTM`'s standard cell (gate order i, f, c, o, sigmoid
gates, tanh activation) without masks; `lstm` raises NotImplementedError otherwise,
like the backends' fused implementations.
"""

import jax
import jax.numpy as jnp
from jax import lax
from keras import activations, ops


def _gates(z):
    """Activated gates (i, f, g, o) from the pre-activations ``z`` (batch, 4*units)."""
    z_i, z_f, z_g, z_o = jnp.split(z, 4, axis=-1)
    return jax.nn.sigmoid(z_i), jax.nn.sigmoid(z_f), jnp.tanh(z_g), jax.nn.sigmoid(z_o)


def _forward(inputs, kernel, recurrent_kernel, bias, h0, c0):
    """Runs the time-major sequence; returns all h, all c and all activated gates."""

    def step(carry, x):
        h, c = carry
        i, f, g, o = _gates(x @ kernel + bias + h @ recurrent_kernel)
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), (h, c, jnp.concatenate([i, f, g, o], axis=-1))

    _, (hs, cs, gates) = lax.scan(step, (h0, c0), inputs)
    return hs, cs, gates


@jax.custom_vjp
def _lstm_sequence(inputs, kernel, recurrent_kernel, bias, h0, c0):
    """(all h (time, batch, units), final c) of a time-major sequence."""
    hs, cs, _ = _forward(inputs, kernel, recurrent_kernel, bias, h0, c0)
    return hs, cs[-1]


def _lstm_sequence_fwd(inputs, kernel, recurrent_kernel, bias, h0, c0):
    hs, cs, gates = _forward(inputs, kernel, recurrent_kernel, bias, h0, c0)
    residuals = (inputs, kernel, recurrent_kernel, hs, cs, gates, h0, c0)
    return (hs, cs[-1]), residuals


def _lstm_sequence_bwd(residuals, cotangents):
    inputs, kernel, recurrent_kernel, hs, cs, gates, h0, c0 = residuals
    d_hs, d_c_last = cotangents
    cs_prev = jnp.concatenate([c0[None], cs[:-1]], axis=0)
    recurrent_kernel_t = recurrent_kernel.T

    def step(carry, xs):
        dh, dc = carry
        dh_t, gates_t, c, c_prev = xs
        dh = dh + dh_t
        i, f, g, o = jnp.split(gates_t, 4, axis=-1)
        tanh_c = jnp.tanh(c)
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        dz = jnp.concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * c_prev * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        return (dz @ recurrent_kernel_t, dc * f), dz

    (dh0, dc0), dzs = lax.scan(
        step, (jnp.zeros_like(h0), d_c_last), (d_hs, gates, cs, cs_prev), reverse=True
    )
    # Weight and input gradients: one matrix product over all (time * batch) rows each.
    rows = dzs.reshape(-1, dzs.shape[-1])
    hs_prev = jnp.concatenate([h0[None], hs[:-1]], axis=0).reshape(-1, h0.shape[-1])
    d_recurrent_kernel = hs_prev.T @ rows
    d_kernel = inputs.reshape(-1, inputs.shape[-1]).T @ rows
    d_bias = jnp.sum(rows, axis=0)
    d_inputs = (rows @ kernel.T).reshape(inputs.shape)
    return d_inputs, d_kernel, d_recurrent_kernel, d_bias, dh0, dc0


_lstm_sequence.defvjp(_lstm_sequence_fwd, _lstm_sequence_bwd)


def lstm(
    inputs,
    initial_state_h,
    initial_state_c,
    mask,
    kernel,
    recurrent_kernel,
    bias,
    activation,
    recurrent_activation,
    return_sequences=False,
    go_backwards=False,
    unroll=False,
):
    """Standard LSTM over a batch-major sequence, with `keras.src.backend.lstm`'s contract.

    Returns ``(last_output, outputs, [h, c])``; `outputs` is (batch, time, units) with
    `return_sequences` (in processing order, reversed with `go_backwards`, as Keras
    does) and the last output with a time axis of 1 otherwise. Raises
    NotImplementedError for what it does not support: masks, `unroll`, no bias,
    activations other than tanh and sigmoid.
    """
    if (
        mask is not None
        or unroll
        or bias is None
        or activation is not activations.tanh
        or recurrent_activation is not activations.sigmoid
    ):
        raise NotImplementedError
    dtype = inputs.dtype
    sequence = jnp.transpose(inputs, (1, 0, 2))
    if go_backwards:
        sequence = sequence[::-1]
    hs, c_last = _lstm_sequence(
        sequence,
        ops.convert_to_tensor(kernel, dtype),
        ops.convert_to_tensor(recurrent_kernel, dtype),
        ops.convert_to_tensor(bias, dtype),
        ops.convert_to_tensor(initial_state_h, dtype),
        ops.convert_to_tensor(initial_state_c, dtype),
    )
    last_output = hs[-1]
    outputs = jnp.transpose(hs, (1, 0, 2)) if return_sequences else last_output[:, None]
    return last_output, outputs, [last_output, c_last]
