"""Deep, bidirectional and residual stacks of recurrent layers."""

import keras

from seqtasks.cells.registry import make_cell
from seqtasks.errors import ConfigError
from seqtasks.layers.recurrent import Recurrent
from seqtasks.layers.tdnn import TDNN
from seqtasks.validation import one_of, positive_int, rate

MERGE_MODES = ("concat", "sum", "mul", "ave")


class _KeepAlive:
    """Holds objects alive without Keras tracking them as sublayers.

    `keras.layers.Bidirectional` copies its template layer by serializing it twice;
    inside `keras.saving.load_model` that goes through an object-sharing table keyed
    by `id()`. A freed template's id can be reused by the next template, which the
    table then mistakes for the earlier (backward) layer and loading fails at random.
    Keeping every template alive for the stack's lifetime keeps the ids unique.
    """

    def __init__(self):
        self.items = []


@keras.saving.register_keras_serializable(package="seqtasks")
class RecurrentStack(keras.layers.Layer):
    """`depth` recurrent layers of one cell type; build it with `recurrent_stack`.

    Layer k feeds layer k+1; every layer but the last returns sequences. Between
    layers: dropout (rate `dropout`) and, with `residual=True`, a skip connection
    ``x + layer(x)`` wherever a layer's input and output sequences have the same width.
    Masks flow through every layer. Inputs must be 3-D (batch, time, features); others
    raise ValueError ("expected ndim=3").
    """

    def __init__(
        self,
        cell="lstm",
        units=128,
        depth=1,
        bidirectional=False,
        merge_mode="concat",
        dropout=0.0,
        residual=False,
        return_sequences=False,
        cell_kwargs=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if cell == "tdnn" and bidirectional:
            raise ConfigError("cell 'tdnn' sees past inputs only and cannot be bidirectional")
        self.cell_name = cell
        self.units = positive_int("units", units)
        self.depth = positive_int("depth", depth)
        self.bidirectional = bidirectional
        self.merge_mode = one_of("merge_mode", merge_mode, MERGE_MODES)
        self.dropout = rate("dropout", dropout)
        self.residual = residual
        self.return_sequences = return_sequences
        self.cell_kwargs = dict(cell_kwargs or {})
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3)
        self._templates = _KeepAlive()
        self.recurrent_layers = [self._make_layer(k) for k in range(depth)]
        self.dropout_layers = [keras.layers.Dropout(dropout) for _ in range(depth - 1)]

    def _make_layer(self, k):
        sequences = self.return_sequences or k < self.depth - 1
        if self.cell_name == "tdnn":
            return TDNN(self.units, return_sequences=sequences, **self.cell_kwargs)
        layer = Recurrent(
            make_cell(self.cell_name, self.units, **self.cell_kwargs),
            return_sequences=sequences,
        )
        if self.bidirectional:
            self._templates.items.append(layer)
            layer = keras.layers.Bidirectional(layer, merge_mode=self.merge_mode)
        return layer

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.recurrent_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.built = True

    def call(self, inputs, mask=None, training=False):
        x = inputs
        for k, layer in enumerate(self.recurrent_layers):
            y = layer(x, mask=mask, training=training)
            if self.residual and len(y.shape) == 3 and y.shape[-1] == x.shape[-1]:
                y = x + y
            if k < self.depth - 1:
                y = self.dropout_layers[k](y, training=training)
            x = y
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.recurrent_layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def get_config(self):
        return {
            **super().get_config(),
            "cell": self.cell_name,
            "units": self.units,
            "depth": self.depth,
            "bidirectional": self.bidirectional,
            "merge_mode": self.merge_mode,
            "dropout": self.dropout,
            "residual": self.residual,
            "return_sequences": self.return_sequences,
            "cell_kwargs": self.cell_kwargs,
        }


def recurrent_stack(
    cell="lstm",
    units=128,
    depth=1,
    bidirectional=False,
    merge_mode="concat",
    dropout=0.0,
    residual=False,
    return_sequences=False,
    name=None,
    **cell_kwargs,
):
    """A deep and/or bidirectional recurrent block, as one layer.

    Args:
        cell: a cell name from `seqtasks.cells.CELLS` ("elman", "lstm", "gru", "narx", ...),
            or "tdnn" for time-delay layers (`seqtasks.layers.TDNN`; not bidirectional).
        units: units of each cell (each direction, when bidirectional).
        depth: number of stacked recurrent layers.
        bidirectional: wrap each layer in `keras.layers.Bidirectional`.
        merge_mode: how the two directions combine ("concat", "sum", "mul", "ave").
        dropout: dropout rate between stacked layers.
        residual: add each layer's input to its output where their widths match.
        return_sequences: whether the last layer returns the whole sequence.
        name: the layer's name.
        **cell_kwargs: passed to every cell (e.g. ``recurrent_dropout=0.1``).

    Example:

    >>> import keras
    >>> block = recurrent_stack("gru", units=8, depth=2, bidirectional=True)
    >>> block(keras.ops.ones((2, 5, 3))).shape
    (2, 16)
    """
    return RecurrentStack(
        cell=cell,
        units=units,
        depth=depth,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        dropout=dropout,
        residual=residual,
        return_sequences=return_sequences,
        cell_kwargs=cell_kwargs,
        name=name,
    )
