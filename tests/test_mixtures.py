"""Models made of trained models: the mixture of classifiers, its weight, the average of
taggers (CRF and softmax)."""

import keras
import numpy as np
import pytest

from seqtasks.models.classifier import build_classifier
from seqtasks.models.feature_tagger import build_feature_tagger
from seqtasks.models.mixtures import average_of_taggers, mixture_of, mixture_weight
from seqtasks.models.ngram_classifier import build_ngram_classifier
from seqtasks.models.tagger import build_tagger


def test_a_mixture_saves_loads_and_gives_back_its_classifiers(tmp_path):
    keras.utils.set_random_seed(0)
    recurrent = build_classifier(30, 2, embedding_dim=4, units=4, pooling="max")
    ngrams = build_ngram_classifier(30, 2, buckets=64)
    ngrams.get_layer("ngram_scores").set_weights(
        [np.random.default_rng(1).normal(size=w.shape).astype("float32")
         for w in ngrams.get_layer("ngram_scores").get_weights()])
    model = mixture_of([recurrent, ngrams], [0.7, 0.3])
    ids = np.array([[3, 4, 5, 0], [6, 7, 8, 9]])
    expected = 0.7 * recurrent.predict(ids, verbose=0) + 0.3 * ngrams.predict(ids, verbose=0)
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-5)
    model.save(tmp_path / "mixture.keras")
    loaded = keras.saving.load_model(tmp_path / "mixture.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), expected, rtol=1e-5)
    assert loaded.get_layer("mixture_weights").mixing_weights == [0.7, 0.3]
    np.testing.assert_allclose(loaded.get_layer("ngram_classifier").predict(ids, verbose=0),
                               ngrams.predict(ids, verbose=0), rtol=1e-5)


def test_the_weight_follows_the_better_model_on_held_out_labels():
    labels = np.array([0, 1, 0, 1])
    right = np.eye(2)[labels] * 0.8 + 0.1
    uniform = np.full((4, 2), 0.5)
    assert mixture_weight(right, uniform, labels) == 0.0
    assert mixture_weight(uniform, right, labels) == 1.0
    # Each is right where the other errs: a mixture beats both.
    first = np.array([[0.9, 0.1], [0.6, 0.4], [0.9, 0.1], [0.6, 0.4]])
    second = np.array([[0.4, 0.6], [0.1, 0.9], [0.4, 0.6], [0.1, 0.9]])
    assert 0.0 < mixture_weight(first, second, labels, grid=101) < 1.0


@pytest.mark.parametrize("output", ["crf", "softmax"])
def test_an_average_of_taggers_averages_their_outputs_and_crf_transitions(output, tmp_path):
    keras.utils.set_random_seed(0)
    taggers = [build_tagger(20, 5, embedding_dim=4, units=4, output=output, char_vocab_size=12,
                            char_filters=4, max_word_length=6, seed=k) for k in range(3)]
    for k, tagger in enumerate(taggers):
        tagger.name = f"tagger_{k}"
        if output == "crf":  # transitions start at zero: make them differ
            tagger.crf.set_weights([np.random.default_rng(k).normal(size=w.shape)
                                    for w in tagger.crf.get_weights()])
    inputs = {"words": np.array([[3, 4, 5, 0], [6, 7, 8, 9]]),
              "chars": np.random.default_rng(0).integers(0, 12, size=(2, 4, 6))}
    averaged = average_of_taggers(taggers)
    expected = np.mean([t.predict(inputs, verbose=0) for t in taggers], axis=0)
    np.testing.assert_allclose(averaged.predict(inputs, verbose=0), expected, rtol=1e-5,
                               atol=1e-6)
    averaged.save(tmp_path / "taggers.keras")
    loaded = keras.saving.load_model(tmp_path / "taggers.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), expected, rtol=1e-5,
                               atol=1e-6)
    if output == "crf":
        for got, *weights in zip(loaded.crf.get_weights(),
                                 *(t.crf.get_weights() for t in taggers)):
            np.testing.assert_allclose(got, np.mean(weights, axis=0), rtol=1e-6)
        mask = inputs["words"] != 0
        assert keras.ops.convert_to_numpy(loaded.crf.decode(expected, mask)).shape == (2, 4)


@pytest.mark.parametrize("output", ["crf", "softmax"])
def test_taggers_of_different_inputs_average_with_weights(output, tmp_path):
    """A recurrent tagger (words, chars) and a feature tagger (features): each reads its
    own inputs, and the result takes all three."""
    keras.utils.set_random_seed(0)
    recurrent = build_tagger(20, 5, embedding_dim=4, units=4, output=output, char_vocab_size=12,
                             char_filters=4, max_word_length=6, seed=0)
    features = build_feature_tagger(5, buckets=32, slots=3, output=output)
    rng = np.random.default_rng(0)
    features.get_layer("feature_scores").set_weights([rng.normal(size=(32, 5))])
    if output == "crf":
        for tagger in (recurrent, features):
            tagger.crf.set_weights([rng.normal(size=w.shape) for w in tagger.crf.get_weights()])
    inputs = {"words": np.array([[3, 4, 5, 0], [6, 7, 8, 9]]),
              "chars": rng.integers(0, 12, size=(2, 4, 6)),
              "features": rng.integers(1, 32, size=(2, 4, 3))}
    mixed = average_of_taggers([recurrent, features], [0.7, 0.3])
    assert set(mixed.input) == {"words", "chars", "features"}
    expected = (0.7 * recurrent.predict({k: inputs[k] for k in ("words", "chars")}, verbose=0)
                + 0.3 * features.predict({"features": inputs["features"]}, verbose=0))
    np.testing.assert_allclose(mixed.predict(inputs, verbose=0), expected, rtol=1e-5, atol=1e-6)
    mixed.save(tmp_path / "mixed.keras")
    loaded = keras.saving.load_model(tmp_path / "mixed.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), expected, rtol=1e-5, atol=1e-6)
    if output == "crf":
        for got, first, second in zip(loaded.crf.get_weights(), recurrent.crf.get_weights(),
                                      features.crf.get_weights()):
            np.testing.assert_allclose(got, 0.7 * first + 0.3 * second, rtol=1e-5, atol=1e-6)
