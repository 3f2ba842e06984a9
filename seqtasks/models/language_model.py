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

With ``condition_dim``, the model has a second input, one vector per sequence (a label
one-hot, a seed vector...), that sets the initial state of every layer through a Dense
layer per state (``tanh``): the "one" of one-to-many. `initial_states_from` computes those
states for generation.

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
CONDITION = "condition"


def _recurrent_name(k):
    return f"recurrent_{k}"


def _condition_name(k, j):
    return f"condition_to_state_{k}_{j}"


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
    condition_dim=None,
    name="language_model",
):
    """The training model: int tokens (batch, time) -> next-token logits (batch, time, vocab).

    Args:
        vocab_size: the number of token ids (the softmax width).
        embedding_dim: the width of the token embeddings.
        cell: a cell name from `seqtasks.cells.CELLS`.
        units: units of every recurrent layer.
        depth: the number of stacked recurrent layers.
        dropout: the dropout rate after every recurrent layer (training only).
        condition_dim: None, or the width of a conditioning vector that sets the initial
            states; the model's inputs are then ``[tokens, condition]``.

    Returns:
        An uncompiled `keras.Model` whose outputs are logits: compile it with
        ``SparseCategoricalCrossentropy(from_logits=True)``.
    """
    vocab_size = positive_int("vocab_size", vocab_size)
    embedding_dim = positive_int("embedding_dim", embedding_dim)
    units, depth = positive_int("units", units), positive_int("depth", depth)
    dropout = rate("dropout", dropout)
    if condition_dim is not None:
        condition_dim = positive_int("condition_dim", condition_dim)

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    inputs = [tokens]
    x = keras.layers.Embedding(vocab_size, embedding_dim, name=EMBEDDING)(tokens)
    condition = None
    if condition_dim is not None:
        condition = keras.Input((condition_dim,), name=CONDITION)
        inputs.append(condition)
    for k in range(depth):
        layer = Recurrent(
            make_cell(cell, units), return_sequences=True, return_state=True,
            name=_recurrent_name(k),
        )
        initial_state = None
        if condition is not None:
            # The one-to-many idea: one vector per sequence becomes every initial state.
            initial_state = [
                keras.layers.Dense(size, activation="tanh", name=_condition_name(k, j))(condition)
                for j, size in enumerate(_state_sizes(layer.cell))
            ]
        x = layer(x, initial_state=initial_state)[0]
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{k}")(x)
    logits = keras.layers.Dense(vocab_size, name=OUTPUT)(x)
    return keras.Model(inputs, logits, name=name)


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


def _stateful_graph(model, last_only):
    """Inputs ``[tokens, *states]`` and outputs ``[probs, *new_states]`` over `model`'s layers."""
    layers = recurrent_layers(model)
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = model.get_layer(EMBEDDING)(tokens)
    state_inputs, new_states = [], []
    for k, layer in enumerate(layers):
        states = [keras.Input((size,), name=f"state_{k}_{j}")
                  for j, size in enumerate(_state_sizes(layer.cell))]
        outputs = layer(x, initial_state=states)
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
    (inference). Works on a model loaded back from ``model.keras``.
    """
    inputs, outputs = _stateful_graph(model, last_only=True)
    return keras.Model(inputs, outputs, name="step_model")


def sequence_model_from(model):
    """Like `step_model_from`, but probs are (batch, time, vocab): every step's prediction."""
    inputs, outputs = _stateful_graph(model, last_only=False)
    return keras.Model(inputs, outputs, name="sequence_model")


def initial_states_from(model, batch_size=1, condition=None):
    """The initial states for the step model: zeros, or those `condition` sets.

    Args:
        model: the training model (built by `build_language_model`, or loaded back).
        batch_size: the number of sequences (ignored with `condition`).
        condition: None, or an array (batch, condition_dim) for a conditioned model.

    Returns:
        A list of float32 arrays (batch, size), in step-model input order.
    """
    layers = recurrent_layers(model)
    names = {layer.name for layer in model.layers}
    conditioned = _condition_name(0, 0) in names
    if condition is None:
        if conditioned:
            raise ConfigError("this language model is conditioned: pass a condition vector")
        return [np.zeros((batch_size, size), "float32") for size in state_sizes(model)]
    if not conditioned:
        raise ConfigError("this language model takes no condition")
    condition = np.atleast_2d(np.asarray(condition, "float32"))
    states = []
    for k, layer in enumerate(layers):
        for j in range(len(_state_sizes(layer.cell))):
            dense = model.get_layer(_condition_name(k, j))
            states.append(keras.ops.convert_to_numpy(dense(condition)))
    return states


def stream_cross_entropy(model, ids, rows=32, chunk=256, condition=None):
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
    states = initial_states_from(model, rows, condition)
    total, count = 0.0, 0
    for start in range(0, row_len - 1, chunk):
        x = pieces[:, start : start + chunk]
        y = pieces[:, start + 1 : start + chunk + 1]
        x = x[:, : y.shape[1]]
        outputs = sequence_model.predict_on_batch([x, *states])
        probs = outputs[0]
        states = outputs[1:]
        picked = np.take_along_axis(probs, y[..., None], axis=-1)[..., 0]
        total -= np.log(np.maximum(picked, 1e-12)).sum()
        count += y.size
    return float(total / count)


def position_cross_entropy(model, inputs, targets, batch_size=64):
    """The mean cross-entropy (nats) at each position of windows read from a zero state.

    Shows how much the model gains from context: position 0 is predicted from one
    character, position t from t + 1. Returns an array of length ``inputs.shape[1]``.
    """
    logits = model.predict(inputs, batch_size=batch_size, verbose=0)
    logits = logits - logits.max(axis=-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, np.asarray(targets)[..., None], axis=-1)[..., 0]
    return -picked.mean(axis=0)


class WindowBatches(keras.utils.PyDataset):
    """Truncated-BPTT batches of random windows of a token stream, redrawn every epoch.

    Each epoch is `seqtasks.data.batching.lm_random_batches` with the seed ``seed + epoch``:
    a new random start offset (so windows are cut at new places) and a new shuffle.
    With ``redraw=False`` the same windows come every epoch (for validation).

    Example:

    >>> batches = WindowBatches(np.arange(1000) % 7, seq_len=10, batch_size=4)
    >>> x, y = batches[0]
    >>> x.shape, bool(((x + 1) % 7 == y).all())
    ((4, 10), True)
    """

    def __init__(self, ids, seq_len, batch_size, seed=0, redraw=True):
        super().__init__()
        from seqtasks.data.batching import lm_random_batches

        self._draw = lambda epoch: lm_random_batches(ids, seq_len, batch_size, seed=seed + epoch)
        self.batch_size = batch_size
        self.redraw = redraw
        self.epoch = 0
        self.inputs, self.targets = self._draw(0)
        # The fewest batches any start offset gives, so every epoch has the same length.
        self._length = (len(ids) - seq_len - 1) // seq_len // batch_size
        if self._length < 1:
            raise ConfigError(f"{len(ids)} tokens are too few for one batch of "
                              f"{batch_size} x {seq_len}")

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.inputs[rows], self.targets[rows]

    def on_epoch_end(self):
        if self.redraw:
            self.epoch += 1
            self.inputs, self.targets = self._draw(self.epoch)
