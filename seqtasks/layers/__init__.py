"""Recurrent layers and builders, and the time-delay network (TDNN)."""

from seqtasks.layers.recurrent import Recurrent
from seqtasks.layers.stack import recurrent_stack
from seqtasks.layers.tdnn import TDNN

__all__ = ["Recurrent", "TDNN", "recurrent_stack"]
