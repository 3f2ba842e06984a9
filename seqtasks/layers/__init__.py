"""Recurrent layers and builders, the time-delay network (TDNN), masked max pooling, the
CRF, the Tree-LSTM (recursive) and the gated graph (graph) layers, the bag of n-grams,
the scores of hashed word features and the mixture of classifiers."""

from seqtasks.layers.crf import CRF, CRFModel
from seqtasks.layers.feature_scores import FeatureScores
from seqtasks.layers.gated_graph import GatedGraph
from seqtasks.layers.mixture import Mixture
from seqtasks.layers.ngram_scores import NGramScores
from seqtasks.layers.pooling import MaskedGlobalMaxPooling1D
from seqtasks.layers.recurrent import Recurrent
from seqtasks.layers.stack import recurrent_stack
from seqtasks.layers.subtree_words import SubtreeWordScores
from seqtasks.layers.tdnn import TDNN
from seqtasks.layers.tree_lstm import TreeLSTM

__all__ = ["CRF", "CRFModel", "FeatureScores", "GatedGraph", "MaskedGlobalMaxPooling1D",
           "Mixture", "NGramScores", "Recurrent", "SubtreeWordScores", "TDNN", "TreeLSTM",
           "recurrent_stack"]
