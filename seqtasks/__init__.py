"""seqtasks: Keras 3 recurrent sequence models.

Custom RNN cells written with ``keras.ops`` only (they run on the TensorFlow, JAX and
PyTorch backends), a fast recurrent layer, stacking helpers, data readers and recipes.

Example:

>>> import keras, seqtasks
>>> layer = seqtasks.Recurrent(seqtasks.LSTMCell(8))
>>> layer(keras.ops.ones((2, 5, 3))).shape
(2, 8)
"""

from seqtasks.cells import ElmanCell, GRUCell, LSTMCell
from seqtasks.errors import ConfigError, DataError, SeqtasksError
from seqtasks.layers import Recurrent, recurrent_stack

__version__ = "0.1.0"
__all__ = [
    "ConfigError",
    "DataError",
    "ElmanCell",
    "GRUCell",
    "LSTMCell",
    "Recurrent",
    "SeqtasksError",
    "recurrent_stack",
]
