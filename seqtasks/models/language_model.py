"""A recurrent language model whose states are explicit, so it can generate incrementally.

The training model reads a batch of token sequences and predicts, at every step, the
logits of the next token (one-to-many at generation time, many-to-many in training):

    tokens -> Embedding -> Recurrent_0 -> Dropout -> ... -> Recurrent_{d-1} -> Dropout
           -> Dense(vocab_size) logits

Each `Recurrent` layer is built with ``return_sequences=True, return_state=True`` and the
layers are chained by hand (not `recurrent_stack`, whose inner states are hidden), so the
same layers can be rewired into a STEP model (`step_model_from`) that takes the
recurrent states of every layer as inputs and returns the new states: generation then
feeds one token per call and carries the state, never re-reading the prefix.

With ``stateful_batch_size`` the recurrent layers are stateful (Keras's ``stateful=True``):
each batch starts from the states the previous batch left, for truncated backpropagation
through time over batches that continue each other
(`seqtasks.data.batching.SequentialBatches`); `reset_states` zeroes them, and the
callback `ResetStates` does at the start of every epoch and validation. The step and
sequence models still take any batch size: they read the same cells (the same weights)
through stateless layers.

Example:

>>> model = build_language_model(vocab_size=30, embedding_dim=8, units=16)
>>> model.output_shape
(None, None, 30)
>>> step = step_model_from(model)
>>> [tuple(t.shape) for t in step.inputs]
[(None, None), (None, 16), (None, 16)]
"""

import keras
import numpy as np

from seqtasks.cells.registry import make_cell
from seqtasks.errors import ConfigError
from seqtasks.layers.recurrent import Recurrent
from seqtasks.validation import positive_int, rate

EMBEDDING = "embedding"
OUTPUT = "next_token"


def _recurrent_name(k):
    return f"recurrent_{k}"


def _state_sizes(cell):
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def build_language_model(
    vocab_size,
    embedding_dim=64,
    cell="lstm",
    units=256,
    depth=1,
    dropout=0.0,
    stateful_batch_size=None,
    name="language_model",
):
    """The training model: int tokens (batch, time) -> next-token logits (batch, time, vocab).

    Args:
        vocab_size: the number of token ids (the softmax width).
        embedding_dim: the width of the token embeddings.
        cell: a cell name from `seqtasks.cells.CELLS`, or "tdnn".
        units: units of every recurrent layer.
        depth: the number of stacked recurrent layers.
        dropout: the dropout rate after every recurrent layer (training only).
        stateful_batch_size: None, or the fixed batch size of a stateful model whose
            recurrent layers carry their states from one batch to the next.

    Returns:
        An uncompiled `keras.Model` whose outputs are logits: compile it with
        ``SparseCategoricalCrossentropy(from_logits=True)``.

    Example:

    >>> build_language_model(vocab_size=30, units=8, stateful_batch_size=4).output_shape
    (4, None, 30)
    """
    vocab_size = positive_int("vocab_size", vocab_size)
    embedding_dim = positive_int("embedding_dim", embedding_dim)
    units, depth = positive_int("units", units), positive_int("depth", depth)
    dropout = rate("dropout", dropout)
    stateful = stateful_batch_size is not None
    if stateful:
        stateful_batch_size = positive_int("stateful_batch_size", stateful_batch_size)

    tokens = keras.Input(batch_shape=(stateful_batch_size, None), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name=EMBEDDING)(tokens)
    for k in range(depth):
        layer = Recurrent(make_cell(cell, units), return_sequences=True, return_state=True,
                          stateful=stateful, name=_recurrent_name(k))
        x = layer(x)[0]
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{k}")(x)
    logits = keras.layers.Dense(vocab_size, name=OUTPUT)(x)
    return keras.Model(tokens, logits, name=name)


def recurrent_layers(model):
    """The model's `Recurrent` layers, bottom first (found by name, so loaded models work)."""
    layers, k = [], 0
    names = {layer.name for layer in model.layers}
    while _recurrent_name(k) in names:
        layers.append(model.get_layer(_recurrent_name(k)))
        k += 1
    if not layers:
        raise ConfigError(f"model {model.name!r} is not a seqtasks language model "
                          f"(no layer named {_recurrent_name(0)!r})")
    return layers


def state_sizes(model):
    """The width of every recurrent state, layer by layer, in step-model input order."""
    return [size for layer in recurrent_layers(model) for size in _state_sizes(layer.cell)]


def zero_states(model, batch_size=1):
    """Zero states for the step and sequence models: float32 arrays (batch_size, size)."""
    return [np.zeros((batch_size, size), "float32") for size in state_sizes(model)]


def reset_states(model):
    """Zeroes the carried states of a stateful model (`stateful_batch_size`).

    Example:

    >>> model = build_language_model(vocab_size=5, units=3, stateful_batch_size=2)
    >>> _ = model(np.ones((2, 4), "int32"))
    >>> reset_states(model)
    >>> float(np.abs(keras.ops.convert_to_numpy(recurrent_layers(model)[0].states[0])).max())
    0.0
    """
    for layer in recurrent_layers(model):
        layer.reset_state()


