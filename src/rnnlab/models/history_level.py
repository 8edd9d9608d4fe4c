"""One level of the history compressor: a cell that reads the elements passed up to it and predicts the next.

Level k's elements are symbols (token ids, or I floats) with k stamps, their positions in the
sequences of levels 0 … k − 1 (Schmidhuber 1992, §3: each input passed up comes "along with a unique
representation of the time step").  The level predicts the next element's symbol (softmax over the
vocabulary, or values for real-valued inputs) and, for k >= 1, the gap to each of its stamps (a
softmax over gaps 1 … G − 1 and ">= G").  ``hits`` says which predictions were right (those elements
are not passed up), ``guess`` reads a prediction as the decoder does, ``element_losses`` trains it.
The model around the levels is ``history_compressor``; the codec ``history_codec``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import cells


class CompressorLevel(nn.Module):
    """One level: a cell that reads the elements passed up to it, one step per element, and predicts the next.

    An element of level k (``depth``) is a symbol (an int64 id, or I floats) with k stamps, its positions
    in the sequences of levels 0 … k − 1; level k predicts the symbol and the k gaps to the next element's
    stamps.  Shapes: elements (N, B) or (N, B, I), gaps (N, B, k) int64; outputs y (N, B, H_out).
    """

    def __init__(self, depth: int, cell: str, hidden_size: int, *, vocab: int | None, features: int,
                 time_input: bool, max_gap: int, cell_options: dict) -> None:
        super().__init__()
        self.depth, self.vocab, self.features, self.max_gap = depth, vocab, features, max_gap
        self.embedding = nn.Embedding(vocab, hidden_size) if vocab is not None else None
        width = hidden_size if vocab is not None else features
        self.gap_embedding = nn.Embedding(max_gap, hidden_size) if time_input and depth else None
        width += hidden_size if self.gap_embedding is not None else 0
        self.cell = cells.create(cell, width, hidden_size, **cell_options)
        self.predict_symbol = nn.Linear(self.cell.output_size, vocab if vocab is not None else features)
        self.predict_gaps = nn.Linear(self.cell.output_size, depth * max_gap) if depth else None

    @property
    def tokens(self) -> bool:
        return self.vocab is not None

    def read(self, symbols: Tensor, gaps: Tensor | None) -> Tensor:
        """Elements (..., ) ids or (..., I) floats and their gaps (..., k) -> the cell's input (..., width)."""
        x = self.embedding(symbols) if self.embedding is not None else symbols
        if self.gap_embedding is not None:
            x = torch.cat([x, self.gap_embedding(gap_classes(gaps[..., -1:], self.max_gap)[..., 0])], dim=-1)
        return x

    def run(self, symbols: Tensor, gaps: Tensor | None) -> Tensor:
        """The whole element sequence (N, B[, I]) at once (the cell's fast path) -> y (N, B, H_out)."""
        x = self.read(symbols, gaps)  # (N, B, width)
        y, _ = self.cell.sequence(x, self.cell.initial_state(x.shape[1], dtype=x.dtype, device=x.device))
        return y

    def step(self, symbol: Tensor, gaps: Tensor | None, state):
        """One element of B sequences (B,) or (B, I), gaps (B, k) -> (y (B, H_out), state)."""
        return self.cell(self.read(symbol, gaps), state)

    def predict(self, previous: Tensor) -> tuple[Tensor, Tensor | None]:
        """Outputs y_{j−1} (..., H_out) -> the prediction of element j: symbol scores (..., V) (logits) or
        values (..., I), and gap logits (..., k, max_gap) (None at level 0)."""
        scores = self.predict_symbol(previous)
        if self.predict_gaps is None:
            return scores, None
        return scores, self.predict_gaps(previous).unflatten(-1, (self.depth, self.max_gap))

    def hits(self, scores: Tensor, gap_logits: Tensor | None, symbols: Tensor, gaps: Tensor | None,
             threshold: float) -> Tensor:
        """(...) bool: where the prediction was right (the element is not passed up).  Tokens: every argmax is
        what came and the probability of the element (symbol times gaps) is at least θ; real values: every
        component within θ and the gaps' argmax exact.  A gap of ``max_gap`` or more is never predicted."""
        if self.tokens:
            probability = scores.softmax(-1).gather(-1, symbols.unsqueeze(-1)).squeeze(-1)
            hit = scores.argmax(-1) == symbols
        else:
            probability = None
            hit = (scores - symbols).abs().amax(-1) <= threshold
        if gap_logits is not None:
            classes = gap_classes(gaps, self.max_gap)  # (..., k)
            hit = hit & (gap_logits.argmax(-1) == classes).all(-1) & (gaps < self.max_gap).all(-1)
            if probability is not None:
                gap_probability = gap_logits.softmax(-1).gather(-1, classes.unsqueeze(-1)).squeeze(-1)
                probability = probability * gap_probability.prod(-1)
        if probability is not None:
            hit = hit & (probability >= threshold)
        return hit

    def guess(self, scores: Tensor, gap_logits: Tensor | None) -> tuple[Tensor, Tensor]:
        """The predicted element: symbol (...) ids or (..., I) values, and gaps (..., k) (the decoder's reading)."""
        symbol = scores.argmax(-1) if self.tokens else scores
        if gap_logits is None:
            return symbol, torch.zeros(*scores.shape[:-1], 0, dtype=torch.long, device=scores.device)
        return symbol, gap_logits.argmax(-1) + 1

    def element_losses(self, scores: Tensor, gap_logits: Tensor | None, symbols: Tensor,
                       gaps: Tensor | None) -> Tensor:
        """(...) the prediction loss of each element: cross-entropy of its symbol (squared error, averaged over
        the I components, for real values) plus the cross-entropy of each gap."""
        if self.tokens:
            loss = F.cross_entropy(scores.flatten(0, -2), symbols.flatten(), reduction="none").view(symbols.shape)
        else:
            loss = (scores - symbols).pow(2).mean(-1)
        if gap_logits is not None:
            classes = gap_classes(gaps, self.max_gap)  # (..., k)
            gap_loss = F.cross_entropy(gap_logits.flatten(0, -2), classes.flatten(), reduction="none")
            loss = loss + gap_loss.view(classes.shape).sum(-1)
        return loss


def gap_classes(gaps: Tensor, max_gap: int) -> Tensor:
    """Gaps (>= 1) -> classes 0 … max_gap − 1: gap g is class g − 1, and every gap >= max_gap the last class."""
    return gaps.clamp(1, max_gap) - 1


def stamp_gaps(stamps: Tensor) -> Tensor:
    """Stamps (N, B, k) -> gaps (N, B, k): each stamp minus the previous element's (−1 before the first)."""
    before = torch.cat([torch.full_like(stamps[:1], -1), stamps[:-1]])  # (N, B, k)
    return stamps - before


def previous_outputs(y: Tensor) -> Tensor:
    """y (N, B, H) -> (N, B, H): the output before each element (zeros before the first), which predicts it."""
    return torch.cat([torch.zeros_like(y[:1]), y[:-1]])
