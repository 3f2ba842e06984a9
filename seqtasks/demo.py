"""A one-minute demo: compare seqtasks cells on a task that needs memory.

Each sequence holds digits 0-9; the label says whether the first half sums to more
than the second half, so the model must remember the early digits until the end.

Example:

>>> results = run_demo(cells=("gru",), epochs=1, samples=256)  # doctest: +SKIP
"""

import time

import keras
import numpy as np

from seqtasks.layers import recurrent_stack


def make_data(samples, length=20, seed=0):
    """Digit sequences (1..10 as token ids; 0 is padding) and their 0/1 labels."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, size=(samples, length))
    half = length // 2
    labels = (digits[:, :half].sum(1) > digits[:, half:].sum(1)).astype("int32")
    return digits + 1, labels


def build_classifier(cell, units=32):
    """Embedding -> recurrent_stack (many-to-one) -> sigmoid."""
    inputs = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(11, 16, mask_zero=True)(inputs)
    hidden = recurrent_stack(cell, units)(hidden)
    outputs = keras.layers.Dense(1, activation="sigmoid")(hidden)
    model = keras.Model(inputs, outputs, name=f"demo_{cell}")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def run_demo(cells=("elman", "lstm", "gru"), epochs=8, samples=4000, seed=0, verbose=1):
    """Trains one classifier per cell; returns {cell: {"val_accuracy": .., "seconds": ..}}."""
    x_train, y_train = make_data(samples, seed=seed)
    x_val, y_val = make_data(samples // 4, seed=seed + 1)
    results = {}
    for cell in cells:
        keras.utils.set_random_seed(seed)
        model = build_classifier(cell)
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=verbose)
        _, accuracy = model.evaluate(x_val, y_val, verbose=0)
        results[cell] = {"val_accuracy": float(accuracy),
                         "seconds": round(time.perf_counter() - start, 1)}
    return results
