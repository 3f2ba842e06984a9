"""A sequence tagger: one softmax per token over a (bi)directional recurrent stack.

The model is many-to-many and aligned: every input word gets exactly one tag.

    words (batch, T) ──Embedding(mask_zero)──┐
    chars (batch, T, C) ──char CNN per word──┴─concat─ recurrent_stack ─ Dense softmax per step

Padding is masked: the word Embedding's mask flows through the recurrent stack and the
Dense layer to the output, and Keras 3 then leaves padded steps out of the loss (a mean
over the real tokens only) and out of the compiled metrics.

The optional character features give every word, also an unseen one, a vector built
from its spelling (case, prefixes, suffixes): a 1-D convolution over the word's
character embeddings, max-pooled over the characters (Ma and Hovy, 2016).

Example:

>>> data = TaggingData.fit([(["Jordan", "said"], ["B-PER", "O"])])
>>> model = build_tagger(len(data.words), len(data.tags), units=8,
...                      char_vocab_size=len(data.chars))
>>> batch = data.encode([(["Jordan", "said"], ["B-PER", "O"])])
>>> model.predict(batch[0], verbose=0).shape
(1, 2, 3)
"""

import keras
import numpy as np
from keras import ops

from seqtasks.data.batching import pad
from seqtasks.errors import ConfigError, DataError
from seqtasks.layers import recurrent_stack
from seqtasks.data.text import PAD, UNK, Vocabulary


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


def build_tagger(
    vocab_size,
    num_tags,
    embedding_dim=100,
    cell="lstm",
    units=128,
    depth=1,
    bidirectional=True,
    dropout=0.0,
    char_vocab_size=None,
    char_embedding_dim=32,
    char_filters=64,
    char_kernel_size=3,
    max_word_length=20,
    **cell_kwargs,
):
    """A per-token softmax tagger (not compiled).

    Args:
        vocab_size: word vocabulary size; id 0 is padding (masked).
        num_tags: tag vocabulary size, padding tag included; the output has this width.
        embedding_dim: word embedding width.
        cell, units, depth, bidirectional: the recurrent stack (`recurrent_stack`).
        dropout: dropout on the token features and between/after recurrent layers.
        char_vocab_size: with a size, the model also takes character ids
            (batch, words, chars), 0 for padding, and adds a character CNN's features
            to each word's embedding. None: words only.
        char_embedding_dim, char_filters, char_kernel_size: the character CNN.
        max_word_length: the character input's width (longer words are cut).
        **cell_kwargs: passed to each cell.

    Returns:
        A `keras.Model` with input ``words`` (int, (batch, T)) and, with characters,
        ``chars`` (int, (batch, T, max_word_length)), given as a dict; output (batch, T, num_tags)
        probabilities.
    """
    if vocab_size < 2 or num_tags < 2:
        raise ConfigError(f"vocab_size and num_tags must be >= 2, got {vocab_size}, {num_tags}")
    words = keras.Input((None,), dtype="int32", name="words")
    inputs = {"words": words}
    features = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                      name="word_embedding")(words)
    if char_vocab_size is not None:
        chars = keras.Input((None, max_word_length), dtype="int32", name="chars")
        inputs["chars"] = chars
        # Character features: each word's characters -> convolution along the word ->
        # max over its characters. A (1, k) Conv2D over (batch, words, chars, dims) is a
        # 1-D convolution within each word.
        c = keras.layers.Embedding(char_vocab_size, char_embedding_dim,
                                   name="char_embedding")(chars)
        c = keras.layers.Conv2D(char_filters, (1, char_kernel_size), padding="same",
                                activation="relu", name="char_conv")(c)
        c = keras.layers.MaxPooling2D((1, max_word_length), name="char_pool")(c)
        c = keras.layers.Reshape((-1, char_filters), name="char_features")(c)
        features = MaskedConcatenate(name="token_features")([features, c])
    if dropout:
        features = keras.layers.Dropout(dropout)(features)
    # The architecture idea: the recurrent stack returns one state per token; a
    # bidirectional stack's state at a token sees the words on both sides of it.
    x = recurrent_stack(cell, units=units, depth=depth, bidirectional=bidirectional,
                        dropout=dropout, return_sequences=True, **cell_kwargs)(features)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_tags, activation="softmax", name="tags")(x)
    return keras.Model(inputs, outputs, name="tagger")


