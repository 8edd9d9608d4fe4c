"""Additive attention: a decoder looks back at every step of the source sentence.

Bahdanau, Cho & Bengio (2015), "Neural machine translation by jointly learning to
align and translate", ICLR.  The decoder state s_{i−1} scores every annotation h_j
of the encoder (Appendix A.1.2, the alignment model), the scores are normalised over
the source (§3.1, eq. 6) and the expected annotation is the context of step i (eq. 5):

    e_ij = a(s_{i−1}, h_j) = v_aᵀ tanh(W_a s_{i−1} + U_a h_j)
    α_ij = exp(e_ij) / Σ_k exp(e_ik)                       (eq. 6)
    c_i  = Σ_j α_ij h_j                                     (eq. 5)

U_a h_j does not depend on i, so it is computed once per source sentence
(``memory``), as the paper's Appendix A.1.2 suggests.  The sums over j and k run over
the real steps of each source sequence only: padded steps get α_ij = 0 exactly.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn


class AttentionMemory(NamedTuple):
    """The encoder's annotations, batch first so that a beam search can reorder them with the decoder state."""

    keys: Tensor  # (B, S, K): h_j, the annotations
    projected_keys: Tensor  # (B, S, A): U_a h_j
    mask: Tensor  # (B, S) bool: True at the real source steps


class AdditiveAttention(nn.Module):
    """Bahdanau et al. (2015) alignment model and context vector.

    Args:
        query_size: size of s_{i−1}, the decoder state that asks (n in the paper).
        key_size: size of each annotation h_j (2n in the paper, a bidirectional encoder).
        attention_size: A, the rows of W_a and U_a and the length of v_a (n' in the paper).

    Weights as in the paper, without biases: ``query`` is W_a (A × query_size), ``key`` is
    U_a (A × key_size), ``score`` is v_aᵀ (1 × A).

    ``forward(query, memory) -> (context, weights)``: query (B, query_size) is s_{i−1};
    context (B, key_size) is c_i; weights (B, S) are α_i·, exactly 0 at padded steps.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.query = nn.Linear(query_size, attention_size, bias=False)  # W_a
        self.key = nn.Linear(key_size, attention_size, bias=False)  # U_a
        self.score = nn.Linear(attention_size, 1, bias=False)  # v_aᵀ

    def memory(self, keys: Tensor, mask: Tensor) -> AttentionMemory:
        """keys (B, S, K), the annotations h_j; mask (B, S) bool, True at real steps (at least one per row)."""
        return AttentionMemory(keys, self.key(keys), mask)  # projected keys (B, S, A)

    def forward(self, query: Tensor, memory: AttentionMemory) -> tuple[Tensor, Tensor]:
        energy = torch.tanh(self.query(query).unsqueeze(1) + memory.projected_keys)  # (B, S, A)
        scores = self.score(energy).squeeze(2)  # (B, S): e_ij
        scores = scores.masked_fill(~memory.mask, float("-inf"))  # exp(−∞) = 0: padding gets no weight
        weights = torch.softmax(scores, dim=1)  # (B, S): α_ij, eq. 6
        context = torch.bmm(weights.unsqueeze(1), memory.keys).squeeze(1)  # (B, K): c_i, eq. 5
        return context, weights
