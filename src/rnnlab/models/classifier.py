"""N→1: a recurrent stack reads a whole sequence, one readout maps its final state.

The building block of sequence classification and of sequence-to-value regression
(Hochreiter & Schmidhuber's adding and temporal-order problems): any registered cell
in ``rnnlab.Recurrent``, then a linear layer on the last layer's final output, which
the layer takes at each sequence's own last real step when ``lengths`` is given.
With a bidirectional stack the readout sees both directions' final outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..layers import Recurrent


class SequenceClassifier(nn.Module):
    """x (T, B, input_size) -> (outputs (B, output_size), final recurrent state).

    Outputs are raw scores (logits for classification, values for regression).
    ``forward(x, lengths=None, state=None)``: ``state`` is the recurrent state as
    ``Recurrent`` takes it, so that truncated BPTT can carry it from chunk to chunk.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, output_size: int, num_layers: int = 1,
                 dropout: float = 0.0, bidirectional: bool = False, **cell_options) -> None:
        super().__init__()
        self.recurrent = Recurrent(cell, input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                                   bidirectional=bidirectional, **cell_options)
        directions = 2 if bidirectional else 1
        self.readout = nn.Linear(directions * self.recurrent.output_size, output_size)

    def forward(self, x: Tensor, lengths: Tensor | None = None, state=None) -> tuple[Tensor, object]:
        _, h_n = self.recurrent(x, state, lengths=lengths)
        h = h_n if isinstance(h_n, Tensor) else h_n[0]  # (L·D, B, H_out): h of every layer and direction
        directions = 2 if self.recurrent.bidirectional else 1
        last_layer = torch.cat(list(h[-directions:]), dim=-1)  # (B, D·H_out)
        return self.readout(last_layer), h_n
