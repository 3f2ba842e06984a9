"""A sequence tagger: a (bi)directional recurrent stack, then a softmax per token or a
linear-chain CRF over the whole tag sequence.

The model is many-to-many and aligned: every input word gets exactly one tag.

    words (batch, T) ─WordDropout─Embedding(mask_zero)─┐
    chars (batch, T, C) ──character encoder per word───┴─concat─ recurrent_stack ─┬─ Dense softmax
                                                                                  └─ Dense ─ CRF

Padding is masked: the word Embedding's mask flows through the recurrent stack and the
Dense layer to the output, and Keras 3 then leaves padded steps out of the loss (a mean
over the real tokens only) and out of the compiled metrics.

The optional character features give every word, also an unseen one, a vector built
from its spelling (case, prefixes, suffixes): a 1-D convolution over the word's
character embeddings, max-pooled over the characters (Ma and Hovy, 2016), or the final
states of a bidirectional LSTM over them (`CharacterLSTM`; Lample et al., 2016; Plank et
al., 2016). Word dropout (`seqtasks.layers.word_dropout`) makes known words ``<unk>`` at
random in training, so the model learns to tag from the characters and the context.

With ``output="crf"`` the model is a `seqtasks.layers.CRFModel`: it gives tag potentials,
trains on the CRF's sequence log-likelihood and is decoded with Viterbi
(``model.crf.decode``), so each tag is chosen together with its neighbours.

The vocabularies and the encoding of sentences into these inputs are the tagging
task's (`seqtasks.tasks.tagging.Preprocessor`).

Example:

>>> import numpy as np
>>> model = build_tagger(vocab_size=20, num_tags=5, units=8, char_vocab_size=30,
...                      max_word_length=6)
>>> inputs = {"words": np.array([[3, 4, 0]]), "chars": np.ones((1, 3, 6), "int32")}
>>> model.predict(inputs, verbose=0).shape
(1, 3, 5)
"""

import keras
from keras import ops

from seqtasks.errors import ConfigError
from seqtasks.layers import CRF, CRFModel, recurrent_stack
from seqtasks.layers.word_dropout import with_word_dropout
from seqtasks.validation import one_of


@keras.saving.register_keras_serializable(package="seqtasks")
class MaskedConcatenate(keras.layers.Concatenate):
    """`Concatenate` whose output mask is the AND of its inputs' masks.

    Keras's `Concatenate` ORs the masks, treating an unmasked input as all valid, so
    concatenating masked word embeddings with unmasked character features would unmask
    the padding. Here unmasked inputs are ignored and the masks (same shape) are ANDed.
    """

    def compute_mask(self, inputs, mask=None):
        masks = [m for m in (mask or []) if m is not None]
        if not masks:
            return None
        result = masks[0]
        for m in masks[1:]:
            result = ops.logical_and(result, m)
        return result


@keras.saving.register_keras_serializable(package="seqtasks")
class CharacterLSTM(keras.layers.Layer):
    """Each word's characters read by a bidirectional LSTM: the final forward and
    backward states, (batch, words, 2 * units) from character ids (batch, words, chars).

    Character id 0 is padding (masked), so each word is read over its own length; a
    padding word (all zeros) gets zeros.

    Args:
        char_vocab_size: character vocabulary size, padding (0) included.
        embedding_dim: character embedding width.
        units: LSTM units per direction.
    """

    def __init__(self, char_vocab_size, embedding_dim=32, units=32, **kwargs):
        super().__init__(**kwargs)
        self.char_vocab_size, self.embedding_dim, self.units = (
            char_vocab_size, embedding_dim, units)
        self.embedding = keras.layers.Embedding(char_vocab_size, embedding_dim,
                                                name="char_embedding")
        self.encoder = recurrent_stack("lstm", units=units, bidirectional=True,
                                       name="char_lstm")

    def build(self, input_shape):
        chars_per_word = input_shape[-1]
        self.embedding.build((None, chars_per_word))
        self.encoder.build((None, chars_per_word, self.embedding_dim))
        self.built = True

    def call(self, chars):
        shape = ops.shape(chars)
        words = ops.reshape(chars, (-1, shape[-1]))
        states = self.encoder(self.embedding(words), mask=ops.not_equal(words, 0))
        return ops.reshape(states, (shape[0], shape[1], 2 * self.units))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], 2 * self.units)

    def get_config(self):
        return {**super().get_config(), "char_vocab_size": self.char_vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units}


