"""`MaskedGlobalMaxPooling1D`: the largest value of each feature over the unmasked steps.

`keras.layers.GlobalMaxPooling1D` ignores masks, so padded steps (which a recurrent layer
fills with its last valid output, or zeros) would take part in the maximum; this layer
leaves them out, the way `keras.layers.GlobalAveragePooling1D` does for the mean.

Example:

>>> import numpy as np
>>> x = keras.ops.convert_to_tensor(np.array([[[1.0], [-2.0], [9.0]]], "float32"))
>>> mask = keras.ops.convert_to_tensor(np.array([[True, True, False]]))
>>> keras.ops.convert_to_numpy(MaskedGlobalMaxPooling1D()(x, mask=mask)).tolist()
[[1.0]]
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqtasks")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """``(batch, time, features) -> (batch, features)``: the max over the unmasked steps.

    A sequence whose steps are all masked gives zeros. Without a mask it is
    `keras.layers.GlobalMaxPooling1D`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
        pooled = ops.max(ops.where(keep, inputs, float("-inf")), axis=1)
        return ops.where(ops.any(keep, axis=1), pooled, ops.zeros_like(pooled))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def compute_mask(self, inputs, mask=None):
        return None
