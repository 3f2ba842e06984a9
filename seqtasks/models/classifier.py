"""A many-to-one recurrent text classifier: embed the tokens, read them in order, classify.

Example:

>>> model = build_classifier(vocab_size=100, num_classes=2, embedding_dim=8, units=8)
>>> model.predict(keras.ops.convert_to_tensor([[5, 6, 7, 0]]), verbose=0).shape
(1, 2)
"""

import keras

from seqtasks.errors import ConfigError
from seqtasks.layers import MaskedGlobalMaxPooling1D, recurrent_stack
from seqtasks.layers.word_dropout import with_word_dropout

POOLINGS = ("last", "max")


def build_classifier(
    vocab_size,
    num_classes,
    embedding_dim=64,
    cell="lstm",
    units=64,
    depth=1,
    bidirectional=False,
    dropout=0.0,
    pooling="last",
    word_dropout=0.0,
    seed=None,
    name="classifier",
):
    """Builds (uncompiled) Embedding → recurrent stack → pooling → Dropout → Dense softmax.

    The model reads a batch of zero-padded token-id sequences, shape ``(batch, time)``,
    and outputs class probabilities, shape ``(batch, num_classes)``. The embedding masks
    id 0, so padding never reaches the recurrent cells. The whole sentence is summarised
    in one vector before the classifier sees it (many-to-one): with ``pooling="last"``
    the stack's final state (each direction's, concatenated, when bidirectional); with
    ``pooling="max"`` the element-wise maximum of its outputs over the real (unpadded)
    steps, which lets a word anywhere in a long sentence decide a feature.

    Args:
        vocab_size: the number of token ids (id 0 is padding).
        num_classes: the number of labels.
        embedding_dim: the width of the learned word vectors.
        cell: a cell name from `seqtasks.cells.CELLS` ("lstm", "gru", "elman", ...).
        units: the units of each recurrent layer (per direction).
        depth: the number of stacked recurrent layers.
        bidirectional: read the sentence both ways.
        dropout: the dropout rate after the embedding, between layers and before the classifier.
        pooling: "last" (the final state) or "max" (max over the steps' outputs).
        word_dropout: in training, each word id becomes ``<unk>`` (1) with this
            probability (`WordDropout`).
        seed: seeds word dropout.
        name: the model's name.

    Example:

    >>> model = build_classifier(1000, 2, cell="gru", units=16, bidirectional=True)
    >>> model.output_shape
    (None, 2)
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if vocab_size < 2 or num_classes < 2:
        raise ConfigError(
            f"need vocab_size >= 2 and num_classes >= 2, got {vocab_size} and {num_classes}"
        )
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    ids = with_word_dropout(tokens, word_dropout, seed)
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(ids)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    # The architecture idea: many-to-one. The recurrent stack consumes the (masked)
    # sequence; its last state, or the max over its outputs, is a fixed-size summary.
    x = recurrent_stack(
        cell, units=units, depth=depth, bidirectional=bidirectional, dropout=dropout,
        return_sequences=pooling == "max",
    )(x)
    if pooling == "max":
        x = MaskedGlobalMaxPooling1D(name="max_over_time")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(tokens, probabilities, name=name)
