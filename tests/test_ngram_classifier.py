"""The bag-of-n-grams layer and classifier, the mixture of classifiers and its weight."""

import keras
import numpy as np
import pytest

from seqtasks.errors import ConfigError
from seqtasks.layers.mixture import Mixture
from seqtasks.layers.ngram_scores import PAIR_PRIME, NGramScores
from seqtasks.models.classifier import build_classifier
from seqtasks.models.ngram_classifier import build_ngram_classifier, mixture_of, mixture_weight


def reference_scores(words, pairs, ids):
    """NumPy, text by text: the sum of the present words' and pairs' rows over the square
    root of their count (pairs hashed as documented)."""
    out = []
    for row in ids:
        tokens = [int(t) for t in row if t > 0]
        rows = [words[t] for t in tokens]
        rows += [pairs[((a % PAIR_PRIME) * PAIR_PRIME + b % PAIR_PRIME) % len(pairs)]
                 for a, b in zip(tokens, tokens[1:])]
        out.append(np.sum(rows, axis=0) / np.sqrt(max(len(rows), 1)) if rows
                   else np.zeros(words.shape[1]))
    return np.array(out)


def test_scores_equal_the_reference_and_ignore_the_padding():
    rng = np.random.default_rng(0)
    layer = NGramScores(vocab_size=50000, num_classes=3, buckets=97)
    ids = np.array([[49999, 7, 3, 0, 0], [5, 0, 0, 0, 0], [0, 0, 0, 0, 0], [1, 2, 3, 4, 46338]])
    layer.build(ids.shape)
    words = rng.normal(size=(50000, 3)).astype("float32")
    pairs = rng.normal(size=(97, 3)).astype("float32")
    layer.set_weights([words, pairs])
    got = keras.ops.convert_to_numpy(layer(ids))
    np.testing.assert_allclose(got, reference_scores(words, pairs, ids), rtol=1e-5, atol=1e-6)
    # The same texts without the padding columns score the same.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(ids[:1, :3])), got[:1],
                               rtol=1e-6)


def test_mixture_averages_with_its_weights_and_checks_them():
    first = np.array([[0.9, 0.1], [0.2, 0.8]], "float32")
    second = np.array([[0.5, 0.5], [1.0, 0.0]], "float32")
    mixed = keras.ops.convert_to_numpy(Mixture([0.25, 0.75])([first, second]))
    np.testing.assert_allclose(mixed, 0.25 * first + 0.75 * second, rtol=1e-6)
    for bad in ([0.5, 0.6], [1.5, -0.5], []):
        with pytest.raises(ConfigError, match="sum to 1"):
            Mixture(bad)


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
