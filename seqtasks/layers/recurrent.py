"""`Recurrent`: a recurrent layer that uses a fused LSTM/GRU implementation where one exists."""

import keras
from keras import ops

from seqtasks import compat
from seqtasks.cells.base import RecurrentCell
from seqtasks.cells.minimal import MinimalCell
from seqtasks.layers.linear_recurrence import linear_recurrence
from seqtasks.layers.masking import shown_outputs
from seqtasks.layers.spans import final_state, time_spans
from seqtasks.validation import one_of

# Spans of time of a minimal cell's layer, per backend (`Recurrent._linear_loop`): on
# TensorFlow up to 8 of at least 64 steps, measured with `benchmarks/rnn_throughput.py`
# on 2 CPU cores (length 512: minLSTM 2.6x keras GRU's tokens/s in one span, 2.8x in 4,
# 3.4x in 8, 3.2x in 16; length 50: 3.0x in one span, 2.6x in 8); JAX runs one (XLA on a
# CPU runs one operation at a time).
LINEAR_SPANS = {"tensorflow": 8}
SHORTEST_LINEAR_SPAN = 64


def _cpu_fused(name, *args, **kwargs):
    """The fused "lstm" or "gru" this package provides where the backend has none (CPU)."""
    if keras.backend.backend() == "jax":
        from seqtasks.layers import jax_fused

        return getattr(jax_fused, name)(*args, **kwargs)
    if keras.backend.backend() == "tensorflow":
        from seqtasks.layers import tf_fused

        return getattr(tf_fused, name)(*args, **kwargs)
    raise NotImplementedError


def _lstm(seq, state, mask, zero_output_for_mask=False, **kwargs):
    """The backend's fused LSTM (cuDNN), else this package's; NotImplementedError if none.

    Only this package's takes `zero_output_for_mask`; the backends' show cuDNN's outputs.
    """
    try:
        return compat.lstm(seq, state[0], state[1], mask, **kwargs)
    except NotImplementedError:
        return _cpu_fused("lstm", seq, state[0], state[1], mask,
                          zero_output_for_mask=zero_output_for_mask, **kwargs)


def _gru(reset_after):
    """The backend's fused GRU (cuDNN), else this package's, for `reset_after`."""

    def gru(seq, state, mask, zero_output_for_mask=False, **kwargs):
        try:
            return compat.gru(seq, state[0], mask, reset_after=reset_after, **kwargs)
        except NotImplementedError:
            return _cpu_fused("gru", seq, state[0], mask, reset_after=reset_after,
                              zero_output_for_mask=zero_output_for_mask, **kwargs)

    return gru


def _fused_op(cell, training):
    """A fused LSTM/GRU function for `cell`, or None when the cell is not a standard one."""
    standard = getattr(cell, "is_standard", lambda: False)()
    if not standard or (training and cell.recurrent_dropout > 0.0):
        return None
    name = type(cell).__name__
    if name == "LSTMCell":
        return _lstm
    if name == "GRUCell":
        return _gru(cell.reset_after)
    return None


