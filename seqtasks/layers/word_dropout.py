"""`WordDropout`: in training, replaces token ids by the unknown-word id at random.

A tagger or classifier sees ``<unk>`` only for the rare words its vocabulary left out;
at test time every word outside the training vocabulary is ``<unk>``, often far more of
them. Replacing known words by ``<unk>`` with a small probability during training
(word dropout, Iyyer et al. 2015; Kiperwasser and Goldberg 2016) teaches the model to
tag from the context and the word's other features (its characters) when the word
itself is unknown. Padding (id 0) is never replaced, so masks computed from the ids
afterwards (``Embedding(mask_zero=True)``) are unchanged. At inference the layer is the
identity.

Example:

>>> import numpy as np
>>> ids = np.array([[5, 6, 7, 0]])
>>> layer = WordDropout(0.5, unknown_id=1, seed=0)
>>> keras.ops.convert_to_numpy(layer(ids)).tolist()  # inference: unchanged
[[5, 6, 7, 0]]
>>> dropped = keras.ops.convert_to_numpy(layer(ids, training=True))
>>> bool(set(dropped[0, :3].tolist()) <= {1, 5, 6, 7}), int(dropped[0, 3])
(True, 0)
"""

import keras
from keras import ops

from seqtasks import validation


@keras.saving.register_keras_serializable(package="seqtasks")
class WordDropout(keras.layers.Layer):
    """Replaces each non-padding id by `unknown_id` with probability `rate` in training.

    Args:
        rate: the probability of replacing a token, in [0, 1).
        unknown_id: the id of ``<unk>`` (1 in seqtasks vocabularies).
        padding_id: the id that is never replaced (0).
        seed: seeds the random draws.
    """

    def __init__(self, rate, unknown_id=1, padding_id=0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = validation.rate("rate", rate)
        self.unknown_id, self.padding_id = int(unknown_id), int(padding_id)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, ids, training=False):
        if not training or self.rate == 0:
            return ids
        draw = keras.random.uniform(ops.shape(ids), seed=self.seed_generator)
        replace = ops.logical_and(draw < self.rate, ops.not_equal(ids, self.padding_id))
        return ops.where(replace, ops.cast(self.unknown_id, ids.dtype), ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "unknown_id": self.unknown_id,
                "padding_id": self.padding_id, "seed": self.seed}



def with_word_dropout(ids, rate, seed=None):
    """`ids` through a `WordDropout` layer named ``word_dropout`` (`ids` itself when
    `rate` is 0): how the models put word dropout before their word embedding."""
    return WordDropout(rate, seed=seed, name="word_dropout")(ids) if rate else ids
