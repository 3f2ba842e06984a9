"""Plain NumPy step functions of every seqtasks cell, written from the equations."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def layer_norm(x, gamma, beta=0.0, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def elman_step(w, x, state):
    (h,) = state
    h = np.tanh(x @ w["kernel"] + h @ w["recurrent_kernel"] + w["bias"])
    return h, (h,)


def lstm_step(w, x, state, forget_gate=True, peephole=False, norm=False):
    h, c = state
    z = x @ w["kernel"] + h @ w["recurrent_kernel"]
    units = h.shape[-1]
    gates = 4 if forget_gate else 3
    if norm:
        z = np.concatenate(
            [layer_norm(z[:, g * units:(g + 1) * units], w["gate_norm"][g]) for g in range(gates)], -1
        )
    z = z + w["bias"]
    parts = np.split(z, gates, axis=-1)
    if forget_gate:
        z_i, z_f, z_c, z_o = parts
    else:
        (z_i, z_c, z_o), z_f = parts, None
    if peephole:
        p = w["peephole_kernel"]
        z_i = z_i + p[0] * c
        if forget_gate:
            z_f = z_f + p[1] * c
    f = sigmoid(z_f) if forget_gate else 1.0
    c = f * c + sigmoid(z_i) * np.tanh(z_c)
    if peephole:
        z_o = z_o + w["peephole_kernel"][-1] * c
    c_out = layer_norm(c, w["cell_norm"][0], w["cell_norm"][1]) if norm else c
    h = sigmoid(z_o) * np.tanh(c_out)
    return h, (h, c)


def gru_step(w, x, state, reset_after=True):
    (h,) = state
    units = h.shape[-1]
    k, rk, b = w["kernel"], w["recurrent_kernel"], w["bias"]
    b_in, b_rec = (b[0], b[1]) if reset_after else (b, np.zeros_like(b))
    xz = x @ k + b_in
    x_z, x_r, x_h = np.split(xz, 3, axis=-1)
    rec = h @ rk[:, : 2 * units] + b_rec[: 2 * units]
    z = sigmoid(x_z + rec[:, :units])
    r = sigmoid(x_r + rec[:, units:])
    if reset_after:
        cand = np.tanh(x_h + r * (h @ rk[:, 2 * units:] + b_rec[2 * units:]))
    else:
        cand = np.tanh(x_h + (r * h) @ rk[:, 2 * units:])
    h = z * h + (1 - z) * cand
    return h, (h,)


def minimal_gru_step(w, x, state):
    (h,) = state
    units = h.shape[-1]
    z_all = x @ w["kernel"] + h @ w["recurrent_kernel"] + w["bias"]
    z = sigmoid(z_all[:, :units])
    h = (1 - z) * h + z * np.tanh(z_all[:, units:])
    return h, (h,)


def run(step, weights, inputs, initial_state):
    """Runs `step` over (batch, time, features) inputs; returns (outputs, final state)."""
    state, outputs = initial_state, []
    for t in range(inputs.shape[1]):
        out, state = step(weights, inputs[:, t], state)
        outputs.append(out)
    return np.stack(outputs, 1), state
