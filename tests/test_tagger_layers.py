"""The tagger's own layers: word dropout, the character BiLSTM, the CRF output."""

import keras
import numpy as np
import pytest

from seqtasks import compat
from seqtasks.errors import ConfigError
from seqtasks.layers import CRFModel
from seqtasks.layers.word_dropout import WordDropout
from seqtasks.models.tagger import CharacterLSTM, build_tagger


def test_word_dropout_replaces_words_by_unk_in_training_only_and_never_padding():
    ids = np.tile(np.arange(2, 12), (200, 1))
    ids[:, 7:] = 0
    layer = WordDropout(0.25, unknown_id=1, seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ids)), ids)
    dropped = keras.ops.convert_to_numpy(layer(ids, training=True))
    replaced = dropped != ids
    assert np.all(dropped[replaced] == 1) and not replaced[:, 7:].any()
    assert 0.2 < replaced[:, :7].mean() < 0.3
    again = keras.ops.convert_to_numpy(layer(ids, training=True))
    assert (again != dropped).any()  # a fresh draw each call
    assert WordDropout.from_config(layer.get_config()).rate == 0.25
    with pytest.raises(ConfigError, match="rate"):
        WordDropout(1.0)


def test_character_lstm_reads_each_word_over_its_own_characters():
    layer = CharacterLSTM(char_vocab_size=9, embedding_dim=4, units=3)
    word = [5, 6, 2, 0, 0]
    chars = np.array([[word, [0] * 5, [7, 0, 0, 0, 0]],
                      [[8, 8, 8, 8, 8], word, [0] * 5]])
    features = keras.ops.convert_to_numpy(layer(chars))
    assert features.shape == (2, 3, 6)
    # The same word gives the same features wherever it is; a padding word gives zeros.
    np.testing.assert_allclose(features[0, 0], features[1, 1], atol=1e-6)
    np.testing.assert_allclose(features[0, 1], 0.0, atol=1e-7)
    assert np.abs(features[0, 2]).sum() > 0


def test_crf_tagger_with_word_dropout_and_character_lstm_saves_and_loads(tmp_path):
    """(The default tagger, CRF and character CNN, is saved and loaded by the task's tests.)"""
    model = build_tagger(12, 4, embedding_dim=4, units=4, output="crf", word_dropout=0.1,
                         char_vocab_size=7, char_encoder="lstm", char_filters=4,
                         max_word_length=5, seed=1)
    assert isinstance(model, CRFModel)
    model.compile(optimizer="adam")
    x = {"words": np.array([[2, 3, 4, 0], [5, 6, 0, 0]]),
         "chars": np.ones((2, 4, 5), "int32")}
    x["chars"][x["words"] == 0] = 0
    y = np.array([[1, 2, 3, 0], [2, 2, 0, 0]])
    compat.build_for_training(model, (x, y))  # Keras traces the train step once, not twice
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "tagger.keras")
    loaded = keras.saving.load_model(tmp_path / "tagger.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    assert isinstance(loaded, CRFModel)


def test_build_tagger_refuses_unknown_outputs_and_encoders():
    with pytest.raises(ConfigError, match="output"):
        build_tagger(10, 3, output="hmm")
    with pytest.raises(ConfigError, match="char_encoder"):
        build_tagger(10, 3, char_vocab_size=5, char_encoder="rnn")
