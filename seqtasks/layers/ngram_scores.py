"""`NGramScores`: the class scores of a linear model over a text's words and word pairs.

A bag of n-grams (fastText without its hidden layer; Joulin et al. 2017): every word id
and every pair of neighbouring word ids has a weight per class, and a text's scores are
the sum of its words' and pairs' weights over the square root of their count (so that a
long text is not more confident for its length alone). The pairs are hashed into
`buckets` rows, so no pair vocabulary is kept. Padding (id 0) and pairs that touch it
count for nothing. Beside a recurrent classifier it adds what a bag of words knows and
reading in order may miss; `seqtasks.models.ngram_classifier` builds the model around it.

Example:

>>> import numpy as np
>>> layer = NGramScores(vocab_size=10, num_classes=2, buckets=64)
>>> tuple(layer(np.array([[3, 4, 5, 0]])).shape)
(1, 2)
"""

import keras
from keras import ops

from seqtasks import validation

# Pairs (a, b) map to (a mod P) * P + (b mod P), below 2**31 for this prime P (no int32
# overflow on any backend), then to that number mod `buckets`.
PAIR_PRIME = 46337


def pair_buckets(ids, buckets):
    """The bucket of each pair of neighbouring ids, ``(batch, time - 1)`` int32.

    >>> import numpy as np
    >>> keras.ops.convert_to_numpy(pair_buckets(np.array([[2, 3, 0]]), 1000)).tolist()
    [[677, 11]]
    """
    ids = ops.cast(ids, "int32")
    first, second = ids[:, :-1] % PAIR_PRIME, ids[:, 1:] % PAIR_PRIME
    return (first * PAIR_PRIME + second) % buckets


@keras.saving.register_keras_serializable(package="seqtasks")
class NGramScores(keras.layers.Layer):
    """``(batch, time)`` word ids (0: padding) -> ``(batch, num_classes)`` class scores.

    Args:
        vocab_size: the number of word ids.
        num_classes: the number of classes.
        buckets: the rows the word pairs are hashed into.

    The weights: ``words`` ``(vocab_size, num_classes)`` and ``pairs``
    ``(buckets, num_classes)``, both starting at zero (a linear model needs no random
    start).
    """

    def __init__(self, vocab_size, num_classes, buckets=2**20, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = validation.positive_int("vocab_size", vocab_size)
        self.num_classes = validation.positive_int("num_classes", num_classes)
        self.buckets = validation.positive_int("buckets", buckets)

    def build(self, input_shape):
        self.words = self.add_weight(shape=(self.vocab_size, self.num_classes),
                                     initializer="zeros", name="words")
        self.pairs = self.add_weight(shape=(self.buckets, self.num_classes),
                                     initializer="zeros", name="pairs")

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        word_present = ops.cast(ids > 0, self.compute_dtype)
        pair_present = word_present[:, :-1] * word_present[:, 1:]
        words = ops.take(self.words, ids, axis=0) * word_present[..., None]
        pairs = ops.take(self.pairs, pair_buckets(ids, self.buckets), axis=0)
        scores = ops.sum(words, axis=1) + ops.sum(pairs * pair_present[..., None], axis=1)
        count = ops.sum(word_present, axis=1) + ops.sum(pair_present, axis=1)
        return scores / ops.sqrt(ops.maximum(count, 1.0))[:, None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "num_classes": self.num_classes, "buckets": self.buckets}
