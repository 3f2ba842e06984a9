"""The sequence autoencoder: shapes, masking, the reconstruction metric, learning, saving."""

import keras
import numpy as np
import pytest

from seqtasks.errors import ConfigError
from seqtasks.models.autoencoder import (
    build_sequence_autoencoder,
    encoder_of,
    reconstruction_accuracy,
)
from seqtasks.data.memory import random_sequences

VOCAB, LENGTH = 5, 4


def test_shapes_and_encoder():
    model = build_sequence_autoencoder(VOCAB, LENGTH, embedding_dim=4, cell="lstm", units=6)
    ids = random_sequences(3, 1, LENGTH, VOCAB, seed=0)
    assert model.predict(ids, verbose=0).shape == (3, LENGTH, VOCAB)
    assert encoder_of(model).predict(ids, verbose=0).shape == (3, 6)
    with pytest.raises(ConfigError):
        build_sequence_autoencoder(1, LENGTH)


def test_padding_does_not_reach_the_code():
    model = build_sequence_autoencoder(VOCAB, LENGTH, units=6)
    encoder = encoder_of(model)
    short = np.array([[1, 2, 0, 0]], "int32")
    code = encoder.predict(short, verbose=0)
    embeddings = model.get_layer(index=1).embeddings
    changed = np.asarray(embeddings).copy()
    changed[0] += 3.0  # a different vector for the padding id
    embeddings.assign(changed)
    np.testing.assert_allclose(encoder.predict(short, verbose=0), code, atol=1e-6)


class OneHot(keras.layers.Layer):
    """A stand-in "autoencoder" that predicts given ids (shifted by `offset` where ids > 1)."""

    def __init__(self, offset=0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def call(self, ids):
        shifted = keras.ops.where(ids > 1, ids + self.offset, ids) % VOCAB
        return keras.ops.one_hot(shifted, VOCAB)


def test_reconstruction_accuracy_counts_real_tokens_and_whole_sequences():
    ids = np.array([[1, 2, 0, 0], [2, 3, 4, 1], [1, 1, 1, 0]], "int32")
    inputs = keras.Input((LENGTH,), dtype="int32")
    perfect = keras.Model(inputs, OneHot()(inputs))
    assert reconstruction_accuracy(perfect, ids) == {"token_accuracy": 1.0,
                                                     "sequence_accuracy": 1.0}
    wrong = keras.Model(inputs, OneHot(offset=1)(inputs))  # gets only the 1s right
    result = reconstruction_accuracy(wrong, ids)
    assert result["token_accuracy"] == pytest.approx(5 / 9)
    assert result["sequence_accuracy"] == pytest.approx(1 / 3)


@pytest.mark.slow
def test_it_learns_to_reconstruct_short_sequences():
    train = random_sequences(1000, 1, 3, VOCAB, seed=0)
    model = build_sequence_autoencoder(VOCAB, 3, embedding_dim=8, cell="gru", units=24)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    before = reconstruction_accuracy(model, train[:200])
    model.fit(train, train, batch_size=32, epochs=4, verbose=0)
    after = reconstruction_accuracy(model, random_sequences(200, 1, 3, VOCAB, seed=1))
    assert after["token_accuracy"] > 0.8 > before["token_accuracy"] + 0.2
    assert after["sequence_accuracy"] > 0.5


def test_save_and_load_safely(tmp_path):
    model = build_sequence_autoencoder(VOCAB, LENGTH, units=6, cell="lstm", depth=2)
    path = tmp_path / "autoencoder.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    ids = random_sequences(4, 1, LENGTH, VOCAB, seed=2)
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0),
                               atol=1e-6)
