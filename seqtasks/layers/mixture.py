"""`Mixture`: a weighted average of several models' class probabilities (or of CRF
taggers' tag potentials).

Example:

>>> import numpy as np
>>> first, second = np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]])
>>> print(keras.ops.convert_to_numpy(Mixture([0.75, 0.25])([first, second])).round(2))
[[0.8 0.2]]
"""

import functools

import keras
from keras import ops

from seqtasks.errors import ConfigError


@keras.saving.register_keras_serializable(package="seqtasks")
class Mixture(keras.layers.Layer):
    """A list of ``(batch, ..., classes)`` probabilities (or scores) -> their average
    weighted by `weights` (non-negative, summing to 1, one per input). Masks (per-step
    outputs, such as a tagger's) pass on: a step is kept where every masked input keeps
    it."""

    def __init__(self, weights, **kwargs):
        super().__init__(**kwargs)
        self.mixing_weights = [float(w) for w in weights]
        if (not self.mixing_weights or min(self.mixing_weights) < 0
                or abs(sum(self.mixing_weights) - 1.0) > 1e-6):
            raise ConfigError(f"mixture weights must be non-negative and sum to 1, got "
                              f"{self.mixing_weights}")
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        if len(inputs) != len(self.mixing_weights):
            raise ValueError(f"Mixture of {len(self.mixing_weights)} weights got "
                             f"{len(inputs)} inputs")
        return sum(weight * ops.cast(probabilities, self.compute_dtype)
                   for weight, probabilities in zip(self.mixing_weights, inputs))

    def compute_mask(self, inputs, mask=None):
        masks = [m for m in (mask or []) if m is not None]
        return functools.reduce(ops.logical_and, masks) if masks else None

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "weights": self.mixing_weights}
