"""`TokenAccuracy`: the accuracy over every counted position of every batch.

Keras's ``"accuracy"`` averages each sequence's weighted (or masked) positions over the
batch's padded length before it averages over sequences, so a position in a batch
padded to length N counts as 1 / N: over batches of different lengths (the length
buckets every task batches by) short sentences weigh more than long ones, and early
stopping picks epochs by that. `TokenAccuracy` counts hits and positions instead: its
result is hits / positions over everything it saw, a position counting by its sample
weight (and the output's mask).

>>> metric = TokenAccuracy()
>>> metric.update_state([[1, 0]], [[[0.0, 1.0], [0.0, 1.0]]], sample_weight=[[1.0, 0.0]])
>>> metric.update_state([[1, 1, 1, 0]], [[[0, 1.0]] * 4], sample_weight=[[1.0] * 4])
>>> round(float(metric.result()), 6)  # 4 hits of 5 counted positions
0.8
"""

import keras
from keras import ops

from seqtasks.compat import get_keras_mask


@keras.saving.register_keras_serializable(package="seqtasks")
class TokenAccuracy(keras.metrics.Metric):
    """Hits over counted positions: the most likely class of ``y_pred`` (last axis)
    against the class ids ``y_true``, a position counting by its sample weight (per
    position, or per sequence) times the mask of ``y_pred``, if any."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"  # as Keras's metrics say: EarlyStopping then maximises it
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.positions = self.add_variable(shape=(), initializer="zeros", name="positions")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        predicted = ops.argmax(y_pred, axis=-1)
        gold = ops.reshape(ops.convert_to_tensor(y_true), ops.shape(predicted))
        hits = ops.cast(ops.equal(ops.cast(gold, predicted.dtype), predicted), self.dtype)
        counts = ops.ones_like(hits)
        mask = get_keras_mask(y_pred)
        if mask is not None:
            counts = counts * ops.cast(mask, self.dtype)
        if sample_weight is not None:
            weight = ops.cast(ops.convert_to_tensor(sample_weight), self.dtype)
            while len(weight.shape) < len(counts.shape):
                weight = ops.expand_dims(weight, -1)
            while len(weight.shape) > len(counts.shape):
                weight = ops.squeeze(weight, -1)
            counts = counts * weight
        self.hits.assign_add(ops.sum(hits * counts))
        self.positions.assign_add(ops.sum(counts))

    def result(self):
        return ops.divide_no_nan(self.hits, self.positions)

    def reset_state(self):
        self.hits.assign(0.0)
        self.positions.assign(0.0)
