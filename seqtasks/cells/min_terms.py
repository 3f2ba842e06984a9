"""The minimal cells' step terms with a hand-written gradient (TensorFlow and JAX).

``(a, b) = terms(*projections)`` of ``h' = a * h + b`` (`seqtasks.cells.minimal`) from
the separate projections of each gate and of the candidate, for sigmoid gates and a
linear candidate h~ (in both cells ``b = (1 - a) * h~``). The backward pass makes each
projection's gradient in one element-wise pass from the projections, `a` and the
upstream gradients, where automatic differentiation keeps more intermediates in memory
(XLA's CPU backend every exponential, a pass over the whole sequence each) and, from a
split projection, puts the gradients back together in another pass. minLSTM of 256
units over (64, 512, 128) inputs against `keras.layers.GRU`, 2 CPU cores: JAX 1.83x with
automatic differentiation, 3.59x with this gradient and a product per gate; TensorFlow
2.86-2.90x and 3.08-3.70x (`benchmarks/rnn_throughput.py --length 512`, one run each).

Example:

>>> import numpy as np
>>> a, b = min_gru_terms(np.zeros((1, 2), "float32"), np.ones((1, 2), "float32"))
>>> keras.ops.convert_to_numpy(a).tolist(), keras.ops.convert_to_numpy(b).tolist()
([[0.5, 0.5]], [[0.5, 0.5]])
"""

import keras
from keras import ops

BACKENDS = ("tensorflow", "jax")  # where `keras.ops.custom_gradient` takes this form


def _upstream(args):
    """The gradients of (a, b): TensorFlow passes them as two arguments, JAX as a pair."""
    return args if len(args) == 2 else args[0]


@ops.custom_gradient
def min_gru_terms(x_z, x_h):
    """minGRU from the gate's and the candidate's projections: ``a = 1 - σ(x_z)``,
    ``b = σ(x_z) * x_h``."""
    a = ops.sigmoid(-x_z)

    def gradient(*args):
        d_a, d_b = _upstream(args)
        # a = σ(-x_z): da/dx_z = -a (1 - a); b = (1 - a) x_h.
        gate = (d_a - d_b * x_h) * a * (1.0 - a)
        return -gate, d_b * (1.0 - a)

    return (a, (1.0 - a) * x_h), gradient


@ops.custom_gradient
def min_lstm_terms(x_i, x_f, x_h):
    """minLSTM from the gates' and the candidate's projections: ``a = f / (f + i)``,
    ``b = i / (f + i) * x_h``, f and i the sigmoids of x_f and x_i."""
    f_gate, i_gate = ops.sigmoid(x_f), ops.sigmoid(x_i)
    a = f_gate / (f_gate + i_gate)

    def gradient(*args):
        d_a, d_b = _upstream(args)
        # da/df = i / (f + i)^2 and da/di = -f / (f + i)^2, so with f' = f (1 - f):
        # da/dx_f = a (1 - a) (1 - f), da/dx_i = -a (1 - a) (1 - i). 1 - f is computed
        # again from x_f here, not kept from the forward pass (one array less to write).
        gate = (d_a - d_b * x_h) * a * (1.0 - a)
        return -gate * ops.sigmoid(-x_i), gate * ops.sigmoid(-x_f), d_b * (1.0 - a)

    return (a, (1.0 - a) * x_h), gradient


def applies(cell):
    """Whether `cell`'s terms can take this gradient: TensorFlow or JAX, sigmoid gates,
    a linear candidate."""
    return (keras.backend.backend() in BACKENDS
            and cell.recurrent_activation is keras.activations.sigmoid
            and cell.activation is keras.activations.linear)
