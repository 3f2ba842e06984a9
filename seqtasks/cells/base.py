"""The shared base of seqtasks cells: weights in Keras's layout, dropout, and a split step.

A cell's step is split in two so that `seqtasks.layers.Recurrent` can hoist the input
half out of the time loop:

- `project_inputs(x)` is the input projection ``x @ kernel (+ input bias)``. It works on
  one step ``(batch, input_dim)`` or on a whole sequence ``(batch, time, input_dim)``.
- `recurrent_step(projected_t, states)` is everything that needs the previous state.

``call(x_t, states) == recurrent_step(project_inputs(x_t), states)``, so a cell also works
inside `keras.layers.RNN` and `keras.layers.Bidirectional` like any Keras cell.
"""

import keras
from keras import ops

from seqtasks.compat import DropoutRNNCell
from seqtasks.validation import positive_int, rate


class RecurrentCell(DropoutRNNCell, keras.layers.Layer):
    """Base class: `kernel` (input_dim, G*units), `recurrent_kernel` (units, G*units), `bias`.

    Subclasses set `self.gates` (G) in `__init__`, and implement `recurrent_step`; cells
    whose gates read only the input set `has_recurrent_kernel` to False.
    They may override `bias_shape`, `bias_initializer_for_build`, `input_bias`
    and `build_extra_weights` (for weights that come after the standard three).
    """

    has_recurrent_kernel = True

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = rate("dropout", dropout)
        self.recurrent_dropout = rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.gates = 1
        self.output_size = self.units

    # ----------------------------------------------------------------- weights
    def bias_shape(self):
        return (self.gates * self.units,)

    def bias_initializer_for_build(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = None
        if self.has_recurrent_kernel:
            self.recurrent_kernel = self.add_weight(
                shape=(self.units, width),
                name="recurrent_kernel",
                initializer=self.recurrent_initializer,
                regularizer=self.recurrent_regularizer,
                constraint=self.recurrent_constraint,
            )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.bias_initializer_for_build(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.build_extra_weights()
        self.built = True

    def build_extra_weights(self):
        """Adds weights beyond kernel/recurrent_kernel/bias (after them, in order)."""

    # -------------------------------------------------------------------- step
    def input_bias(self):
        """The part of the bias added to the input projection (None for none)."""
        return self.bias

    def project_inputs(self, inputs):
        """``inputs @ kernel + input_bias``, for one step or a whole sequence."""
        projected = ops.matmul(inputs, self.kernel)
        bias = self.input_bias()
        if bias is not None:
            projected = projected + bias
        return projected

    def recurrent_step(self, projected, states, training=False):
        """One time step from an already projected input; returns (output, new_states)."""
        raise NotImplementedError

    def recurrent_input(self, h_tm1, training):
        """The previous output with the recurrent dropout mask applied (when training)."""
        if training and self.recurrent_dropout > 0.0:
            return h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        return h_tm1

    def call(self, inputs, states, training=False):
        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        return self.recurrent_step(self.project_inputs(inputs), states, training=training)

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    # ------------------------------------------------------------------ config
    def get_config(self):
        ser = keras.saving.serialize_keras_object
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": ser(self.kernel_initializer),
            "recurrent_initializer": ser(self.recurrent_initializer),
            "bias_initializer": ser(self.bias_initializer),
            "kernel_regularizer": ser(self.kernel_regularizer),
            "recurrent_regularizer": ser(self.recurrent_regularizer),
            "bias_regularizer": ser(self.bias_regularizer),
            "kernel_constraint": ser(self.kernel_constraint),
            "recurrent_constraint": ser(self.recurrent_constraint),
            "bias_constraint": ser(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


class GatedCell(RecurrentCell):
    """A cell with a `recurrent_activation` for its gates (LSTM, GRU)."""

    def __init__(self, units, recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = keras.activations.get(recurrent_activation)

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
        }
