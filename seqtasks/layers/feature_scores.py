"""`FeatureScores`: the tag scores of a linear model over each word's hashed features.

Every feature id (`seqtasks.data.word_features.feature_ids`: spelling and neighbouring
words, hashed into `buckets` ids) has a weight per tag, and a word's scores are the sum
of its features' weights: the tag potentials of a classical feature-based CRF tagger,
which knows word endings and neighbours by heart where a recurrent tagger generalises.
Id 0 (a feature the word lacks) counts for nothing; a word whose ids are all 0 is
padding (masked). `seqtasks.models.feature_tagger` builds the tagger around it.

Example:

>>> import numpy as np
>>> layer = FeatureScores(buckets=64, num_tags=3)
>>> ids = np.array([[[5, 9], [7, 0], [0, 0]]])
>>> tuple(layer(ids).shape), keras.ops.convert_to_numpy(layer.compute_mask(ids)).tolist()
((1, 3, 3), [[True, True, False]])
"""

import keras
from keras import ops

from seqtasks import validation


@keras.saving.register_keras_serializable(package="seqtasks")
class FeatureScores(keras.layers.Layer):
    """``(batch, time, slots)`` feature ids (0: none) -> ``(batch, time, num_tags)``
    scores, masked where a step has no feature.

    Args:
        buckets: the number of feature ids (the rows of the weights).
        num_tags: the number of tags.

    The weight ``features`` ``(buckets, num_tags)`` starts at zero (a linear model needs
    no random start).
    """

    def __init__(self, buckets, num_tags, **kwargs):
        super().__init__(**kwargs)
        self.buckets = validation.positive_int("buckets", buckets)
        self.num_tags = validation.positive_int("num_tags", num_tags)
        self.supports_masking = True

    def build(self, input_shape):
        self.features = self.add_weight(shape=(self.buckets, self.num_tags),
                                        initializer="zeros", name="features")

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        present = ops.cast(ids > 0, self.compute_dtype)
        return ops.sum(ops.take(self.features, ids, axis=0) * present[..., None], axis=2)

    def compute_mask(self, ids, mask=None):
        return ops.any(ops.not_equal(ids, 0), axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.num_tags)

    def get_config(self):
        return {**super().get_config(), "buckets": self.buckets, "num_tags": self.num_tags}
