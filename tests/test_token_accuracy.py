"""`TokenAccuracy` counts every weighted (or unmasked) position alike, across batches of
any padded length, where Keras's "accuracy" weighs a position by 1 / its batch's length."""

import keras
import numpy as np
import pytest

from seqtasks.models.accuracy import TokenAccuracy


def batches_of_two_lengths(seed=0):
    """Two batches of (labels, probabilities, weights), padded to 3 and to 12 steps."""
    rng = np.random.default_rng(seed)
    out = []
    for length in (3, 12):
        labels = rng.integers(0, 4, size=(5, length))
        probabilities = rng.random((5, length, 4)).astype("float32")
        weights = (rng.random((5, length)) < 0.7).astype("float32")
        out.append((labels, probabilities, weights))
    return out


def test_counts_hits_over_weighted_positions_of_all_batches():
    data = batches_of_two_lengths()
    metric, keras_metric = TokenAccuracy(), keras.metrics.SparseCategoricalAccuracy()
    for labels, probabilities, weights in data:
        metric.update_state(labels, probabilities, sample_weight=weights)
        keras_metric.update_state(labels, probabilities, sample_weight=weights)
    hits = sum(((p.argmax(-1) == y) * w).sum() for y, p, w in data)
    positions = sum(w.sum() for _, _, w in data)
    assert float(metric.result()) == pytest.approx(hits / positions, abs=1e-6)
    assert float(keras_metric.result()) != pytest.approx(hits / positions, abs=1e-3)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_a_weight_per_sequence_counts_each_of_its_positions():
    labels, probabilities, _ = batches_of_two_lengths()[1]
    metric = TokenAccuracy()
    metric.update_state(labels[..., None], probabilities, sample_weight=np.array([1, 0, 0, 2, 0]))
    hits = probabilities.argmax(-1) == labels
    assert float(metric.result()) == pytest.approx(
        (hits[0].sum() + 2 * hits[3].sum()) / (3 * 12), abs=1e-6)


def test_the_model_output_mask_leaves_the_padding_out_in_evaluate():
    inputs = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(20, 8, mask_zero=True)(inputs)
    outputs = keras.layers.Dense(4, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy", metrics=[TokenAccuracy()])
    rng = np.random.default_rng(1)
    hits = positions = 0
    for length in (3, 12):
        words = rng.integers(1, 20, size=(4, length))
        words[:, length // 2 + 1:][rng.random((4, length - length // 2 - 1)) < 0.5] = 0
        words = np.where(np.cumprod(words > 0, axis=1) > 0, words, 0)  # padding at the end
        labels = rng.integers(0, 4, size=(4, length))
        evaluated = model.evaluate(words, labels, verbose=0, return_dict=True)["accuracy"]
        predicted = model.predict_on_batch(words).argmax(-1)
        counted = words > 0
        assert evaluated == pytest.approx(((predicted == labels) & counted).sum()
                                          / counted.sum(), abs=1e-6)
        hits += ((predicted == labels) & counted).sum()
        positions += counted.sum()
    assert hits and positions > hits


def test_early_stopping_knows_to_maximise_it():
    inputs = keras.Input((None,), dtype="int32")
    outputs = keras.layers.Dense(3, activation="softmax")(
        keras.layers.Embedding(10, 4)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[TokenAccuracy()])
    stop = keras.callbacks.EarlyStopping("val_accuracy", patience=1)
    words, labels = np.array([[1, 2, 3]]), np.array([[0, 1, 2]])
    model.fit(words, labels, validation_data=(words, labels), epochs=1, verbose=0,
              callbacks=[stop])
    assert stop.monitor_op(1.0, 0.5)  # higher is better


def test_a_model_compiled_with_it_saves_and_loads(tmp_path):
    inputs = keras.Input((None,), dtype="int32")
    outputs = keras.layers.Dense(3, activation="softmax")(
        keras.layers.Embedding(10, 4)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy", metrics=[TokenAccuracy()])
    words, labels = np.array([[1, 2, 3]]), np.array([[0, 1, 2]])
    model.evaluate(words, labels, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.evaluate(words, labels, verbose=0, return_dict=True)["accuracy"] == \
        pytest.approx(model.evaluate(words, labels, verbose=0, return_dict=True)["accuracy"])
