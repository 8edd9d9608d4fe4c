"""Lossless history compression with a ``HistoryCompressor``: ``compress`` one sequence, ``reconstruct`` it.

The principle of history compression (Schmidhuber 1992, §2): a predictor's correct predictions carry
no information, so the inputs it failed to predict, each with the time step at which it came, are an
"unambiguous reduced description" of the sequence -- given the predictor, the sequence follows from
them.  Level by level (§3): level k receives the elements e^k_1 … e^k_{n_k}; those it fails to predict
are level k + 1's elements, stamped with their positions j in level k's sequence.  So

    compress(x)      -> every level's elements (``Compressed.levels``) and their counts n_0 = T, n_1, …
    reconstruct(c)   -> x, from the top level's elements and the counts alone:

    for k = K − 2 … 0, j = 1 … n_k:   e^k_j = the element of level k + 1 stamped j, if there is one,
                                             else level k's prediction (its argmax symbol and gaps)

which is exact because the encoder passed up every element that the prediction did not give exactly.
Both directions run one step at a time on one sequence, with the same operations on the same values,
so the decoder recomputes every prediction of the encoder bit for bit: the reconstruction is exact
for any weights, trained or not.  Real-valued inputs (two levels): level 0 reads its own prediction
where it counted as right (within θ), in both directions, so the reconstruction is within θ per
component and exactly what the decoder side of the encoder saw.

Worked example (levels = 2, token ids, T = 6): if level 0 predicts x_1, x_2, x_4 and x_5 with
probability >= θ but not x_0 or x_3, then level 1 receives two elements, stamped with their steps:

    x        7  3  4  9  3  4         Compressed.counts = (6, 2)
    level 1  7        9               Compressed.levels[1]: stamps [[0], [3]], symbols [7, 9]

and ``reconstruct`` replays level 0: step 0 is stamped (7), steps 1 and 2 are its argmax predictions
(3, 4), step 3 is stamped (9), steps 4 and 5 predicted.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .history_compressor import HistoryCompressor
from .history_level import stamp_gaps


class Events(NamedTuple):
    """The elements one level receives, in order."""

    stamps: Tensor  # (n, k) int64: its positions in the sequences of levels 0 … k − 1 ((n, 0) at level 0)
    symbols: Tensor  # (n,) int64 token ids, or (n, I) floats

    @property
    def times(self) -> Tensor:
        """(n,) int64: the input step of each element (its stamp on level 0's clock)."""
        if self.stamps.shape[1]:
            return self.stamps[:, 0]
        return torch.arange(len(self.symbols), device=self.symbols.device)


class Compressed(NamedTuple):
    """A sequence as a ``HistoryCompressor`` describes it."""

    counts: tuple[int, ...]  # n_0 = T, n_1, …, n_{K−1}: the elements each level receives
    levels: tuple[Events | None, ...]  # levels[k]: what level k receives (levels[0] is the input itself);
    #                                    ``reconstruct`` reads the last alone (the others may be None)

    def ratios(self) -> list[float]:
        """Per level k = 1 … K−1: T / n_k, how many input steps each of its elements stands for."""
        return [self.counts[0] / n if n else float("inf") for n in self.counts[1:]]


@torch.no_grad()
def compress(model: HistoryCompressor, sequence: Tensor) -> Compressed:
    """The elements every level of ``model`` receives for ``sequence``: (T,) token ids in [0, input_vocab), or
    (T, input_size) floats in the model's dtype, T >= 1."""
    sequence = _check_sequence(model, sequence)
    device = sequence.device
    received = [Events(torch.zeros(len(sequence), 0, dtype=torch.long, device=device), sequence)]
    for k, level in enumerate(model.levels[:-1]):  # the top level passes nothing up
        elements = received[k]
        gaps = stamp_gaps(elements.stamps.unsqueeze(1)).squeeze(1)  # (n, k)
        closed_loop = k == 0 and not level.tokens
        state = level.cell.initial_state(1, dtype=model.head.weight.dtype, device=device)
        y = torch.zeros(1, level.cell.output_size, dtype=model.head.weight.dtype, device=device)
        missed = []
        for j in range(len(elements.symbols)):
            scores, gap_logits = level.predict(y)  # (1, V) or (1, I), (1, k, G)
            symbol, gap = elements.symbols[j:j + 1], gaps[j:j + 1]
            hit = bool(level.hits(scores, gap_logits, symbol, gap, model.threshold)[0])
            if not hit:
                missed.append(j)
            y, state = level.step(scores if hit and closed_loop else symbol, gap, state)
        index = torch.tensor(missed, dtype=torch.long, device=device)  # (m,) positions in level k's sequence
        received.append(Events(torch.cat([elements.stamps[index], index.unsqueeze(1)], dim=1),
                               elements.symbols[index]))
    return Compressed(tuple(len(events.symbols) for events in received), tuple(received))


@torch.no_grad()
def reconstruct(model: HistoryCompressor, compressed: Compressed) -> Tensor:
    """The sequence that ``compress`` described, rebuilt from ``compressed.counts`` and the top level's elements
    alone: (T,) token ids or (T, I) floats."""
    K = model.num_levels
    if not isinstance(compressed, Compressed) or len(compressed.counts) != K or len(compressed.levels) != K:
        raise ValueError(f"reconstruct expects the Compressed record of a {K}-level model (counts and levels of "
                         f"length {K}); got {type(compressed).__name__}")
    if model.input_vocab is None and K > 2:
        raise ValueError("real-valued inputs are reconstructed (within the threshold) from two levels only: with "
                         f"more, each level's error would feed the level below; this model has {K}")
    above = compressed.levels[-1]
    if not isinstance(above, Events) or above.stamps.shape != (len(above.symbols), K - 1) \
            or len(above.symbols) != compressed.counts[-1]:
        raise ValueError(f"reconstruct: the top level's events must hold counts[-1] = {compressed.counts[-1]} "
                         f"elements with {K - 1} stamps each")
    dtype = model.head.weight.dtype
    for k in reversed(range(K - 1)):
        level, n = model.levels[k], compressed.counts[k]
        device = above.symbols.device
        state = level.cell.initial_state(1, dtype=dtype, device=device)
        y = torch.zeros(1, level.cell.output_size, dtype=dtype, device=device)
        previous = torch.full((k,), -1, dtype=torch.long, device=device)  # the stamps of the element before
        stamped = above.stamps[:, k].tolist()  # the positions in level k's sequence that were passed up
        if stamped != sorted(set(stamped)) or (stamped and not 0 <= stamped[0] <= stamped[-1] < n):
            raise ValueError(f"reconstruct: level {k + 1}'s stamps on level {k}'s clock must increase within "
                             f"[0, {n}); got {stamped}")
        next_stamped, symbols, stamps = 0, [], []
        for j in range(n):
            scores, gap_logits = level.predict(y)
            if next_stamped < len(stamped) and stamped[next_stamped] == j:
                symbol = above.symbols[next_stamped:next_stamped + 1]
                stamp = above.stamps[next_stamped, :k]
                next_stamped += 1
            else:
                symbol, gap = level.guess(scores, gap_logits)  # (1,) or (1, I), (1, k)
                stamp = previous + gap[0]
            y, state = level.step(symbol, (stamp - previous).unsqueeze(0), state)
            symbols.append(symbol)
            stamps.append(stamp)
            previous = stamp
        above = Events(torch.stack(stamps) if stamps else torch.zeros(0, k, dtype=torch.long, device=device),
                       torch.cat(symbols))
    return above.symbols


def _check_sequence(model: HistoryCompressor, sequence: Tensor) -> Tensor:
    if model.input_vocab is not None:
        if not isinstance(sequence, Tensor) or sequence.dim() != 1 or len(sequence) == 0 \
                or sequence.is_floating_point() or sequence.dtype == torch.bool:
            got = f"{sequence.dtype} {tuple(sequence.shape)}" if isinstance(sequence, Tensor) else repr(sequence)
            raise ValueError(f"compress expects one sequence of token ids, a 1-D integer tensor (T,) with T >= 1; "
                             f"got {got}")
        if int(sequence.min()) < 0 or int(sequence.max()) >= model.input_vocab:
            raise ValueError(f"compress: token ids must lie in [0, {model.input_vocab}); got values from "
                             f"{int(sequence.min())} to {int(sequence.max())}")
        return sequence.long()
    dtype = model.head.weight.dtype
    if not isinstance(sequence, Tensor) or sequence.dim() != 2 or len(sequence) == 0 \
            or sequence.shape[1] != model.input_size or sequence.dtype != dtype:
        got = f"{sequence.dtype} {tuple(sequence.shape)}" if isinstance(sequence, Tensor) else repr(sequence)
        raise ValueError(f"compress expects one sequence of shape (T, {model.input_size}) in {dtype}, T >= 1; "
                         f"got {got}")
    return sequence
