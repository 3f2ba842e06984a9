"""The LSTM cell, with the forget gate, peepholes and layer normalisation each optional."""

import keras
from keras import ops

from seqtasks.cells.base import GatedCell
from seqtasks.errors import ConfigError

_NORM_EPSILON = 1e-5


def _layer_norm(x, gamma, beta=None):
    """Normalises the last axis of `x` to zero mean and unit variance, then scales."""
    mean = ops.mean(x, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    x = (x - mean) * ops.rsqrt(variance + _NORM_EPSILON) * gamma
    return x if beta is None else x + beta


def _resolve_unit_forget_bias(unit_forget_bias, forget_gate, use_bias):
    """`unit_forget_bias` as a bool: None means "when there is a forget-gate bias"."""
    if unit_forget_bias is None:
        return bool(forget_gate and use_bias)
    if unit_forget_bias and not forget_gate:
        raise ConfigError("unit_forget_bias=True contradicts forget_gate=False: "
                          "there is no forget gate to initialise")
    if unit_forget_bias and not use_bias:
        raise ConfigError("unit_forget_bias=True contradicts use_bias=False: "
                          "there is no bias to initialise")
    return bool(unit_forget_bias)


@keras.saving.register_keras_serializable(package="seqtasks")
class LSTMCell(GatedCell):
    """Long short-term memory cell.

    Standard form (``forget_gate=True``), gate order i, f, c, o as in Keras::

        i = σ(x W_i + h U_i + b_i)        f = σ(x W_f + h U_f + b_f)
        c' = f * c + i * tanh(x W_c + h U_c + b_c)
        o = σ(x W_o + h U_o + b_o)        h' = o * tanh(c')

    Args:
        units: size of h and c.
        forget_gate: False gives the original 1997 LSTM (f = 1, gate order i, c, o).
        peephole: gates also see the cell: i and f see c_{t-1}, o sees c_t (diagonal
            weights, the extra weight `peephole_kernel` of shape (gates without c, units)).
        layer_norm: layer normalisation of each gate's pre-activation (``x W + h U``,
            scaled by `gate_norm` of shape (gates, units), then the bias added) and of
            the cell before the output tanh (`cell_norm`, rows gamma and beta).
        unit_forget_bias: initialise the forget-gate bias to 1 (Jozefowicz et al. 2015).
            None (the default) means True when there is a forget gate and a bias; True
            with ``forget_gate=False`` or ``use_bias=False`` raises `ConfigError`.
        Other arguments as `keras.layers.LSTMCell`.

    With the defaults the weights equal `keras.layers.LSTM`'s, so `get_weights()` of one
    loads into the other.

    Example:

    >>> import keras
    >>> rnn = keras.layers.RNN(LSTMCell(8, peephole=True))
    >>> rnn(keras.ops.ones((2, 5, 3))).shape
    (2, 8)
    """

    def __init__(
        self,
        units,
        forget_gate=True,
        peephole=False,
        layer_norm=False,
        unit_forget_bias=None,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.forget_gate = bool(forget_gate)
        self.peephole = bool(peephole)
        self.layer_norm = bool(layer_norm)
        self.unit_forget_bias = _resolve_unit_forget_bias(
            unit_forget_bias, self.forget_gate, self.use_bias
        )
        self.gates = 4 if self.forget_gate else 3
        self.state_size = [self.units, self.units]

    def bias_initializer_for_build(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, base = self.units, self.bias_initializer

        def initializer(shape, dtype=None):
            return ops.concatenate(
                [
                    base((units,), dtype=dtype),
                    ops.ones((units,), dtype=dtype),
                    base((2 * units,), dtype=dtype),
                ]
            )

        return initializer

    def build_extra_weights(self):
        if self.peephole:
            self.peephole_kernel = self.add_weight(
                shape=(self.gates - 1, self.units), name="peephole_kernel", initializer="zeros"
            )
        if self.layer_norm:
            self.gate_norm = self.add_weight(
                shape=(self.gates, self.units), name="gate_norm", initializer="ones"
            )
            self.cell_norm = self.add_weight(
                shape=(2, self.units),
                name="cell_norm",
                initializer=lambda shape, dtype=None: ops.stack(
                    [ops.ones(shape[1:], dtype=dtype), ops.zeros(shape[1:], dtype=dtype)]
                ),
            )

    def input_bias(self):
        # With layer norm the bias is added after normalising, inside the step.
        return None if self.layer_norm else self.bias

    def is_standard(self):
        """True when this cell computes exactly what `keras.layers.LSTM` computes."""
        return (
            self.forget_gate
            and not self.peephole
            and not self.layer_norm
            and self.use_bias
            and self.activation is keras.activations.tanh
            and self.recurrent_activation is keras.activations.sigmoid
        )

    def recurrent_step(self, projected, states, training=False):
        h_tm1, c_tm1 = states
        z = projected + ops.matmul(self.recurrent_input(h_tm1, training), self.recurrent_kernel)
        if self.layer_norm:
            batch_shape = ops.shape(z)[:-1]
            z = ops.reshape(z, (*batch_shape, self.gates, self.units))
            z = ops.reshape(_layer_norm(z, self.gate_norm), (*batch_shape, self.gates * self.units))
            if self.use_bias:
                z = z + self.bias
        if self.forget_gate:
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        else:
            z_i, z_c, z_o = ops.split(z, 3, axis=-1)
        if self.peephole:
            z_i = z_i + self.peephole_kernel[0] * c_tm1
            if self.forget_gate:
                z_f = z_f + self.peephole_kernel[1] * c_tm1
        i = self.recurrent_activation(z_i)
        candidate = i * self.activation(z_c)
        if self.forget_gate:
            c = self.recurrent_activation(z_f) * c_tm1 + candidate
        else:
            c = c_tm1 + candidate
        if self.peephole:
            z_o = z_o + self.peephole_kernel[-1] * c
        o = self.recurrent_activation(z_o)
        c_out = _layer_norm(c, self.cell_norm[0], self.cell_norm[1]) if self.layer_norm else c
        h = o * self.activation(c_out)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "forget_gate": self.forget_gate,
            "peephole": self.peephole,
            "layer_norm": self.layer_norm,
            "unit_forget_bias": self.unit_forget_bias,
        }

    @classmethod
    def from_config(cls, config):
        if config.get("unit_forget_bias") and not (
            config.get("forget_gate", True) and config.get("use_bias", True)
        ):
            # Saved before the check, when True was the default for every cell.
            config = {**config, "unit_forget_bias": None}
        return super().from_config(config)
