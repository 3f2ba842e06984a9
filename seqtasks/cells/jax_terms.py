"""The minimal cells' step terms on JAX, with a hand-written gradient.

``(a, b) = terms(*projections)`` of ``h' = a * h + b`` (`seqtasks.cells.minimal`) from
the separate projections of each gate and of the candidate, for sigmoid gates and a
linear candidate h~ (in both cells ``b = (1 - a) * h~``). XLA's CPU backend keeps every
exponential of the autodiff form in memory, a pass over the whole sequence each, and
puts the gradients of a split projection back together in another pass; here the
forward pass makes `a` and `b` in a pass each, and the backward pass each projection's
gradient in one pass from the projections, `a` and the upstream gradients. JAX, 2 CPU
cores, minLSTM of 256 units over (512, 64, 128) inputs, projection and recurrence,
forward and backward: 355 ms with autodiff, 302 ms with this gradient of the split
projection, 230 ms with a product per gate.

Example:

>>> import numpy as np
>>> a, b = min_gru_terms(np.zeros((1, 2), "float32"), np.ones((1, 2), "float32"))
>>> np.asarray(a).tolist(), np.asarray(b).tolist()
([[0.5, 0.5]], [[0.5, 0.5]])
"""

import jax
import jax.numpy as jnp


@jax.custom_vjp
def min_gru_terms(x_z, x_h):
    """minGRU from the gate's and the candidate's projections: ``a = 1 - σ(x_z)``,
    ``b = σ(x_z) * x_h``."""
    a = jax.nn.sigmoid(-x_z)
    return a, (1.0 - a) * x_h


def _min_gru_forward(x_z, x_h):
    a, b = min_gru_terms(x_z, x_h)
    return (a, b), (x_h, a)


def _min_gru_backward(residuals, upstream):
    x_h, a = residuals
    d_a, d_b = upstream
    # a = σ(-x_z): da/dx_z = -a (1 - a); b = (1 - a) x_h.
    gate = (d_a - d_b * x_h) * a * (1.0 - a)
    return -gate, d_b * (1.0 - a)


min_gru_terms.defvjp(_min_gru_forward, _min_gru_backward)


@jax.custom_vjp
def min_lstm_terms(x_i, x_f, x_h):
    """minLSTM from the gates' and the candidate's projections: ``a = f / (f + i)``,
    ``b = i / (f + i) * x_h``, f and i the sigmoids of x_f and x_i."""
    f_gate, i_gate = jax.nn.sigmoid(x_f), jax.nn.sigmoid(x_i)
    a = f_gate / (f_gate + i_gate)
    return a, (1.0 - a) * x_h


def _min_lstm_forward(x_i, x_f, x_h):
    a, b = min_lstm_terms(x_i, x_f, x_h)
    return (a, b), (x_i, x_f, x_h, a)


def _min_lstm_backward(residuals, upstream):
    x_i, x_f, x_h, a = residuals
    d_a, d_b = upstream
    # da/df = i / (f + i)^2 and da/di = -f / (f + i)^2, so with f' = f (1 - f):
    # da/dx_f = a (1 - a) (1 - f), da/dx_i = -a (1 - a) (1 - i).
    gate = (d_a - d_b * x_h) * a * (1.0 - a)
    return -gate * jax.nn.sigmoid(-x_i), gate * jax.nn.sigmoid(-x_f), d_b * (1.0 - a)


min_lstm_terms.defvjp(_min_lstm_forward, _min_lstm_backward)
