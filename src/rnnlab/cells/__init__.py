"""Cells: one time step each, ``(x_t, state) -> (y_t, new_state)``.

>>> import rnnlab
>>> rnnlab.cells.available()
['elman_tanh', 'elman_relu', 'lstm', 'gru', 'gru_v3', 'gru1', 'gru2', 'gru3', 'fully_recurrent', 'lstm1997']
>>> cell = rnnlab.cells.create("lstm", input_size=3, hidden_size=5)
"""

from . import elman, lstm, gru, gru_v3, fully_recurrent, lstm1997  # noqa: F401  (registers the cells, in this order)
from .base import RecurrentCell
from .elman import ElmanCell
from .fully_recurrent import FullyRecurrentCell, FullyRecurrentState
from .gru import GRUCell
from .gru_v3 import GRUv3Cell
from .lstm import LSTMCell, LSTMState
from .lstm1997 import LSTM1997Cell, LSTM1997GatedState, LSTM1997State
from .registry import available, create, describe, register

__all__ = ["RecurrentCell", "ElmanCell", "FullyRecurrentCell", "FullyRecurrentState", "LSTMCell", "LSTMState",
           "LSTM1997Cell", "LSTM1997State", "LSTM1997GatedState", "GRUCell", "GRUv3Cell", "available", "create", "describe", "register"]
