"""The Elman (simple) recurrent cell."""

import keras
from keras import ops

from seqtasks.cells.base import RecurrentCell


@keras.saving.register_keras_serializable(package="seqtasks")
class ElmanCell(RecurrentCell):
    """Elman RNN cell: ``h_t = activation(x_t W + h_{t-1} U + b)``.

    Same weights as `keras.layers.SimpleRNNCell`: `kernel` (input_dim, units),
    `recurrent_kernel` (units, units), `bias` (units,).

    Example:

    >>> import keras
    >>> from seqtasks.layers import Recurrent
    >>> layer = Recurrent(ElmanCell(4), return_sequences=True)
    >>> layer(keras.ops.ones((2, 3, 5))).shape
    (2, 3, 4)
    """

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.state_size = self.units

    def recurrent_step(self, projected, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        h_in = self.recurrent_input(h_tm1, training)
        h = self.activation(projected + ops.matmul(h_in, self.recurrent_kernel))
        return h, [h]
