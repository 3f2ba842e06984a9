"""The hashed word features of the feature tagger (`seqtasks.data.word_features`), their
`FeatureScores` layer and the feature tagger (`seqtasks.models.feature_tagger`)."""

import keras
import numpy as np
import pytest

from seqtasks.data.word_features import (NAMES, SLOT, SLOTS, feature_id, feature_ids, shape,
                                         word_features)
from seqtasks.errors import ConfigError
from seqtasks.layers import CRFModel, FeatureScores
from seqtasks.models.feature_tagger import build_feature_tagger


def test_word_features_of_a_word_in_its_sentence():
    tokens = ["The", "U.S.-based", "firm", "sold", "42"]
    first = word_features(tokens, 0)
    assert first["word"] == "the" and first["title"] and "upper" not in first
    assert (first["word-1"], first["word-2"], first["word+1"], first["word+2"]) == (
        "<s>", "<s>", "u.s.-based", "firm")
    assert {first[f"prefix{n}"] for n in (1, 2, 3)} == {"t", "th", "the"}
    second = word_features(tokens, 1)
    assert second["hyphen"] and second["shape"] == "X.X.-x" and "digit" not in second
    assert (second["prefix3"], second["suffix3"], second["suffix1"]) == ("u.s", "sed", "d")
    last = word_features(tokens, 4)
    assert last["digit"] and last["all_digits"] and last["shape"] == "d"
    assert (last["word+1"], last["word+2"], last["word-2"]) == ("</s>", "</s>", "firm")
    assert "prefix3" not in last and last["suffix2"] == "42"
    assert shape("McDonald's-2") == "XxXx'x-d"


def test_feature_ids_hash_each_feature_into_its_slot_and_leave_missing_ones_at_0():
    tokens = ["The", "U.S.-based", "firm", "sold", "42"]
    ids = feature_ids(tokens, buckets=1000)
    assert ids.shape == (5, SLOTS) == (5, len(NAMES)) and ids.dtype == np.int32
    assert ids.min() >= 0 and ids.max() < 1000
    for i in range(len(tokens)):
        present = word_features(tokens, i)
        for name in NAMES:
            expected = feature_id(name, present[name], 1000) if name in present else 0
            assert ids[i, SLOT[name]] == expected
    assert ids[4, SLOT["prefix3"]] == 0 and ids[4, SLOT["all_digits"]] > 0
    # The same word in the same context hashes alike (a stable hash, not Python's).
    np.testing.assert_array_equal(feature_ids(tokens, 1000), ids)
    assert feature_id("word", "firm", 1000) == feature_id("word", "firm", 1000) != 0
    assert ids[2, SLOT["word"]] != ids[3, SLOT["word"]]


def test_feature_scores_sum_the_weights_of_present_features_and_mask_empty_steps(tmp_path):
    layer = FeatureScores(buckets=16, num_tags=3)
    ids = np.array([[[5, 9, 0], [7, 0, 0], [0, 0, 0]]])
    layer.build(ids.shape)
    weights = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    layer.set_weights([weights])
    scores = keras.ops.convert_to_numpy(layer(ids))
    np.testing.assert_allclose(scores[0, 0], weights[5] + weights[9], rtol=1e-6)
    np.testing.assert_allclose(scores[0, 1], weights[7], rtol=1e-6)
    np.testing.assert_allclose(scores[0, 2], 0.0)  # row 0 of the weights counts for nothing
    assert keras.ops.convert_to_numpy(layer.compute_mask(ids)).tolist() == [[True, True, False]]
    with pytest.raises(ConfigError):
        FeatureScores(buckets=0, num_tags=3)


@pytest.mark.parametrize("output", ["crf", "softmax"])
def test_the_feature_tagger_learns_tags_from_features_and_reloads(output, tmp_path):
    """Tag 1 where feature 3 is present, tag 2 where feature 4 is: a linear model learns it."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    tags = rng.integers(1, 3, size=(64, 5))
    features = np.stack([tags + 2, rng.integers(5, 9, size=(64, 5))], axis=-1)
    features[:, 4] = 0  # a padded last step
    tags[:, 4] = 0
    model = build_feature_tagger(num_tags=3, buckets=16, slots=2, output=output)
    assert isinstance(model, CRFModel) == (output == "crf")
    model.compile(optimizer=keras.optimizers.Adam(0.1),
                  loss=None if output == "crf" else "sparse_categorical_crossentropy")
    model.fit({"features": features}, tags, epochs=30, batch_size=16, verbose=0)
    outputs = model.predict({"features": features}, verbose=0)
    np.testing.assert_array_equal(outputs[:, :4].argmax(-1), tags[:, :4])
    model.save(tmp_path / "features.keras")
    loaded = keras.saving.load_model(tmp_path / "features.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict({"features": features}, verbose=0), outputs,
                               rtol=1e-5, atol=1e-6)
