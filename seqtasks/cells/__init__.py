"""Recurrent cells written with `keras.ops` only, in Keras's weight layout."""

from seqtasks.cells.base import RecurrentCell
from seqtasks.cells.elman import ElmanCell
from seqtasks.cells.gru import GRUCell
from seqtasks.cells.lstm import LSTMCell
from seqtasks.cells.minimal import MinGRUCell, MinLSTMCell
from seqtasks.cells.narx import NARXCell
from seqtasks.cells.registry import CELLS, make_cell

__all__ = ["CELLS", "ElmanCell", "GRUCell", "LSTMCell", "MinGRUCell", "MinLSTMCell", "NARXCell",
           "RecurrentCell", "make_cell"]
