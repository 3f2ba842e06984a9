"""Recurrent layers and builders, the time-delay network (TDNN) and masked max pooling."""

from seqtasks.layers.crf import CRF, CRFModel
from seqtasks.layers.pooling import MaskedGlobalMaxPooling1D
from seqtasks.layers.recurrent import Recurrent
from seqtasks.layers.stack import recurrent_stack
from seqtasks.layers.tdnn import TDNN

__all__ = ["CRF", "CRFModel", "MaskedGlobalMaxPooling1D", "Recurrent", "TDNN", "recurrent_stack"]