def character_cnn(chars, char_vocab_size, embedding_dim, filters, kernel_size,
                  max_word_length):
    """Each word's characters -> convolution along the word -> max over its characters:
    (batch, words, filters). A (1, k) Conv2D over (batch, words, chars, dims) is a 1-D
    convolution within each word."""
    c = keras.layers.Embedding(char_vocab_size, embedding_dim, name="char_embedding")(chars)
    c = keras.layers.Conv2D(filters, (1, kernel_size), padding="same",
                            activation="relu", name="char_conv")(c)
    c = keras.layers.MaxPooling2D((1, max_word_length), name="char_pool")(c)
    return keras.layers.Reshape((-1, filters), name="char_features")(c)


CHAR_ENCODERS = ("cnn", "lstm")
OUTPUTS = ("softmax", "crf")


def build_tagger(
    vocab_size,
    num_tags,
    embedding_dim=100,
    cell="lstm",
    units=128,
    depth=1,
    bidirectional=True,
    dropout=0.0,
    word_dropout=0.0,
    output="softmax",
    char_vocab_size=None,
    char_encoder="cnn",
    char_embedding_dim=32,
    char_filters=64,
    char_kernel_size=3,
    max_word_length=20,
    seed=None,
    **cell_kwargs,
):
    """A tagger (not compiled): per-token softmaxes, or a CRF over the tag sequence.

    Args:
        vocab_size: word vocabulary size; id 0 is padding (masked), id 1 ``<unk>``.
        num_tags: tag vocabulary size, padding tag included; the output has this width.
        embedding_dim: word embedding width.
        cell, units, depth, bidirectional: the recurrent stack (`recurrent_stack`).
        dropout: dropout on the token features and between/after recurrent layers.
        word_dropout: in training, each word id becomes ``<unk>`` (1) with this
            probability (`WordDropout`), so the unknown-word path learns.
        output: ``"softmax"`` (a softmax per token; a `keras.Model` giving
            probabilities) or ``"crf"`` (linear tag potentials into a `CRF`; a `CRFModel`
            giving potentials, decoded with ``model.crf.decode``; compile it without a loss).
        char_vocab_size: with a size, the model also takes character ids
            (batch, words, chars), 0 for padding, and adds character features to each
            word's embedding. None: words only.
        char_encoder: ``"cnn"`` (convolution + max pooling, `char_filters` wide) or
            ``"lstm"`` (`CharacterLSTM`, ``char_filters // 2`` units a direction).
        char_embedding_dim, char_filters, char_kernel_size: the character encoder.
        max_word_length: the character input's width (longer words are cut).
        seed: seeds word dropout.
        **cell_kwargs: passed to each cell.

    Returns:
        A `keras.Model` (softmax) or `CRFModel` (crf) with input ``words`` (int,
        (batch, T)) and, with characters, ``chars`` (int, (batch, T, max_word_length)),
        given as a dict; output (batch, T, num_tags).
    """
    if vocab_size < 2 or num_tags < 2:
        raise ConfigError(f"vocab_size and num_tags must be >= 2, got {vocab_size}, {num_tags}")
    one_of("output", output, OUTPUTS)
    one_of("char_encoder", char_encoder, CHAR_ENCODERS)
    words = keras.Input((None,), dtype="int32", name="words")
    inputs = {"words": words}
    features = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                      name="word_embedding")(
        with_word_dropout(words, word_dropout, seed))
    if char_vocab_size is not None:
        chars = keras.Input((None, max_word_length), dtype="int32", name="chars")
        inputs["chars"] = chars
        if char_encoder == "cnn":
            c = character_cnn(chars, char_vocab_size, char_embedding_dim, char_filters,
                              char_kernel_size, max_word_length)
        else:
            c = CharacterLSTM(char_vocab_size, char_embedding_dim, max(char_filters // 2, 1),
                              name="char_features")(chars)
        features = MaskedConcatenate(name="token_features")([features, c])
    if dropout:
        features = keras.layers.Dropout(dropout)(features)
    # The architecture idea: the recurrent stack returns one state per token; a
    # bidirectional stack's state at a token sees the words on both sides of it.
    x = recurrent_stack(cell, units=units, depth=depth, bidirectional=bidirectional,
                        dropout=dropout, return_sequences=True, **cell_kwargs)(features)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    if output == "softmax":
        outputs = keras.layers.Dense(num_tags, activation="softmax", name="tags")(x)
        return keras.Model(inputs, outputs, name="tagger")
    # A CRF scores whole tag sequences: per-token potentials plus tag-to-tag transitions.
    potentials = keras.layers.Dense(num_tags, name="tag_potentials")(x)
    return CRFModel(inputs, CRF(num_tags, name="crf")(potentials), name="tagger")
