"""rnnlab: every classic recurrent network on PyTorch.

Drop-in twins of torch.nn's recurrent layers (``RNN``, ``LSTM``, ``GRU``), any
registered cell as a layer (``Recurrent``), and the cells themselves
(``rnnlab.cells``), the Neural Turing Machine (``NTM``), the topologies
(``rnnlab.models``), the tasks (``rnnlab.tasks``), gradient flow and Jacobian
spectra (``rnnlab.analysis``) and BPTT written out in NumPy (``rnnlab.reference``).
See README.md.
"""

from . import analysis, cells, models, reference, tasks
from .layers import GRU, LSTM, RNN, Recurrent
from .memory import NTM

__version__ = "0.1.0"
__all__ = ["analysis", "cells", "models", "reference", "tasks", "Recurrent", "RNN", "LSTM", "GRU", "NTM", "__version__"]
