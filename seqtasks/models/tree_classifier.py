"""A classifier of every node of a tree: embed the words, compose them bottom-up with a
Tree-LSTM, classify each node's state; and the bag of words of every node's subtree
(`build_subtree_word_classifier`), which the trees task mixes in.

The inputs are the arrays of `seqtasks.data.trees.encode_trees` (``tokens``,
``children``, ``levels``); the output is a probability distribution over the labels at
every node, (batch, nodes, classes), the root of tree ``b`` at ``root_index[b]``.

Example:

>>> from seqtasks.data.trees import encode_trees, parse_tree
>>> model = build_tree_classifier(vocab_size=10, num_classes=5, embedding_dim=4, units=4)
>>> batch = encode_trees([parse_tree("(3 (2 a) (4 b))")], {"a": 2, "b": 3}.get, 2)
>>> inputs = {"tokens": batch.tokens, "children": batch.children, "levels": batch.levels}
>>> model.predict(inputs, verbose=0).shape
(1, 3, 5)
"""

import keras

from seqtasks.errors import ConfigError
from seqtasks.layers.stack import recurrent_stack
from seqtasks.layers.subtree_words import SubtreeWordScores
from seqtasks.layers.tree_lstm import TreeLSTM
from seqtasks.layers.word_dropout import with_word_dropout

COMPOSITIONS = ("binary", "childsum")
LEAVES = ("embedding", "bilstm")


@keras.saving.register_keras_serializable(package="seqtasks")
class WordsOnly(keras.layers.Layer):
    """Zeroes the vectors of nodes without a word (token id 0): a constituency tree's
    internal nodes get no input, only their children's states. A mask on the vectors (the
    leaf BiLSTM's) ends here: the Tree-LSTM takes every node."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, vectors, tokens, mask=None):
        return None

    def call(self, vectors, tokens, mask=None):
        has_word = keras.ops.cast(keras.ops.not_equal(tokens, 0), vectors.dtype)
        return vectors * keras.ops.expand_dims(has_word, -1)


def build_tree_classifier(
    vocab_size,
    num_classes,
    embedding_dim=100,
    units=150,
    composition="binary",
    max_children=2,
    dropout=0.0,
    word_dropout=0.0,
    leaves="embedding",
    seed=None,
    name="tree_classifier",
):
    """Builds (uncompiled) Embedding [-> leaf BiLSTM] -> Tree-LSTM -> Dropout -> Dense
    softmax per node.

    Args:
        vocab_size: the number of token ids (0: a node without a word; 1: unknown).
        num_classes: the number of node labels.
        embedding_dim: the width of the learned word vectors.
        units: the Tree-LSTM's state size.
        composition: "binary" (the N-ary Tree-LSTM for N = 2: each child has its own
            weights, for binarised constituency trees) or "childsum" (the Child-Sum
            Tree-LSTM: any number of children, summed).
        max_children: C, the width of the ``children`` input (2 for "binary").
        dropout: the dropout rate on the word vectors and on the states.
        word_dropout: in training, each word id becomes ``<unk>`` (1) with this
            probability (`WordDropout`; nodes without a word keep id 0).
        leaves: what a word node reads: its "embedding", or "bilstm": the states of a
            BiLSTM (``units // 2`` a direction) run over the sentence's words in order
            (a tree's word nodes are in sentence order; the other nodes are masked).
        seed: seeds the word dropout.
        name: the model's name.
    """
    if composition not in COMPOSITIONS:
        raise ConfigError(f"composition must be one of {COMPOSITIONS}, got {composition!r}")
    if leaves not in LEAVES:
        raise ConfigError(f"leaves must be one of {LEAVES}, got {leaves!r}")
    if vocab_size < 2 or num_classes < 2:
        raise ConfigError(
            f"need vocab_size >= 2 and num_classes >= 2, got {vocab_size} and {num_classes}")
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    children = keras.Input(shape=(None, max_children), dtype="int32", name="children")
    levels = keras.Input(shape=(None, None), dtype="int32", name="levels")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(
        with_word_dropout(tokens, word_dropout, seed))
    x = WordsOnly(name="words_only")(x, tokens)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    if leaves == "bilstm":
        x = recurrent_stack("lstm", units=max(units // 2, 1), bidirectional=True,
                            return_sequences=True, name="leaf_lstm")(
            x, mask=keras.ops.not_equal(tokens, 0))
        x = WordsOnly(name="leaf_words_only")(x, tokens)
    # The architecture idea: a node's state is composed from its children's, so a
    # phrase is read in its tree, one height of the whole batch at a time.
    states = TreeLSTM(units, kind=composition, name="tree_lstm")(x, children, levels)
    states = keras.layers.Dropout(dropout, name="dropout")(states)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", name="classes")(states)
    inputs = {"tokens": tokens, "children": children, "levels": levels}
    return keras.Model(inputs, probabilities, name=name)


def build_subtree_word_classifier(vocab_size, num_classes, max_children=2,
                                  name="subtree_words"):
    """Builds (uncompiled) the bag of words of every node: ``tokens`` and ``children``
    (as `build_tree_classifier` takes them) -> `SubtreeWordScores` -> softmax per node."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    children = keras.Input(shape=(None, max_children), dtype="int32", name="children")
    scores = SubtreeWordScores(vocab_size, num_classes, name="subtree_word_scores")(
        tokens, children)
    probabilities = keras.layers.Activation("softmax", name="classes")(scores)
    return keras.Model({"tokens": tokens, "children": children}, probabilities, name=name)
