"""Models made of trained models of the same inputs: a weighted mixture of classifiers and
the average of CRF taggers.

`mixture_of` joins classifiers into one model whose output is their probabilities'
weighted average, `mixture_weight` picks the weight of the second of two classifiers on
held-out data, and `average_of_taggers` joins taggers (CRF or softmax, of the same or of
different inputs, such as a recurrent and a feature tagger) into one. Each
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


def _input_like(tensor):
    """A new `keras.Input` of `tensor`'s shape (batch left out), dtype and name."""
    return keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name)


def _inputs_like(models):
    """New `keras.Input`s of the structure, shapes, dtypes and names of `models[0]`'s
    inputs, and, for models of dict inputs, of the others' inputs it lacks."""
    inputs = keras.tree.map_structure(_input_like, models[0].input)
    if isinstance(inputs, dict):
        for model in models[1:]:
            for name, tensor in model.input.items():
                if name not in inputs:
                    inputs[name] = _input_like(tensor)
    return inputs


def _called(model, inputs):
    """`model` on its own part of `inputs` (all of them unless both are dicts)."""
    if isinstance(inputs, dict) and isinstance(model.input, dict):
        return model({name: inputs[name] for name in model.input})
    return model(inputs)


def mixture_of(models, weights, name="mixture"):
    """One model: the inputs of the models (each reads its own, by name, where the inputs
    are dicts; otherwise all read ``models[0]``'s) -> each model -> `Mixture` of their
    outputs with `weights`. The models keep their names (each must be unique), so
    ``mixture.get_layer(name)`` gives one back."""
    inputs = _inputs_like(models)
    outputs = Mixture(weights, name="mixture_weights")([_called(m, inputs) for m in models])
    return keras.Model(inputs, outputs, name=name)


def parts_of_mixture(model, parts):
    """``({key: model}, [their weights])`` of a `mixture_of` `model`, whose models are the
    layers that `parts` (``{key: layer name}``, in mixing order) names; ``({first key:
    model}, [1.0])`` for a model that is not a mixture."""
    if not any(layer.name == "mixture_weights" for layer in model.layers):
        return {next(iter(parts)): model}, [1.0]
    return ({key: model.get_layer(name) for key, name in parts.items()},
            model.get_layer("mixture_weights").mixing_weights)


def members_of_mixture(model, last_name):
    """``(members, the model named `last_name` or None, its weight)`` of a model that
    `mixture_of` or `average_of_taggers` built from members of equal weight and, last, a
    model named `last_name` of its own weight; ``([model], None, 0.0)`` for a model that
    is not a mixture."""
    mixture = next((layer for layer in model.layers if isinstance(layer, Mixture)), None)
    if mixture is None:
        return [model], None, 0.0
    parts = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    members = [part for part in parts if part.name != last_name]
    if len(members) == len(parts):
        return members, None, 0.0
    return members, model.get_layer(last_name), float(mixture.mixing_weights[-1])


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


def average_of_taggers(taggers, weights=None, name="taggers"):
    """One tagger from trained `taggers` of the same tags (their names unique), each
    reading its own inputs (dicts, by name) of the ones the result takes.

    CRF taggers (`CRFModel`): a `CRFModel` whose tag potentials are the taggers' averaged
    with `weights` (default: equal), into a CRF whose transitions are theirs averaged
    alike, so Viterbi decodes the averaged scores of every tag path; softmax taggers: the
    average of their probabilities.
    """
    weights = [1.0 / len(taggers)] * len(taggers) if weights is None else list(weights)
    if not isinstance(taggers[0], CRFModel):
        return mixture_of(taggers, weights, name=name)
    inputs = _inputs_like(taggers)
    potentials = Mixture(weights, name="average_potentials")(
        [_called(tagger, inputs) for tagger in taggers])
    crf = CRF(taggers[0].crf.num_tags, name="crf")
    model = CRFModel(inputs, crf(potentials), name=name)
    crf.set_weights([sum(w * np.asarray(array) for w, array in zip(weights, arrays))
                     for arrays in zip(*(tagger.crf.get_weights() for tagger in taggers))])
    return model
