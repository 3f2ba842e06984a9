"""The NARX cell: a recurrent network that feeds back its own past outputs (tapped delay lines)."""

import keras
from keras import ops

from seqtasks.cells.base import RecurrentCell
from seqtasks.errors import ConfigError
from seqtasks.validation import non_negative_int


@keras.saving.register_keras_serializable(package="seqtasks")
class NARXCell(RecurrentCell):
    """Nonlinear autoregressive cell with exogenous inputs::

        y_t = activation(x_t W_0 + x_{t-1} W_1 + ... + x_{t-dx} W_dx
                         + y_{t-1} V_1 + ... + y_{t-dy} V_dy + b)

    with dx = `input_delay` and dy = `output_delay`. The recurrence runs through the
    outputs only (no hidden state besides them). Weights: `kernel` (input_dim,
    (dx + 1) * units), block d being W_d; `recurrent_kernel` (dy * units, units), rows
    of block j - 1 being V_j; `bias` (units,).

    States: the last output y_{t-1} (units; first, as Keras expects of a cell's
    output), when dy > 1 the outputs before it ``[y_{t-2}, ..., y_{t-dy}]``
    ((dy - 1) * units), and when dx > 0 the input delay line. The delay line keeps
    the inputs already *projected* (dx * units): slot j holds what the inputs seen so
    far add to z_{t+j}, so `project_inputs` stays ``x @ kernel`` as for every seqtasks
    cell.

    With ``output_delay=0`` nothing is fed back and there is no `recurrent_kernel`
    (so a `recurrent_dropout` raises `ConfigError`): the cell is a time-delay neural
    network computed one step at a time (cell name ``tdnn`` in `make_cell`), the
    incremental twin of the parallel `seqtasks.layers.TDNN` (same function; its
    kernel block d is ``TDNN.kernel[d]``), which is what a one-token-at-a-time
    generator needs.

    Use it through `seqtasks.layers.Recurrent` or `keras.layers.RNN` (masks,
    return_sequences, return_state as usual). Other arguments as `ElmanCell`.

    Example:

    >>> from seqtasks.layers import Recurrent
    >>> layer = Recurrent(NARXCell(4, input_delay=2, output_delay=3), return_state=True)
    >>> output, last_output, older_outputs, input_line = layer(keras.ops.ones((2, 6, 5)))
    >>> [tuple(s.shape) for s in (last_output, older_outputs, input_line)]
    [(2, 4), (2, 8), (2, 8)]
    """

    def __init__(self, units, input_delay=1, output_delay=1, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        input_delay = non_negative_int("input_delay", input_delay)
        output_delay = non_negative_int("output_delay", output_delay)
        if input_delay == output_delay == 0:
            raise ConfigError("input_delay and output_delay are both 0: the cell would have "
                              "no memory (use a Dense layer)")
        if output_delay == 0 and self.recurrent_dropout:
            raise ConfigError(f"recurrent_dropout={self.recurrent_dropout} contradicts "
                              "output_delay=0: nothing is fed back to drop")
        self.input_delay = input_delay
        self.output_delay = output_delay
        self.gates = input_delay + 1  # kernel blocks W_0..W_dx
        self.state_size = []
        if output_delay:
            self.state_size.append(self.units)
        if output_delay > 1:
            self.state_size.append((output_delay - 1) * self.units)
        if input_delay:
            self.state_size.append(input_delay * self.units)

    def build(self, input_shape):
        def weight(name, shape, kind):
            return self.add_weight(
                shape=shape,
                name=name,
                initializer=getattr(self, f"{kind}_initializer"),
                regularizer=getattr(self, f"{kind}_regularizer"),
                constraint=getattr(self, f"{kind}_constraint"),
            )

        self.kernel = weight("kernel", (input_shape[-1], self.gates * self.units), "kernel")
        self.recurrent_kernel = None
        if self.output_delay:
            self.recurrent_kernel = weight(
                "recurrent_kernel", (self.output_delay * self.units, self.units), "recurrent"
            )
        self.bias = weight("bias", (self.units,), "bias") if self.use_bias else None
        self.built = True

    def input_bias(self):
        return None  # added once per step, not to every delay block

    def recurrent_step(self, projected, states, training=False):
        units = self.units
        z = projected[..., :units]
        new_states = []
        if self.output_delay:
            past_outputs = ops.concatenate(states[:2], -1) if self.output_delay > 1 else states[0]
            z = z + ops.matmul(self.recurrent_input(past_outputs, training),
                               self.recurrent_kernel)
        if self.input_delay:
            line = states[-1]
            z = z + line[..., :units]
            # Slot j now gets x_t W_{j+1} plus what slot j + 1 held.
            shifted = ops.pad(line[..., units:], [[0, 0], [0, units]])
            new_states.append(projected[..., units:] + shifted)
        if self.use_bias:
            z = z + self.bias
        y = self.activation(z)
        if self.output_delay > 1:
            new_states.insert(0, past_outputs[..., : (self.output_delay - 1) * units])
        if self.output_delay:
            new_states.insert(0, y)
        return y, new_states

    def get_config(self):
        return {
            **super().get_config(),
            "input_delay": self.input_delay,
            "output_delay": self.output_delay,
        }
