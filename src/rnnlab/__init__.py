"""rnnlab: every classic recurrent network on PyTorch.

Drop-in twins of torch.nn's recurrent layers (``RNN``, ``LSTM``, ``GRU``), any
registered cell as a layer (``Recurrent``), and the cells themselves
(``rnnlab.cells``).  See README.md.
"""

from . import cells, tasks
from .layers import GRU, LSTM, RNN, Recurrent

__version__ = "0.1.0"
__all__ = ["cells", "tasks", "Recurrent", "RNN", "LSTM", "GRU", "__version__"]
