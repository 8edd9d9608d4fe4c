"""Layers: ``Recurrent(cell)`` for every cell, and the torch.nn twins RNN, LSTM, GRU."""

from .recurrent import Recurrent
from .torch_twins import GRU, LSTM, RNN

__all__ = ["Recurrent", "RNN", "LSTM", "GRU"]
