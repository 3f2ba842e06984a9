"""Models made of trained models of the same inputs: a weighted mixture of classifiers and
the average of CRF taggers.

`mixture_of` joins classifiers into one model whose output is their probabilities'
weighted average, `mixture_weight` picks the weight of the second of two classifiers on
held-out data, and `average_of_taggers` joins taggers (CRF or softmax) into one. Each
result saves, loads and predicts like the models it joins.

Example:

>>> from seqtasks.models.classifier import build_classifier
>>> from seqtasks.models.ngram_classifier import build_ngram_classifier
>>> recurrent = build_classifier(vocab_size=50, num_classes=2, units=4)
>>> ngrams = build_ngram_classifier(vocab_size=50, num_classes=2, buckets=256)
>>> mixture_of([recurrent, ngrams], [0.6, 0.4]).output.shape
(None, 2)
"""

import keras
import numpy as np

from seqtasks.layers.crf import CRF, CRFModel
from seqtasks.layers.mixture import Mixture


def _inputs_like(model):
    """New `keras.Input`s of the structure, shapes, dtypes and names of `model`'s."""
    return keras.tree.map_structure(
        lambda tensor: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype,
                                   name=tensor.name), model.input)


def mixture_of(models, weights, name="mixture"):
    """One model: the inputs of ``models[0]`` (which every model reads) -> each model ->
    `Mixture` of their outputs with `weights`. The models keep their names (each must be
    unique), so ``mixture.get_layer(name)`` gives one back."""
    inputs = _inputs_like(models[0])
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
    rows, weights = np.arange(len(labels)), np.linspace(0.0, 1.0, grid)
    losses = [-np.mean(np.log((1 - w) * first[rows, labels] + w * second[rows, labels] + 1e-12))
              for w in weights]
    return float(weights[int(np.argmin(losses))])


def average_of_taggers(taggers, name="taggers"):
    """One tagger from trained `taggers` of the same inputs and tags (their names unique).

    CRF taggers (`CRFModel`): a `CRFModel` whose tag potentials are the taggers' averaged,
    into a CRF whose transitions are theirs averaged, so Viterbi decodes the averaged
    scores of every tag path; softmax taggers: the average of their probabilities.
    """
    if not isinstance(taggers[0], CRFModel):
        return mixture_of(taggers, [1.0 / len(taggers)] * len(taggers), name=name)
    inputs = _inputs_like(taggers[0])
    potentials = keras.layers.Average(name="average_potentials")([t(inputs) for t in taggers])
    crf = CRF(taggers[0].crf.num_tags, name="crf")
    model = CRFModel(inputs, crf(potentials), name=name)
    crf.set_weights([np.mean(weights, axis=0)
                     for weights in zip(*(t.crf.get_weights() for t in taggers))])
    return model
