"""Cells by name, for builders, recipes and the command line (``--cell lstm``).

Example:

>>> cell = make_cell("lstm-peephole", 16)
>>> type(cell).__name__, cell.peephole
('LSTMCell', True)
"""

from seqtasks.cells.elman import ElmanCell
from seqtasks.cells.gru import GRUCell
from seqtasks.cells.lstm import LSTMCell
from seqtasks.cells.minimal import MinGRUCell, MinLSTMCell
from seqtasks.cells.narx import NARXCell
from seqtasks.errors import ConfigError

CELLS = {
    "elman": (ElmanCell, {}),
    "lstm": (LSTMCell, {}),
    "lstm-peephole": (LSTMCell, {"peephole": True}),
    "lstm-layernorm": (LSTMCell, {"layer_norm": True}),
    "lstm-noforget": (LSTMCell, {"forget_gate": False}),
    "gru": (GRUCell, {}),
    "gru-resetbefore": (GRUCell, {"reset_after": False}),
    "gru-minimal": (GRUCell, {"variant": "minimal"}),
    "narx": (NARXCell, {"input_delay": 2, "output_delay": 2}),
    "mingru": (MinGRUCell, {}),
    "minlstm": (MinLSTMCell, {}),
}

# A time-delay network as a cell (no output feedback), for models that step through
# time one token at a time; `recurrent_stack("tdnn")` uses the parallel TDNN layer.
STEP_TDNN = (NARXCell, {"input_delay": 2, "output_delay": 0})


def make_cell(name, units, **kwargs):
    """Builds the cell called `name` (see `CELLS`, or "tdnn") with `units`.

    kwargs override the cell's defaults. "tdnn" gives `NARXCell(output_delay=0)`, a
    time-delay network stepped like a recurrent cell.
    """
    if name == "tdnn":
        cls, defaults = STEP_TDNN
    elif name in CELLS:
        cls, defaults = CELLS[name]
    else:
        raise ConfigError(f"unknown cell {name!r}; choose one of: {', '.join(CELLS)}, tdnn")
    return cls(units, **{**defaults, **kwargs})