@keras.saving.register_keras_serializable(package="seqtasks")
class Recurrent(keras.layers.RNN):
    """A recurrent layer over one seqtasks cell, using a fused implementation where one exists.

    When the cell is a standard LSTM or GRU (Keras's activations, no recurrent
    dropout, no peepholes or layer norm), the sequence goes to the backend's fused
    implementation where one exists (cuDNN on a GPU, as `keras.layers.LSTM`/`GRU`
    do) and, on a CPU, to seqtasks' own fused LSTM and GRU (`tf_fused` on TensorFlow,
    `jax_fused` on JAX; any mask, both reset conventions of the GRU), whose backward
    pass computes the weight gradients as single large matrix products after the time
    loop.
    A minimal cell (`MinGRUCell`, `MinLSTMCell`) has gates that read only the input:
    the layer projects the whole sequence in one matrix product and runs only the
    element-wise recurrence (`linear_recurrence`), any mask included. Otherwise it runs
    Keras's per-step loop over the cell, exactly as `keras.layers.RNN` does.

    The per-step loop projects each step's input inside the loop: hoisting the
    projection of the whole sequence into one matrix product before a
    `keras.layers.RNN` loop measured slower on CPU (see `benchmarks/rnn_throughput.py`).

    Masks, `return_state`, `initial_state`, `go_backwards`, `stateful` and
    `keras.layers.Bidirectional` behave as with `keras.layers.RNN` (a stateful layer on
    the torch backend always runs the loop, see `inner_loop`): padded steps keep
    the previous state and repeat the last valid output (zeros with
    ``zero_output_for_mask=True``). Inputs must be 3-D (batch, time, features), as for
    `keras.layers.LSTM`; others raise ValueError ("expected ndim=3").

    Args:
        cell: a seqtasks cell (`ElmanCell`, `LSTMCell`, `GRUCell`, `MinGRUCell`, ...) or
            any Keras RNN cell.
        return_sequences, return_state, go_backwards, stateful, zero_output_for_mask,
        unroll: as in `keras.layers.RNN`.
        use_fused: "auto" (fused where available), or False to always use the loop.

    Example:

    >>> import keras
    >>> from seqtasks.cells import LSTMCell
    >>> inputs = keras.Input((None, 16))
    >>> outputs = Recurrent(LSTMCell(32))(keras.layers.Masking()(inputs))
    >>> keras.Model(inputs, outputs).output_shape
    (None, 32)
    """

    def __init__(self, cell, use_fused="auto", **kwargs):
        super().__init__(cell, **kwargs)
        self.use_fused = one_of("use_fused", use_fused, ("auto", False))
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        fused = None
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        # Keras casts only floating inputs to the compute dtype; the fused and linear
        # paths cast integer ones too (the loop's matmul promotes them the same way).
        sequences = ops.cast(sequences, self.compute_dtype)
        if isinstance(cell, MinimalCell) and self.use_fused == "auto":
            return self._linear_loop(sequences, initial_state, mask, training)
        if isinstance(cell, RecurrentCell) and self.use_fused == "auto" and not (
                self.stateful and keras.backend.backend() == "torch"):
            # Stateful layers on torch take Keras's loop, which copies the carried state:
            # torch's cuDNN kernels update it in place and break the backward pass
            # (keras-team/keras#23462).
            fused = _fused_op(cell, training)
        if fused is not None:
            try:
                return self._fused_loop(fused, sequences, initial_state, mask, training)
            except NotImplementedError:
                pass  # no fused kernel for this backend/device/mask: use the loop
        return super().inner_loop(sequences, initial_state, mask, training=training)

    def _dropped_inputs(self, sequences, training):
        """The sequences with the cell's input dropout: one mask per sequence, the same
        at every step (as Keras does)."""
        cell = self.cell
        if training and cell.dropout > 0.0:
            return sequences * ops.expand_dims(cell.get_dropout_mask(sequences[:, 0, :]), 1)
        return sequences

    def _linear_loop(self, sequences, initial_state, mask, training):
        """A minimal cell over the whole sequence: the input projection, then
        ``h_t = a_t * h_{t-1} + b_t``; a masked step keeps the state (a = 1, b = 0) and,
        as in Keras's loop, repeats the last valid output (or zeros with
        ``zero_output_for_mask``). On TensorFlow both run span by span of time
        (`LINEAR_SPANS`), so that a span's projection runs beside the recurrence of
        another."""
        cell = self.cell
        # Time-major throughout: the (narrower) inputs are transposed instead of the
        # projection, and the recurrence reads each step's rows contiguously.
        inputs = ops.transpose(self._dropped_inputs(sequences, training), (1, 0, 2))
        valid = None
        if mask is not None:
            valid = ops.expand_dims(ops.transpose(ops.cast(mask, "bool")), -1)
        if self.go_backwards:
            inputs = ops.flip(inputs, 0)
            valid = None if valid is None else ops.flip(valid, 0)
        state = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
        parts = []
        count = LINEAR_SPANS.get(keras.backend.backend(), 1)
        for start, stop in time_spans(ops.shape(inputs)[0], count, SHORTEST_LINEAR_SPAN):
            a, b = cell.sequence_terms(inputs[start:stop])
            if valid is not None:
                kept = valid[start:stop]
                a, b = ops.where(kept, a, ops.ones_like(a)), ops.where(kept, b, ops.zeros_like(b))
            parts.append(linear_recurrence(a, b, state, time_major=True))
            state = final_state(parts[-1], state)
        states = ops.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
        outputs = shown_outputs(states, valid, self.zero_output_for_mask, time_axis=0)
        return outputs[-1], ops.transpose(outputs, (1, 0, 2)), [state]

    def _fused_loop(self, fused, sequences, initial_state, mask, training):
        """Runs `fused` over the whole sequence; raises NotImplementedError where it can't."""
        cell = self.cell
        sequences = self._dropped_inputs(sequences, training)
        return fused(
            sequences,
            initial_state,
            mask,
            kernel=cell.kernel,
            recurrent_kernel=cell.recurrent_kernel,
            bias=cell.bias,
            activation=cell.activation,
            recurrent_activation=cell.recurrent_activation,
            return_sequences=self.return_sequences,
            go_backwards=self.go_backwards,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
        )

    def get_config(self):
        return {**super().get_config(), "use_fused": self.use_fused}
