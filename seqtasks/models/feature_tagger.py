"""A feature-based tagger: hashed spelling and context features -> tag scores -> a
linear-chain CRF (or a softmax per word).

The classical tagger (a CRF over word shapes, as crfsuite trains) written as a Keras
model: `FeatureScores` gives each word the summed weights of its features
(`seqtasks.data.word_features`), the potentials of a `CRF`. Beside a recurrent tagger it
adds what a table of word endings and neighbours knows; the tagging task mixes the two
(`seqtasks.models.mixtures.average_of_taggers` with weights).

Example:

>>> import numpy as np
>>> model = build_feature_tagger(num_tags=4, buckets=64, slots=3)
>>> model.predict({"features": np.array([[[5, 9, 1], [7, 2, 0]]])}, verbose=0).shape
(1, 2, 4)
"""

import keras

from seqtasks.layers import CRF, CRFModel
from seqtasks.layers.feature_scores import FeatureScores
from seqtasks.models.tagger import OUTPUTS
from seqtasks.validation import one_of


def build_feature_tagger(num_tags, buckets, slots, output="crf", name="feature_tagger"):
    """The tagger (not compiled) from ``features`` (int, (batch, T, slots); a step of
    zeros is padding) to tag potentials into a `CRF` (a `CRFModel`; compile it without a
    loss) or, with ``output="softmax"``, a softmax per word (a `keras.Model`)."""
    one_of("output", output, OUTPUTS)
    features = keras.Input((None, slots), dtype="int32", name="features")
    scores = FeatureScores(buckets, num_tags, name="feature_scores")(features)
    inputs = {"features": features}
    if output == "softmax":
        probabilities = keras.layers.Activation("softmax", name="tags")(scores)
        return keras.Model(inputs, probabilities, name=name)
    return CRFModel(inputs, CRF(num_tags, name="crf")(scores), name=name)
