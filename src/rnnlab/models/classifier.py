"""N→1: a recurrent stack reads a whole sequence, one readout maps a summary of it.

The building block of sequence classification and of sequence-to-value regression
(Hochreiter & Schmidhuber's adding and temporal-order problems): an optional token
embedding, any registered cell in ``rnnlab.Recurrent``, a pooling of the last
layer's outputs over time, then one linear layer.

Pooling (``pooling=``), always over each sequence's own real steps (``lengths``):

    "last"  the output at the last real step, y_{n_b} (Elman 1990; the classic N→1
            reading); with a bidirectional stack the forward direction's output at
            step n_b beside the backward direction's at step 1, the final outputs
            of both directions (Schuster & Paliwal 1997).
    "mean"  (1 / n_b) Σ_{t ≤ n_b} y_t
    "max"   max_{t ≤ n_b} y_t, feature by feature (Collobert et al. 2011's max over time)

Padded steps never count.  The helpers ``token_embedding`` and ``check_tokens`` are
shared with the tagger (``tagger.py``), which reads its input the same way.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..cells.base import check_size
from ..layers import Recurrent

POOLINGS = ("last", "mean", "max")


class SequenceClassifier(nn.Module):
    """x (T, B, input_size), or (T, B) token ids -> (outputs (B, output_size), final recurrent state).

    Args:
        cell: a name from ``rnnlab.cells.available()``.
        input_size: I, features per step of float inputs.  Ignored when ``input_vocab``
            is given (the stack then reads ``embedding_size`` features), so that a
            task's ``input_size`` can be passed as it is; it may then be None.
        hidden_size: H, the cell's hidden units.
        output_size: O, readouts (classes for classification, values for regression).
        num_layers, dropout, bidirectional: as in ``rnnlab.Recurrent`` (dropout acts
            between layers only).
        input_vocab: V_in.  When set, inputs are (T, B) integer token ids in [0, V_in),
            embedded by ``nn.Embedding(V_in, embedding_size)``.
        embedding_size: E, width of the embedding; hidden_size when None.  Only with
            ``input_vocab``.
        pooling: "last", "mean" or "max" (module docstring).
        **cell_options: passed to the cell (e.g. ``proj_size`` for ``lstm``).

    ``forward(x, lengths=None, state=None) -> (outputs, state)``:
        x: (T, B, I) floating point, or (T, B) integer token ids with ``input_vocab``.
        lengths: (B,) true lengths of a padded batch (tensor or list); None when every
            sequence has all T steps.
        state: the initial recurrent state as ``Recurrent`` takes it ((L·D, B, H), or a
            tuple (h, c) for the LSTM), so that truncated BPTT can carry it from chunk to
            chunk; zeros when None.
        outputs: (B, O) raw scores (logits for classification, values for regression).
        state: the final recurrent state, each sequence's at its own last real step.
    """

    def __init__(self, cell: str, input_size: int | None, hidden_size: int, output_size: int, num_layers: int = 1,
                 dropout: float = 0.0, bidirectional: bool = False, *, input_vocab: int | None = None,
                 embedding_size: int | None = None, pooling: str = "last", **cell_options) -> None:
        super().__init__()
        if not isinstance(pooling, str) or pooling not in POOLINGS:
            raise ValueError(f"SequenceClassifier: pooling must be one of {', '.join(map(repr, POOLINGS))}; "
                             f"got {pooling!r}")
        check_size("output_size", output_size)
        self.pooling = pooling
        self.input_vocab = input_vocab
        self.embedding, read_size = token_embedding("SequenceClassifier", input_size, hidden_size, input_vocab,
                                                    embedding_size)
        self.recurrent = Recurrent(cell, read_size, hidden_size, num_layers=num_layers, dropout=dropout,
                                   bidirectional=bidirectional, **cell_options)
        directions = 2 if bidirectional else 1
        self.readout = nn.Linear(directions * self.recurrent.output_size, output_size)

    def forward(self, x: Tensor, lengths: Tensor | None = None, state=None) -> tuple[Tensor, object]:
        x = read_input("SequenceClassifier", self.embedding, self.input_vocab, self.recurrent.input_size, x)
        y, h_n = self.recurrent(x, state, lengths=lengths)  # (T, B, D·H_out)
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=y.device)  # checked by the layer
        directions = self.recurrent.num_directions
        if self.pooling == "last":
            pooled = last_outputs(y, lengths, directions)
        elif self.pooling == "mean":
            if lengths is None:
                pooled = y.mean(0)
            else:
                real = _real_steps(lengths, y.shape[0])  # (T, B, 1)
                pooled = y.masked_fill(~real, 0.0).sum(0) / lengths.unsqueeze(1).to(y.dtype)  # (B, D·H_out)
        else:  # "max"
            if lengths is None:
                pooled = y.amax(0)
            else:
                pooled = y.masked_fill(~_real_steps(lengths, y.shape[0]), float("-inf")).amax(0)  # (B, D·H_out)
        return self.readout(pooled), h_n

    def extra_repr(self) -> str:
        return f"pooling={self.pooling!r}"


def last_outputs(y: Tensor, lengths: Tensor | None, directions: int) -> Tensor:
    """Final outputs of every direction: y (T, B, D·H) -> (B, D·H).

    The forward direction's output at each sequence's last real step (``lengths[b] − 1``);
    the backward direction's at step 0, where it ends.
    """
    steps, batch, features = y.shape
    if lengths is None:
        last = y[-1]  # (B, D·H)
    else:
        index = (lengths - 1).view(1, batch, 1).expand(1, batch, features)  # (1, B, D·H)
        last = y.gather(0, index).squeeze(0)  # (B, D·H)
    if directions == 2:
        half = features // 2
        last = torch.cat([last[:, :half], y[0, :, half:]], dim=-1)  # (B, 2·H)
    return last


def _real_steps(lengths: Tensor, steps: int) -> Tensor:
    """(T, B, 1) bool, True at t < lengths[b]."""
    return (torch.arange(steps, device=lengths.device).unsqueeze(1) < lengths).unsqueeze(2)


# ---- reading inputs: shared with the tagger ----------------------------------------------------

def token_embedding(owner: str, input_size: int | None, hidden_size: int, input_vocab: int | None,
                    embedding_size: int | None) -> tuple[nn.Embedding | None, int]:
    """The embedding of token inputs (None for float inputs) and the features the stack reads."""
    if input_vocab is None:
        if embedding_size is not None:
            raise ValueError(f"{owner}: embedding_size={embedding_size!r} is given without input_vocab; "
                             "it sets the width of the token embedding, so give input_vocab too (or drop it)")
        check_size("input_size", input_size)
        return None, input_size
    check_size("input_vocab", input_vocab)
    check_size("hidden_size", hidden_size)
    size = hidden_size if embedding_size is None else check_size("embedding_size", embedding_size)
    return nn.Embedding(input_vocab, size), size


def read_input(owner: str, embedding: nn.Embedding | None, input_vocab: int | None, input_size: int,
               x: Tensor) -> Tensor:
    """Check x as the model's public entry and embed token ids: -> (T, B, I) or (T, B, E)."""
    if embedding is None:
        if not isinstance(x, Tensor) or x.dim() != 3:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            hint = " (token ids need input_vocab=...)" if isinstance(x, Tensor) and x.dim() == 2 else ""
            raise ValueError(f"{owner} expects x of shape (T, B, {input_size}){hint}; got {shape}")
        return x  # the layer checks its features, dtype and lengths
    check_tokens(owner, x, input_vocab, name="x")
    return embedding(x)  # (T, B, E)


def check_tokens(owner: str, tokens, vocab: int, *, name: str = "tokens") -> None:
    """TypeError/ValueError unless ``tokens`` is a non-empty (T, B) integer tensor of ids in [0, vocab)."""
    if not isinstance(tokens, Tensor):
        raise TypeError(f"{owner} expects {name} as a Tensor of token ids; got {type(tokens).__name__}")
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise TypeError(f"{owner} expects {name} as integer token ids (int64) in [0, {vocab}); "
                        f"got dtype {tokens.dtype} and shape {tuple(tokens.shape)}")
    if tokens.dim() != 2 or tokens.shape[0] == 0 or tokens.shape[1] == 0:
        raise ValueError(f"{owner} expects {name} of shape (T, B) with T, B >= 1; got {tuple(tokens.shape)}")
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= vocab:
        raise ValueError(f"{owner}: token ids must lie in [0, {vocab}) (the vocabulary size); "
                         f"got values from {low} to {high}")
