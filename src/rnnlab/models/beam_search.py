"""Beam search: the K most probable output prefixes, kept for every sequence of a batch at once.

Left-to-right beam search as Sutskever, Vinyals & Le (2014, §3.2) decode with:
each of the K hypotheses of a sequence is extended by every symbol of the output
vocabulary, and the K extensions of highest total log-probability

    log p(y_1 … y_t | x) = Σ_{τ ≤ t} log p(y_τ | y_<τ, x)          (Sutskever et al. eq. 1)

survive.  A hypothesis that emits EOS is finished: it stays in the beam with its
score, continued by PAD at no cost, so that later, longer hypotheses must beat it
to push it out.  The search stops when all K hypotheses of every sequence are
finished, or after ``max_length`` steps.  The answer for each sequence is its best
hypothesis by total log-probability, or, with ``length_penalty`` α > 0, by
log p / |y|^α (length normalisation; Wu et al. 2016, §7 use ((5 + |y|)/6)^α), which
favours longer outputs.

The batch and the beams are one axis of B·K rows (row b·K + k is hypothesis k of
sequence b), so each step is one call of the decoder; the only Python loop is over
time.  beam_size=1 is greedy decoding.

A plain beam search finds neither the most probable output nor, strictly, always one
at least as probable as greedy decoding's: the greedy prefix may fall out of the beam
and every prefix that pushed it out may end lower.  So each sequence also keeps its
greedy hypothesis in one extra row (``keep_greedy``, one more row per sequence in the
same decoder call), a candidate for the final answer like the others: the answer's
log-probability is then never below greedy decoding's.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import Tensor

from ..vocabulary import BOS, EOS, PAD

# step(tokens (N,) int64, state) -> (logits (N, V), new state); every tensor of the state has the N rows at dim 0
Step = Callable[[Tensor, object], tuple[Tensor, object]]


class Hypotheses(NamedTuple):
    """The best hypothesis of each sequence."""

    tokens: Tensor  # (T_out, B) int64, ending with EOS (unless cut at max_length) and padded with PAD
    lengths: Tensor  # (B,) int64: tokens with the EOS
    scores: Tensor  # (B,) total log-probability of the tokens (not length-normalised)


def select_rows(state, index: Tensor):
    """``state`` with rows ``index`` of every tensor (dim 0), for nested tuples and NamedTuples; None stays None."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.index_select(0, index)
    fields = [select_rows(field, index) for field in state]
    return type(state)(*fields) if hasattr(state, "_fields") else type(state)(fields)


def beam_search(step: Step, state, batch_size: int, beam_size: int, max_length: int, *,
                length_penalty: float = 0.0, keep_greedy: bool = True) -> Hypotheses:
    """The best of ``beam_size`` hypotheses (and the greedy one) for each of ``batch_size`` sequences.

    ``step`` advances the decoder one token (BOS first), ``state`` is its initial state
    for the B sequences; at most ``max_length`` tokens per output.
    """
    B, K = batch_size, beam_size
    G = int(keep_greedy and K > 1)  # the greedy row, after the K beam rows of each sequence
    R = K + G  # rows per sequence
    device = _first_tensor(state).device
    rows = torch.arange(B, device=device)
    state = select_rows(state, rows.repeat_interleave(R))  # (B·R, ...): every hypothesis starts from its sequence's
    scores = torch.full((B, R), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live beam hypothesis at first, so that the K first extensions differ
    scores[:, K:] = 0.0  # the greedy one
    tokens = torch.full((B * R,), BOS, dtype=torch.long, device=device)
    finished = torch.zeros(B, R, dtype=torch.bool, device=device)
    lengths = torch.zeros(B, R, dtype=torch.long, device=device)
    history = torch.empty(0, B, R, dtype=torch.long, device=device)  # (t, B, R): the tokens of every hypothesis
    for _ in range(max_length):
        logits, state = step(tokens, state)
        log_probs = torch.log_softmax(logits.to(torch.promote_types(logits.dtype, torch.float32)), dim=-1)  # (B·R, V)
        V = log_probs.shape[-1]
        log_probs = log_probs.view(B, R, V)
        scores = scores.to(log_probs.dtype)  # at least float32, even for a half-precision decoder
        pad_only = torch.full((V,), float("-inf"), dtype=log_probs.dtype, device=device)
        pad_only[PAD] = 0.0  # a finished hypothesis has one continuation, PAD, at no cost
        log_probs = torch.where(finished.unsqueeze(2), pad_only, log_probs)
        candidates = (scores[:, :K].unsqueeze(2) + log_probs[:, :K]).view(B, K * V)  # (B, K·V)
        beam_scores, best = candidates.topk(K, dim=1)  # (B, K)
        origin, token = best // V, best % V  # (B, K): the hypothesis extended, the symbol it is extended by
        if G:  # the greedy row follows its own argmax
            greedy_lp, greedy_token = log_probs[:, K].max(dim=1)  # (B,)
            beam_scores = torch.cat([beam_scores, (scores[:, K] + greedy_lp).unsqueeze(1)], dim=1)
            origin = torch.cat([origin, torch.full_like(origin[:, :1], K)], dim=1)
            token = torch.cat([token, greedy_token.unsqueeze(1)], dim=1)  # (B, R)
        scores = beam_scores
        state = select_rows(state, (rows.unsqueeze(1) * R + origin).view(-1))
        history = torch.cat([history.gather(2, origin.expand(history.shape[0], B, R)), token.unsqueeze(0)])
        was_finished = finished.gather(1, origin)
        lengths = lengths.gather(1, origin) + (~was_finished).long()
        finished = was_finished | (token == EOS)
        tokens = token.view(-1)  # (B·R,)
        if bool(finished.all()):
            break
    ranking = scores if length_penalty == 0 else scores / lengths.clamp(min=1).to(scores.dtype) ** length_penalty
    choice = ranking.argmax(dim=1)  # (B,)
    best_lengths = lengths.gather(1, choice.unsqueeze(1)).squeeze(1)  # (B,)
    out = history.gather(2, choice.view(1, B, 1).expand(history.shape[0], B, 1)).squeeze(2)  # (t, B)
    out = out[: int(best_lengths.max())]
    return Hypotheses(out, best_lengths, scores.gather(1, choice.unsqueeze(1)).squeeze(1))


def _first_tensor(state) -> Tensor:
    if isinstance(state, Tensor):
        return state
    for field in state or ():
        if field is not None:
            found = _first_tensor(field)
            if found is not None:
                return found
    return None
