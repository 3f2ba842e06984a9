"""Keras graph builders of the task architectures: classifier, tagger, language model,
translator, sequence autoencoder, tree classifier, relation classifier, the bag-of-n-grams
classifier, mixtures of classifiers and averages of taggers; and the
`accuracy.TokenAccuracy` metric they are compiled with.

Importing this package (as ``import seqtasks`` does) registers every custom layer the
models use, so ``keras.saving.load_model`` reads any saved seqtasks model.

>>> from seqtasks.models.classifier import build_classifier
>>> build_classifier(vocab_size=50, num_classes=2, units=4).output.shape
(None, 2)
"""

from seqtasks.models import (accuracy, autoencoder, classifier, language_model, mixtures,
                             ngram_classifier, relation_classifier, tagger, translator,
                             tree_classifier)

__all__ = ["accuracy", "autoencoder", "classifier", "language_model", "mixtures",
           "ngram_classifier", "relation_classifier", "tagger", "translator", "tree_classifier"]
