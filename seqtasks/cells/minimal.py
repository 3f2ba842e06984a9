"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): cells whose gates
and candidate read only the input, so that a step is element-wise::

    minGRU  (gate order z, h):    z = σ(x W_z + b_z)    h~ = x W_h + b_h
                                  h' = (1 - z) * h + z * h~
    minLSTM (gate order i, f, h): i = σ(x W_i + b_i)    f = σ(x W_f + b_f)
                                  h~ = x W_h + b_h      h' = f / (f + i) * h + i / (f + i) * h~

There is no recurrent kernel: `kernel` (features, G * units) and `bias` (G * units) are
the only weights. Each step is ``h' = a * h + b`` with ``(a, b) = scan_terms(x W + b)``
from the input alone, so `seqtasks.layers.Recurrent` projects the whole sequence in one
matrix product and then runs only that linear recurrence (see `linear_recurrence`);
inside `keras.layers.RNN` the cells step like any other. `activation` (default linear,
as in the paper) applies to the candidate h~; `recurrent_activation` (sigmoid) to the
gates. Recurrent dropout has no recurrent input to act on and raises `ConfigError`.

Example:

>>> import keras
>>> rnn = keras.layers.RNN(MinGRUCell(8))
>>> tuple(rnn(keras.ops.ones((2, 5, 3))).shape)
(2, 8)
>>> [w.name for w in rnn.weights]
['kernel', 'bias']
"""

import keras
from keras import ops

from seqtasks.cells import min_terms
from seqtasks.cells.base import GatedCell
from seqtasks.errors import ConfigError


class MinimalCell(GatedCell):
    """The shared base of the minimal cells: no recurrent kernel, an element-wise step."""

    has_recurrent_kernel = False

    def __init__(self, units, activation="linear", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        if self.recurrent_dropout:
            raise ConfigError(f"{type(self).__name__} has no recurrent input for "
                              f"recurrent_dropout={self.recurrent_dropout} to drop: use dropout")
        self.state_size = self.units

    def scan_terms(self, projected):
        """``(a, b)`` with ``h' = a * h + b`` for projected inputs (..., G * units): by
        `hand_gradient_terms` where it applies, else by `formula_terms`."""
        terms = self.hand_gradient_terms()
        if terms is None:
            return self.formula_terms(projected)
        return terms(*ops.split(projected, self.gates, axis=-1))

    def formula_terms(self, projected):
        """`scan_terms` written with the cell's activations (any of them), differentiated
        by the backend."""
        raise NotImplementedError

    def sequence_terms(self, inputs):
        """``(a, b)`` of every step of `inputs` (..., features) at once: `scan_terms` of
        `project_inputs`; where `hand_gradient_terms` applies, from one matrix product
        per gate and the candidate instead (no split projection, whose gradients would
        be put together in another pass)."""
        terms = self.hand_gradient_terms()
        if terms is None:
            return self.scan_terms(self.project_inputs(inputs))
        shape = ops.shape(inputs)
        rows = ops.reshape(inputs, (-1, shape[-1]))
        bias = self.input_bias()
        parts = []
        for k in range(self.gates):
            columns = slice(k * self.units, (k + 1) * self.units)
            part = ops.matmul(rows, self.kernel[:, columns])
            if bias is not None:
                part = part + bias[columns]
            parts.append(ops.reshape(part, (*shape[:-1], self.units)))
        return terms(*parts)

    def hand_gradient_terms(self):
        """The `seqtasks.cells.min_terms` function of this cell's terms from its gates'
        and candidate's projections, where it applies (`min_terms.applies`); None
        elsewhere."""
        return getattr(min_terms, self.TERMS) if min_terms.applies(self) else None

    def recurrent_step(self, projected, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        a, b = self.scan_terms(projected)
        h = a * h_tm1 + b
        return h, [h]


@keras.saving.register_keras_serializable(package="seqtasks")
class MinGRUCell(MinimalCell):
    """minGRU: ``h' = (1 - z) * h + z * h~``, z and h~ from the input only (module docs)."""

    TERMS = "min_gru_terms"  # its `seqtasks.cells.min_terms` function

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.gates = 2

    def formula_terms(self, projected):
        # One split, not two slices: a slice's gradient fills a whole zero tensor each.
        x_z, x_h = ops.split(projected, 2, axis=-1)
        z = self.recurrent_activation(x_z)
        return 1.0 - z, z * self.activation(x_h)


@keras.saving.register_keras_serializable(package="seqtasks")
class MinLSTMCell(MinimalCell):
    """minLSTM: ``h' = f' * h + i' * h~`` with the gates normalised to ``f' + i' = 1``,
    all from the input only (module docs)."""

    TERMS = "min_lstm_terms"  # its `seqtasks.cells.min_terms` function

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.gates = 3

    def formula_terms(self, projected):
        x_i, x_f, x_h = ops.split(projected, 3, axis=-1)
        i = self.recurrent_activation(x_i)
        f = self.recurrent_activation(x_f)
        total = f + i
        return f / total, i / total * self.activation(x_h)
