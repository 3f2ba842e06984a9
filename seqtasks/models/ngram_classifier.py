"""The bag-of-n-grams classifier: the linear model of `seqtasks.layers.NGramScores` (words
and hashed word pairs -> softmax), which `seqtasks.models.mixtures.mixture_of` mixes with
a recurrent classifier.

Example:

>>> build_ngram_classifier(vocab_size=50, num_classes=2, buckets=256).output.shape
(None, 2)
"""

import keras

from seqtasks.layers.ngram_scores import NGramScores


def build_ngram_classifier(vocab_size, num_classes, buckets=2**20, name="ngram_classifier"):
    """Builds (uncompiled) word ids ``(batch, time)`` -> `NGramScores` -> softmax."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    scores = NGramScores(vocab_size, num_classes, buckets, name="ngram_scores")(tokens)
    return keras.Model(tokens, keras.layers.Softmax(name="probabilities")(scores), name=name)
