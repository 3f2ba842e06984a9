"""The time-delay neural network (TDNN): a feed-forward layer over a causal window of inputs."""

import keras
from keras import ops

from seqtasks.validation import non_negative_int, positive_int


def last_valid(sequence, mask):
    """Each sequence's item at its last step where `mask` is True (step 0 when none is).

    `sequence` (batch, time, ...), `mask` (batch, time) bool: what an RNN layer returns
    without return_sequences, since it keeps its output over masked steps.
    """
    steps = ops.arange(ops.shape(mask)[1])
    last = ops.max(ops.where(mask, steps[None, :], 0), axis=1)
    return ops.take_along_axis(sequence, ops.reshape(last, (-1, 1, 1)), axis=1)[:, 0]


@keras.saving.register_keras_serializable(package="seqtasks")
class TDNN(keras.layers.Layer):
    """Time-delay neural network layer: ``y_t = activation(sum_d x_{t-d} W_d + b)``, d = 0..delay.

    Causal: y_t sees only the current input and the `delay` inputs before it (steps
    before the start count as zeros). Weights: `kernel` (delay + 1, input_dim, units),
    `kernel[d]` applied to x_{t-d} (the layout of a causal `keras.layers.Conv1D` with
    flipped taps), and `bias` (units,).

    Used like a recurrent layer on 3-D inputs (batch, time, features); others raise
    ValueError ("expected ndim=3"). `return_sequences` gives (batch, time, units), else the
    output at the last unmasked step (batch, units). Masked steps are zeroed before the
    window, so they add nothing to later outputs; with `return_sequences` the mask
    passes through.

    Args:
        units: output width.
        delay: how many past inputs each output sees (0: a per-step Dense layer).
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer: as in `keras.layers.Dense`.
        return_sequences: return every step's output, not only the last.

    Example:

    >>> layer = TDNN(8, delay=2, return_sequences=True)
    >>> tuple(layer(keras.ops.ones((2, 5, 3))).shape)
    (2, 5, 8)
    """

    def __init__(
        self,
        units,
        delay=2,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        return_sequences=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.delay = non_negative_int("delay", delay)
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.return_sequences = return_sequences
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(self.delay + 1, input_shape[-1], self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.cast(mask, inputs.dtype)[..., None]
        time = ops.shape(inputs)[1]
        padded = ops.pad(inputs, [[0, 0], [self.delay, 0], [0, 0]])
        # windows[:, t, d] = x_{t-d}
        windows = ops.stack(
            [padded[:, self.delay - d : self.delay - d + time] for d in range(self.delay + 1)],
            axis=2,
        )
        outputs = ops.einsum("btdf,dfu->btu", windows, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        outputs = self.activation(outputs)
        if self.return_sequences:
            return outputs
        if mask is None:
            return outputs[:, -1]
        return last_valid(outputs, mask)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (*input_shape[:-1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "units": self.units,
            "delay": self.delay,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": ser(self.kernel_initializer),
            "bias_initializer": ser(self.bias_initializer),
            "kernel_regularizer": ser(self.kernel_regularizer),
            "bias_regularizer": ser(self.bias_regularizer),
            "return_sequences": self.return_sequences,
        }