class TaggingData:
    """The vocabularies of a tagging task and the encoding of sentences into model inputs.

    Attributes:
        words: word Vocabulary (`<pad>`=0, `<unk>`=1).
        tags: tag Vocabulary (`<pad>`=0, no `<unk>`).
        chars: character Vocabulary (`<pad>`=0, `<unk>`=1), or None without characters.
        max_word_length: words are cut to this many characters.
    """

    def __init__(self, words, tags, chars=None, max_word_length=20):
        self.words, self.tags, self.chars = words, tags, chars
        self.max_word_length = max_word_length

    @classmethod
    def fit(cls, sentences, extra_tags=(), min_freq=1, chars=True, max_word_length=20):
        """Vocabularies from training `(tokens, tags)` sentences.

        Words seen fewer than `min_freq` times map to `<unk>`, so the model learns an
        embedding for unknown words. `extra_tags` adds tags seen only in other splits.
        """
        words = Vocabulary.build((t for t, _ in sentences), min_freq=min_freq,
                                 reserved=(PAD, UNK))
        tag_lists = [tags for _, tags in sentences] + [list(extra_tags)]
        tags = Vocabulary.build(tag_lists, reserved=(PAD,))
        char_vocab = None
        if chars:
            char_vocab = Vocabulary.build(
                (list(token) for tokens, _ in sentences for token in tokens), reserved=(PAD, UNK)
            )
        return cls(words, tags, char_vocab, max_word_length)

    def save(self, folder):
        """Writes words.json, tags.json and (with characters) chars.json into `folder`."""
        self.words.save(folder / "words.json")
        self.tags.save(folder / "tags.json")
        if self.chars is not None:
            self.chars.save(folder / "chars.json")

    def inputs(self, token_lists):
        """The model inputs (a dict of int32 arrays padded to the longest sentence)."""
        if not token_lists:
            raise ConfigError("no sentences to encode")
        x = {"words": pad([self.words.encode(tokens) for tokens in token_lists])}
        if self.chars is not None:
            width = self.max_word_length
            chars = np.zeros(x["words"].shape + (width,), dtype="int32")
            for i, tokens in enumerate(token_lists):
                for j, token in enumerate(tokens):
                    ids = self.chars.encode(token[:width])
                    chars[i, j, : len(ids)] = ids
            x["chars"] = chars
        return x

    def check(self, sentences, path=None):
        """DataError (naming `path`) for a sentence with mismatched lengths or an unknown tag."""
        for i, (tokens, tags) in enumerate(sentences):
            if not tokens or len(tokens) != len(tags):
                raise DataError(f"sentence {i + 1} has {len(tokens)} tokens but {len(tags)} tags",
                                path=path)
            unknown = [t for t in tags if t not in self.tags]
            if unknown:
                raise DataError(f"sentence {i + 1}: unknown tag {unknown[0]!r}", path=path)

    def encode(self, sentences, path=None):
        """`(inputs, tag ids)` for `(tokens, tags)` sentences; tags padded with 0."""
        self.check(sentences, path)
        y = pad([self.tags.encode(tags) for _, tags in sentences])
        return self.inputs([tokens for tokens, _ in sentences]), y

    def decode(self, probabilities, token_lists):
        """Tag strings per sentence from model output, cut to each sentence's length."""
        best = np.argmax(probabilities[..., 1:], axis=-1) + 1  # never the padding tag
        return [self.tags.decode(best[i, : len(tokens)], strip_special=False)
                for i, tokens in enumerate(token_lists)]

    def predict(self, model, token_lists, batch_size=64):
        """Predicted tag strings for lists of tokens (batched by length)."""
        order = np.argsort([len(tokens) for tokens in token_lists], kind="stable")
        predicted = [None] * len(token_lists)
        for start in range(0, len(order), batch_size):
            chunk = [token_lists[k] for k in order[start : start + batch_size]]
            probabilities = model.predict_on_batch(self.inputs(chunk))
            for k, tags in zip(order[start : start + batch_size],
                               self.decode(np.asarray(probabilities), chunk)):
                predicted[k] = tags
        return predicted


def tagging_dataset(data, sentences, batch_size=32, shuffle=True, seed=0, path=None):
    """A `tf.data.Dataset` of `(inputs, tag ids)` batches of sentences of similar lengths.

    Each batch is padded only to its longest sentence. With `shuffle`, every pass over
    the dataset (every epoch) shuffles the sentences (reproducibly from `seed`), sorts
    them by length within pools of 50 batches, cuts the pools into batches and shuffles
    the batches; without it, the batches hold consecutive sentences in a fixed order.

    Args:
        data: a `TaggingData`.
        sentences: `(tokens, tags)` pairs.
        batch_size: sentences per batch.
        shuffle: reshuffle on every pass.
        seed: the shuffling seed.
        path: the file the sentences came from, named in a DataError for bad sentences.
    """
    import tensorflow as tf

    sentences = list(sentences)
    if not sentences:
        raise DataError("no sentences", path=path)
    data.check(sentences, path=path)
    rng = np.random.default_rng(seed)

    def batches():
        n = len(sentences)
        order = rng.permutation(n) if shuffle else np.arange(n)
        pool = 50 * batch_size if shuffle else batch_size
        groups = []
        for start in range(0, n, pool):
            chunk = sorted(order[start : start + pool], key=lambda k: len(sentences[k][0]))
            groups += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        if shuffle:
            groups = [groups[k] for k in rng.permutation(len(groups))]
        for group in groups:
            yield data.encode([sentences[k] for k in group])

    inputs = {"words": tf.TensorSpec((None, None), tf.int32)}
    if data.chars is not None:
        inputs["chars"] = tf.TensorSpec((None, None, None), tf.int32)
    signature = (inputs, tf.TensorSpec((None, None), tf.int32))
    pool = 50 * batch_size if shuffle else batch_size
    count = sum(-(-min(pool, len(sentences) - start) // batch_size)
                for start in range(0, len(sentences), pool))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)
