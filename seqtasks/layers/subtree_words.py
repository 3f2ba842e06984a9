"""`SubtreeWordScores`: at every node of a tree, the class scores of a linear model over
the words of its subtree.

A bag of words for each phrase of a parse tree: every word id has a weight per class,
and a node's scores are the sum of the weights of the words at it and below it, over the
square root of their count (as `NGramScores` does for a whole text), plus a weight per
class for that count (up to `LENGTHS` - 1): most short phrases of a treebank are
neutral and few whole sentences are, which words alone cannot tell. Beside a
Tree-LSTM, which composes its phrases, it adds what the words of a phrase say on their
own; the trees task mixes the two (`seqtasks.models.mixtures.mixture_of`).

Which nodes lie below which is computed from the ``children`` array of
`seqtasks.data.trees.encode_trees` inside the layer: the "is a child of" matrix of each
tree, plus the identity, squared `DOUBLINGS` times (each squaring doubles the length of
the paths it covers), so a batch costs a few (nodes x nodes) matrix products, not a walk
over the tree.

Example:

>>> import numpy as np
>>> from seqtasks.data.trees import encode_trees, parse_tree
>>> batch = encode_trees([parse_tree("(1 (0 a) (1 b))")], {"a": 1, "b": 2}.get)
>>> layer = SubtreeWordScores(vocab_size=3, num_classes=2)
>>> tuple(layer(batch.tokens, batch.children).shape)
(1, 3, 2)
"""

import keras
from keras import ops

from seqtasks import validation

DOUBLINGS = 10  # paths of up to 2**10 nodes: deeper trees would miss their lowest words
LENGTHS = 32  # phrases of 31 words and more share one length weight


def descendants(children, nodes):
    """``(batch, nodes, nodes)`` float: 1 where the second node is the first or lies
    below it, from the children indices ``(batch, nodes, C)`` (-1: none)."""
    children = ops.cast(children, "int32")
    real = ops.cast(children >= 0, "float32")[..., None]
    child_of = ops.sum(ops.one_hot(ops.maximum(children, 0), nodes) * real, axis=2)
    reach = ops.minimum(child_of + ops.one_hot(ops.arange(nodes), nodes)[None], 1.0)
    for _ in range(DOUBLINGS):
        reach = ops.minimum(ops.matmul(reach, reach), 1.0)
    return reach


@keras.saving.register_keras_serializable(package="seqtasks")
class SubtreeWordScores(keras.layers.Layer):
    """``tokens`` ``(batch, nodes)`` (0: no word) and ``children`` ``(batch, nodes, C)``
    -> ``(batch, nodes, num_classes)`` scores of each node's subtree words (0 for a
    subtree without any).

    Args:
        vocab_size: the number of word ids.
        num_classes: the number of classes.

    The weights ``words`` ``(vocab_size, num_classes)`` and ``lengths`` ``(LENGTHS,
    num_classes)`` start at zero.
    """

    def __init__(self, vocab_size, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = validation.positive_int("vocab_size", vocab_size)
        self.num_classes = validation.positive_int("num_classes", num_classes)

    def build(self, tokens_shape, children_shape=None):
        self.words = self.add_weight(shape=(self.vocab_size, self.num_classes),
                                     initializer="zeros", name="words")
        self.lengths = self.add_weight(shape=(LENGTHS, self.num_classes),
                                       initializer="zeros", name="lengths")

    def call(self, tokens, children):
        tokens = ops.cast(tokens, "int32")
        reach = ops.cast(descendants(children, ops.shape(tokens)[1]), self.compute_dtype)
        present = ops.cast(tokens > 0, self.compute_dtype)[..., None]
        scores = ops.matmul(reach, ops.take(self.words, tokens, axis=0) * present)
        count = ops.matmul(reach, present)
        length = ops.cast(ops.minimum(count[..., 0], LENGTHS - 1), "int32")
        return (scores / ops.sqrt(ops.maximum(count, 1.0))
                + ops.take(self.lengths, length, axis=0))

    def compute_output_shape(self, tokens_shape, children_shape=None):
        return (*tokens_shape, self.num_classes)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "num_classes": self.num_classes}
