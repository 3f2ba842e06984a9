"""The GRU cell: the full gated recurrent unit (both reset conventions) and a minimal variant."""

import keras
from keras import ops

from seqtasks.cells.base import GatedCell
from seqtasks.errors import ConfigError
from seqtasks.validation import one_of

VARIANTS = ("full", "minimal")


@keras.saving.register_keras_serializable(package="seqtasks")
class GRUCell(GatedCell):
    """Gated recurrent unit cell.

    ``variant="full"`` (gate order z, r, h, as in Keras)::

        z = σ(x W_z + h U_z + b_z)        r = σ(x W_r + h U_r + b_r)
        reset_after=True:  h~ = tanh(x W_h + b_h + r * (h U_h + b'_h))   bias (2, 3*units)
        reset_after=False: h~ = tanh(x W_h + (r * h) U_h + b_h)          bias (3*units,)
        h' = z * h + (1 - z) * h~

    ``variant="minimal"`` (update gate only, gate order z, h; bias (2*units,))::

        z = σ(x W_z + h U_z + b_z)        h' = (1 - z) * h + z * tanh(x W_h + h U_h + b_h)

    `reset_after` (default True) belongs to the full variant: the minimal one has no
    reset gate, and giving it `reset_after` raises `ConfigError`. Other arguments as
    `keras.layers.GRUCell`. The full variant's weights equal `keras.layers.GRU`'s for
    the same `reset_after`.

    Example:

    >>> import keras
    >>> rnn = keras.layers.RNN(GRUCell(8, variant="minimal"))
    >>> rnn(keras.ops.ones((2, 5, 3))).shape
    (2, 8)
    """

    def __init__(self, units, variant="full", reset_after=None, **kwargs):
        super().__init__(units, **kwargs)
        self.variant = one_of("variant", variant, VARIANTS)
        if variant == "minimal" and reset_after is not None:
            raise ConfigError(f"reset_after={reset_after!r} contradicts variant='minimal', "
                              "which has no reset gate: leave reset_after out")
        self.reset_after = None  # the minimal variant has no reset gate
        if variant == "full":
            self.reset_after = True if reset_after is None else bool(reset_after)
        self.gates = 3 if variant == "full" else 2
        self.state_size = self.units

    @property
    def _split_bias(self):
        return self.variant == "full" and self.reset_after and self.use_bias

    def bias_shape(self):
        if self._split_bias:
            return (2, self.gates * self.units)
        return super().bias_shape()

    def input_bias(self):
        return self.bias[0] if self._split_bias else self.bias

    def is_standard(self):
        """True when this cell computes exactly what `keras.layers.GRU` computes."""
        return (
            self.variant == "full"
            and self.use_bias
            and self.activation is keras.activations.tanh
            and self.recurrent_activation is keras.activations.sigmoid
        )

    def recurrent_step(self, projected, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        h_in = self.recurrent_input(h_tm1, training)
        units = self.units
        if self.variant == "minimal":
            recurrent = ops.matmul(h_in, self.recurrent_kernel)
            z = self.recurrent_activation(projected[..., :units] + recurrent[..., :units])
            candidate = self.activation(projected[..., units:] + recurrent[..., units:])
            h = (1.0 - z) * h_tm1 + z * candidate
            return h, [h]
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        if self.reset_after:
            recurrent = ops.matmul(h_in, self.recurrent_kernel)
            if self._split_bias:
                recurrent = recurrent + self.bias[1]
            r_z, r_r, r_h = ops.split(recurrent, 3, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            candidate = self.activation(x_h + r * r_h)
        else:
            recurrent = ops.matmul(h_in, self.recurrent_kernel[:, : 2 * units])
            z = self.recurrent_activation(x_z + recurrent[..., :units])
            r = self.recurrent_activation(x_r + recurrent[..., units:])
            candidate = self.activation(
                x_h + ops.matmul(r * h_in, self.recurrent_kernel[:, 2 * units :])
            )
        h = z * h_tm1 + (1.0 - z) * candidate
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "variant": self.variant, "reset_after": self.reset_after}

    @classmethod
    def from_config(cls, config):
        if config.get("variant") == "minimal":
            # Configs saved before the check stored the old default, reset_after=True.
            config = {**config, "reset_after": None}
        return super().from_config(config)
