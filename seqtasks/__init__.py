"""seqtasks: Keras 3 recurrent sequence models.

Custom RNN cells written with ``keras.ops`` only (they run on the TensorFlow, JAX and
PyTorch backends), a fast recurrent layer, stacking helpers, data readers and recipes.

Example:

>>> import keras, seqtasks
>>> layer = seqtasks.Recurrent(seqtasks.LSTMCell(8))
>>> layer(keras.ops.ones((2, 5, 3))).shape
(2, 8)
"""

import contextlib
import os
import sys


@contextlib.contextmanager
def _native_stderr_silenced():
    """Sends file descriptor 2 to /dev/null: TensorFlow's native libraries print lines
    (CUDA probing on a CPU machine) while they load, before any log level applies."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


# TensorFlow's C++ log lines are noise in a normal run; set TF_CPP_MIN_LOG_LEVEL=0 (before
# importing seqtasks) to see them.
if "TF_CPP_MIN_LOG_LEVEL" not in os.environ and "tensorflow" not in sys.modules:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        with _native_stderr_silenced():
            import tensorflow  # noqa: F401

from seqtasks.cells import ElmanCell, GRUCell, LSTMCell, MinGRUCell, MinLSTMCell  # noqa: E402
from seqtasks.errors import ConfigError, DataError, SeqtasksError  # noqa: E402
from seqtasks.layers import Recurrent, recurrent_stack  # noqa: E402
from seqtasks import models  # noqa: E402, F401  (registers the models' layers for loading)
from seqtasks.tasks import load  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "ConfigError",
    "DataError",
    "ElmanCell",
    "GRUCell",
    "LSTMCell",
    "MinGRUCell",
    "MinLSTMCell",
    "Recurrent",
    "SeqtasksError",
    "load",
    "recurrent_stack",
]