class ResetStates(keras.callbacks.Callback):
    """Zeroes a stateful model's states at the start of every training epoch and of every
    evaluation (the validation after each epoch), so each pass over sequential batches
    starts from zero and carries its states from batch to batch.

    >>> model.fit(SequentialBatches(ids, 64, 32), shuffle=False,  # doctest: +SKIP
    ...           callbacks=[ResetStates()])
    """

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)

    def on_test_begin(self, logs=None):
        reset_states(self.model)


def _stateless(layer):
    """`layer`, or for a stateful one a stateless layer over the same cell (the same
    weights) that takes any batch size and leaves the carried states alone."""
    if not layer.stateful:
        return layer
    return Recurrent(layer.cell, use_fused=layer.use_fused, return_sequences=True,
                     return_state=True, name=f"{layer.name}_stateless")


def _explicit_state_graph(model, last_only):
    """Inputs ``[tokens, *states]`` and outputs ``[probs, *new_states]`` over `model`'s layers."""
    layers = recurrent_layers(model)
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = model.get_layer(EMBEDDING)(tokens)
    state_inputs, new_states = [], []
    for k, layer in enumerate(layers):
        states = [keras.Input((size,), name=f"state_{k}_{j}")
                  for j, size in enumerate(_state_sizes(layer.cell))]
        outputs = _stateless(layer)(x, initial_state=states)
        x = outputs[0]
        state_inputs += states
        new_states += list(outputs[1:])
    if last_only:
        x = x[:, -1, :]
    probs = keras.layers.Softmax(name="next_token_probs")(model.get_layer(OUTPUT)(x))
    return [tokens, *state_inputs], [probs, *new_states]


def step_model_from(model):
    """The incremental generation model that shares `model`'s layers (and weights).

    Inputs: ``[tokens, *states]``, tokens int (batch, time) (one token per sequence when
    generating, or a whole prompt once) and the states of every recurrent layer in
    order (see `state_sizes`). Outputs: ``[probs, *new_states]``, probs (batch, vocab)
    being the next-token distribution after the last input token. Dropout is left out
    (inference). Works on a model loaded back from ``model.keras``, stateful or not.
    """
    inputs, outputs = _explicit_state_graph(model, last_only=True)
    return keras.Model(inputs, outputs, name="step_model")


def sequence_model_from(model):
    """Like `step_model_from`, but probs are (batch, time, vocab): every step's prediction."""
    inputs, outputs = _explicit_state_graph(model, last_only=False)
    return keras.Model(inputs, outputs, name="sequence_model")


def stream_cross_entropy(model, ids, rows=32, chunk=256):
    """The mean next-token cross-entropy (nats/token) over one long token stream.

    The stream is cut into `rows` contiguous pieces that are read in parallel in
    chunks of `chunk` tokens, the recurrent state carried from chunk to chunk, so every
    token is predicted from everything before it in its piece (not from a zero state
    every `chunk` tokens, as a windowed `evaluate` would). The first token of each piece
    is the context only; ``len(ids) - rows`` tokens are scored.

    Example:

    >>> model = build_language_model(vocab_size=5, embedding_dim=4, units=4)
    >>> 1.0 < stream_cross_entropy(model, np.arange(100) % 5, rows=2, chunk=16) < 2.0
    True
    """
    ids = np.asarray(ids, dtype="int32")
    rows = max(1, min(rows, len(ids) // 2))
    row_len = len(ids) // rows
    if row_len < 2:
        raise ConfigError(f"{len(ids)} tokens are too few to score")
    pieces = ids[: rows * row_len].reshape(rows, row_len)
    sequence_model = sequence_model_from(model)
    states = zero_states(model, rows)
    total, count = 0.0, 0
    for start in range(0, row_len - 1, chunk):
        x = pieces[:, start : start + chunk]
        y = pieces[:, start + 1 : start + chunk + 1]
        x = x[:, : y.shape[1]]
        probs, *states = sequence_model.predict_on_batch([x, *states])
        picked = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
        total -= np.log(np.maximum(picked, 1e-12)).sum()
        count += y.size
    return float(total / count)


def position_cross_entropy(model, inputs, targets, batch_size=64):
    """The mean cross-entropy (nats) at each position of windows read from a zero state.

    Shows how much the model gains from context: position 0 is predicted from one
    token, position t from t + 1. Returns an array of length ``inputs.shape[1]``.

    Example:

    >>> model = build_language_model(vocab_size=5, embedding_dim=4, units=4)
    >>> x = np.arange(60).reshape(6, 10) % 5
    >>> position_cross_entropy(model, x, (x + 1) % 5).shape
    (10,)
    """
    sequence_model = sequence_model_from(model)
    picked = []
    for start in range(0, len(inputs), batch_size):
        x, y = inputs[start : start + batch_size], targets[start : start + batch_size]
        probs = sequence_model.predict_on_batch([x, *zero_states(model, len(x))])[0]
        picked.append(np.take_along_axis(probs, np.asarray(y)[..., None], axis=-1)[..., 0])
    return -np.log(np.maximum(np.concatenate(picked), 1e-12)).mean(axis=0)
