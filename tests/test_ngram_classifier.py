"""The bag-of-n-grams layer and the mixture layer."""

import keras
import numpy as np
import pytest

from seqtasks.errors import ConfigError
from seqtasks.layers.mixture import Mixture
from seqtasks.layers.ngram_scores import PAIR_PRIME, NGramScores


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


def test_a_mixture_of_per_step_outputs_keeps_the_steps_every_mask_keeps():
    probabilities = np.full((1, 3, 2), 0.5, "float32")
    masks = [np.array([[True, True, False]]), np.array([[True, False, False]])]
    layer = Mixture([0.5, 0.5])
    got = keras.ops.convert_to_numpy(layer.compute_mask([probabilities] * 2, masks))
    assert got.tolist() == [[True, False, False]]
    assert layer.compute_mask([probabilities] * 2, [None, None]) is None
