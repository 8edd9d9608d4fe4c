"""Drop-in twins of torch.nn.RNN, torch.nn.LSTM and torch.nn.GRU.

Same constructor arguments, forward signature, outputs and ``state_dict`` keys
as torch.nn, so ``rnnlab.LSTM(...).load_state_dict(torch_lstm.state_dict())``
gives the same outputs.  Each is ``Recurrent`` with its cell fixed; on top of
torch.nn, ``forward`` also takes ``lengths=`` for padded input.
"""

from __future__ import annotations

from .recurrent import Recurrent


class RNN(Recurrent):
    """Elman network, h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), φ = tanh or ReLU (see cells/elman.py)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        super().__init__(f"elman_{nonlinearity}", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


class LSTM(Recurrent):
    """Long short-term memory (see cells/lstm.py); hx and h_n are (h, c) pairs; ``proj_size`` as in torch.nn."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype, proj_size=proj_size)
        self.proj_size = proj_size
        self.mode = "LSTM"


class GRU(Recurrent):
    """Gated recurrent unit in torch.nn's form (see cells/gru.py)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)
        self.mode = "GRU"
