"""N→N: one readout at every step of the sequence, the topology of sequence tagging.

Elman (1990) trained his simple recurrent network this way: at every step t the
network reads x_t and predicts a target for that step (the next letter, the next
word) from its hidden state, which summarises x_1 … x_t.

    y_t = Recurrent(x_1 … x_t)               (T, B, D·H_out)
    o_t = W y_t + b                          (T, B, O)
    o_t = W y_t + V x_t + b                  with ``input_shortcut``

The shortcut V x_t wires the input units to the output units.  Hochreiter & Schmidhuber's
(1997, §5.2) experiment 2a needs it: their net of one memory cell predicts the next of
p + 1 symbols at every step, which the cell alone (one number) cannot carry but the
current input can (a_i is always followed by a_{i+1}), so its output units must read
the inputs (an inference: the paper does not draw the net); the cell then only has to
remember the first symbol.

With a bidirectional stack (Schuster & Paliwal 1997) y_t also summarises x_t … x_n,
so each step's readout sees the whole sequence.  Inputs are read as by
``SequenceClassifier``: float features, or token ids through an embedding.  Outputs
at padded steps (t ≥ lengths[b]) are zero, and never depend on the padding.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..cells.base import check_size
from ..layers import Recurrent
from .classifier import read_input, token_embedding


class SequenceTagger(nn.Module):
    """x (T, B, input_size), or (T, B) token ids -> (outputs (T, B, output_size), final recurrent state).

    Args:
        cell: a name from ``rnnlab.cells.available()``.
        input_size: I, features per step of float inputs; ignored (may be None) when
            ``input_vocab`` is given, as in ``SequenceClassifier``.
        hidden_size: H, the cell's hidden units.
        output_size: O, readouts per step (classes, or values for regression).
        num_layers, dropout, bidirectional: as in ``rnnlab.Recurrent`` (dropout acts
            between layers only).
        input_vocab: V_in.  When set, inputs are (T, B) integer token ids in [0, V_in),
            embedded by ``nn.Embedding(V_in, embedding_size)``.
        embedding_size: E, width of the embedding; hidden_size when None.  Only with
            ``input_vocab``.
        input_shortcut: the readout also reads the step's input (embedded, for token
            ids): o_t = W y_t + V x_t + b.
        **cell_options: passed to the cell (e.g. ``proj_size`` for ``lstm``).

    ``forward(x, lengths=None, state=None) -> (outputs, state)``:
        x: (T, B, I) floating point, or (T, B) integer token ids with ``input_vocab``.
        lengths: (B,) true lengths of a padded batch; None when every sequence has all T steps.
        state: the initial recurrent state as ``Recurrent`` takes it; zeros when None.
            With a unidirectional stack, the final state of one chunk continues the
            next one exactly (truncated BPTT).
        outputs: (T, B, O) raw scores at every step; zero at padded steps.
        state: the final recurrent state, each sequence's at its own last real step.
    """

    def __init__(self, cell: str, input_size: int | None, hidden_size: int, output_size: int, num_layers: int = 1,
                 dropout: float = 0.0, bidirectional: bool = False, *, input_vocab: int | None = None,
                 embedding_size: int | None = None, input_shortcut: bool = False, **cell_options) -> None:
        super().__init__()
        check_size("output_size", output_size)
        self.input_vocab = input_vocab
        self.embedding, read_size = token_embedding("SequenceTagger", input_size, hidden_size, input_vocab,
                                                    embedding_size)
        self.recurrent = Recurrent(cell, read_size, hidden_size, num_layers=num_layers, dropout=dropout,
                                   bidirectional=bidirectional, **cell_options)
        self.readout = nn.Linear(self.recurrent.num_directions * self.recurrent.output_size, output_size)
        self.shortcut = nn.Linear(read_size, output_size, bias=False) if input_shortcut else None

    def forward(self, x: Tensor, lengths: Tensor | None = None, state=None) -> tuple[Tensor, object]:
        x = read_input("SequenceTagger", self.embedding, self.input_vocab, self.recurrent.input_size, x)
        y, h_n = self.recurrent(x, state, lengths=lengths)  # (T, B, D·H_out)
        outputs = self.readout(y)  # (T, B, O)
        if self.shortcut is not None:
            outputs = outputs + self.shortcut(x)  # (T, B, O)
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=y.device)  # checked by the layer
            real = (torch.arange(y.shape[0], device=y.device).unsqueeze(1) < lengths).unsqueeze(2)  # (T, B, 1)
            outputs = outputs.masked_fill(~real, 0.0)  # the readout's bias would show at padded steps
        return outputs, h_n
