"""The bag-of-n-grams classifier and the mixture of classifiers over the same word ids.

`build_ngram_classifier` makes the linear model of `seqtasks.layers.NGramScores` (words
and hashed word pairs -> softmax); `mixture_of` joins trained classifiers of the same
inputs into one model whose output is their probabilities' weighted average (it saves,
loads and predicts like any classifier); `mixture_weight` picks the weight of the second
of two classifiers on held-out data.

Example:

>>> from seqtasks.models.classifier import build_classifier
>>> recurrent = build_classifier(vocab_size=50, num_classes=2, units=4)
>>> ngrams = build_ngram_classifier(vocab_size=50, num_classes=2, buckets=256)
>>> mixture_of([recurrent, ngrams], [0.6, 0.4]).output.shape
(None, 2)
"""

import keras
import numpy as np

from seqtasks.layers.mixture import Mixture
from seqtasks.layers.ngram_scores import NGramScores


def build_ngram_classifier(vocab_size, num_classes, buckets=2**20, name="ngram_classifier"):
    """Builds (uncompiled) word ids ``(batch, time)`` -> `NGramScores` -> softmax."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    scores = NGramScores(vocab_size, num_classes, buckets, name="ngram_scores")(tokens)
    return keras.Model(tokens, keras.layers.Softmax(name="probabilities")(scores), name=name)


def mixture_of(models, weights, name="mixture"):
    """One model: the inputs of ``models[0]`` (which every model reads) -> each model ->
    `Mixture` of their outputs with `weights`. The models keep their names (each must be
    unique), so ``mixture.get_layer(name)`` gives one back."""
    inputs = keras.tree.map_structure(
        lambda tensor: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype,
                                   name=tensor.name), models[0].input)
    outputs = Mixture(weights, name="mixture_weights")([model(inputs) for model in models])
    return keras.Model(inputs, outputs, name=name)


def mixture_weight(first, second, labels, grid=21):
    """The weight ``w`` in [0, 1] (on a grid of `grid` values) of the mixture
    ``(1 - w) * first + w * second`` of two models' probabilities ``(examples, classes)``
    with the lowest cross-entropy on `labels`; the smaller weight on a tie.

    >>> labels = np.array([0, 1])
    >>> mixture_weight(np.array([[0.9, 0.1], [0.7, 0.3]]), np.array([[0.3, 0.7], [0.1, 0.9]]),
    ...                labels)
    0.5
    """
    rows = np.arange(len(labels))
    losses = [-np.mean(np.log((1 - w) * first[rows, labels] + w * second[rows, labels] + 1e-12))
              for w in np.linspace(0.0, 1.0, grid)]
    return float(np.linspace(0.0, 1.0, grid)[int(np.argmin(losses))])
