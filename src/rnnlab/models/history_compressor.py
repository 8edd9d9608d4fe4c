"""The neural history compressor: a stack of predictors, each passing up only the inputs it failed to predict.

Schmidhuber (1992), "Learning complex, extended sequences using the principle of history
compression", Neural Computation 4(2): 234-242 (first as the report FKI-148-91, "Neural sequence
chunkers", 1991, and as "Learning unambiguous reduced sequence descriptions", NIPS 4, 1991).
Sections in the order of the paper (its online version, people.idsia.ch/~juergen/chunker/): §2
"History compression", §3 "A self-organizing multi-level predictor hierarchy", §4 "Collapsing the
hierarchy into a single recurrent net" (with the details of the 2-net chunking architecture), §5
"An experiment" (``tasks.chunk_lag``).

Levels k = 0 … K−1 (``levels`` = K), each a recurrent cell of any registered kind.  Level k reads a
sequence of elements e^k_1 … e^k_{n_k} and predicts each from the ones before it (§3):

    level 0 reads the input:        e^0_t = x_t,  t = 1 … T        (n_0 = T; an element is a step)
    h^k_j, y^k_j = cell_k(read_k(e^k_j), h^k_{j−1})                 (its own clock: one step per element)
    p^k_j = softmax(W_k y^k_{j−1} + b_k)                           the prediction of e^k_j (y^k_0 = 0)

An element that level k fails to predict is passed up: it becomes the next element of level
k + 1, "along with a unique representation of the time step" (§3) -- here its position j in
level k's sequence, a stamp on level k's clock.  So an element of level k carries its symbol and
k stamps, its positions in the sequences of levels 0 … k − 1 (the first is the input step t at
which it occurred), and level k ≥ 1 predicts the symbol and the gap to each stamp of its next
element (k softmaxes over gaps 1 … ``max_gap`` − 1 and "≥ max_gap"):

    e^{k+1} = the e^k_j with  miss^k_j,   stamped (stamps of e^k_j, j)
    miss^k_j = not [ argmax p^k_j = e^k_j  and  P^k_j(e^k_j) ≥ θ ]    token inputs, θ = ``threshold``
             = not [ ‖x̂^k_j − e^k_j‖_∞ ≤ θ ]                        real-valued inputs (plus exact gaps)

where P^k_j(e) is the probability of the symbol times that of each gap (every gap argmax and exact).
Level k + 1 thus runs only at the steps where level k was surprised: for the 20-step lag of §5,
once the automatiser (level 0) predicts b_i → b_{i+1}, the chunker (level 1) sees only the a or x
that opens each block, one step apart on its clock instead of 20.

Nothing is lost (§2): given level k's network, the elements of level k + 1 and n_k determine level
k's sequence, since at every position level k either received the element (it was passed up) or
predicted it exactly.  ``compress(sequence)`` returns the elements every level receives;
``reconstruct(compressed)`` rebuilds the input from the top level's elements and the counts n_k
alone, for a trained or an untrained model (``history_codec``).

Training.  Every level is trained on its own prediction loss, the cross-entropy of its next symbol
and gaps (squared error for real-valued inputs), averaged over the elements it receives; their sum
is ``state.auxiliary_loss``, which the trainer adds to the task's loss.  The task head reads the top
level: the output at step t is W_o y^{K−1} after the top level's last element at or before t (W_o
applied to zeros before its first), so the task's loss trains the top level and the head, and the
levels below learn only to predict (the elements passed up are data, not a differentiable path).

Collapsed (``collapsed = True``, §4, two levels): the automatiser A (level 0) gets extra output
units trained to predict the chunker C's state (the "third, crucial term" of A's error function, §4):

    ŝ_t = W_s y^0_t,    loss = mean over units and steps of (ŝ_t − y^1(t))²

with y^1(t) (detached) C's output after its last element at or before t,
so that A must come to hold, step by step, what C knows ("A will be able to create useful internal
representations by itself", §4; "after a while A was able to mimic C's internal representations,
which in turn allowed it to learn correct target predictions by itself", §5).  The task head
applied to ŝ_t is A's own answer, ``state.automatiser_outputs``: with it, A works without C.
Measured on ``chunk_lag`` (lag 20, Elman cells of 32 units, its recommended settings): A alone answers
100% of fresh labels after 300 steps in 3 of 3 seeds; with the distillation term left out, 50% (chance).

Where this departs from the paper, and why:

* the paper's levels are trained online (BPTT truncated at 3 steps in §5, or RTRL); here each batch
  is a set of whole sequences, and each level is trained by BPTT through its own element sequence;
* §3 adds a level once the one below stops improving and freezes the one below; here every level
  is built at once and all learn together (the paper's §4 system also trains A and C together);
* the paper's hierarchy treats external targets as part of the input to be predicted (and §4's A
  predicts them and feeds them to C); here the task's targets are not seen by the model -- a task
  head on the top level is trained on them through the task's loss;
* the "unique representation of the time step" is the element's stamps, which compress and
  reconstruct use; a level reads the gap to its newest stamp only with ``time_input`` (the paper:
  "no unique representations of time steps were necessary for this task", §5);
* "fails to predict" is a threshold on the predicted probability of what came (or on the error of
  a real-valued prediction): the paper calls a prediction right when the symbol whose code is
  nearest the output is the one that came; with a and x equally likely that rule is right by
  chance half the time and would drop what the chunker needs, so θ (0.9 by default) asks more;
* token inputs are embedded (an embedding row is a one-hot input unit's weights); real-valued
  inputs are read as they are, and level 0 then reads its own prediction where it was right
  (closed loop, as the decoder will), so reconstruction is exact for token inputs and within θ per
  component for real-valued ones (two levels; with more, each level's error would feed the next);
* ``compress``/``reconstruct`` run one step at a time (the decoder cannot do otherwise, and the
  encoder must compute what the decoder will, bit for bit); ``forward`` runs each level's whole
  sequence through the cell's fast path, which agrees to rounding, so its events can differ from
  ``compress``'s only where a probability lies within rounding of θ.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..cells.base import check_size
from .classifier import check_tokens
from .history_level import CompressorLevel, previous_outputs, stamp_gaps

_TOKEN_THRESHOLD = 0.9  # default θ for token inputs: the least probability of the symbol that came
_REAL_THRESHOLD = 0.1  # default θ for real-valued inputs: the largest error of a prediction still right
_MAX_GAP = 128  # default number of gap classes: gaps 1 … 127 exactly, and "128 or more"


class CompressorState(NamedTuple):
    """What ``HistoryCompressor.forward`` returns beside the outputs."""

    final_outputs: tuple[Tensor, ...]  # per level (B, H_out): its output after its last element (zeros if none)
    events: tuple[Tensor, ...]  # per level k = 1 … K−1, (T, B) bool: the input steps whose element level k received
    prediction_losses: Tensor  # (K,) each level's prediction loss (detached)
    distillation_loss: Tensor | None  # collapsed: A's loss at predicting C's state (detached)
    automatiser_outputs: Tensor | None  # collapsed: (T, B, O) the task head on A's prediction of C's state
    auxiliary_loss: Tensor  # scalar: the prediction losses (and the distillation loss), which the trainer adds


class HistoryCompressor(nn.Module):
    """x (T, B) token ids, or (T, B, input_size) floats -> (outputs (T, B, output_size), CompressorState).

    Args:
        input_size: I, features per step of real-valued inputs; ignored (may be None) with ``input_vocab``.
        output_size: O, the task head's outputs at every step (logits for classes).
        hidden_size: H, every level's cell.
        input_vocab: V.  When set, inputs are (T, B) token ids in [0, V), every level embeds them (width H)
            and predicts the next symbol by a softmax over V.
        cell: a name from ``rnnlab.cells.available()``, the cell of every level.
        levels: K >= 1, the levels of the hierarchy (1: the automatiser alone, with the head on it).
        threshold: θ.  Token inputs: an element is predicted when its argmax is right and its probability
            is at least θ, in [0, 1] (default 0.9); real-valued inputs: when every component is within θ,
            >= 0 (default 0.1).  See the module docstring.
        collapsed: the automatiser also predicts the chunker's state (§4); needs ``levels = 2``.
        time_input: levels >= 1 also read the gap since their previous element on the clock below.
        max_gap: G, gap classes of the levels' time predictions (gaps 1 … G − 1 exactly, and ">= G").
        **cell_options: passed to every level's cell (e.g. ``forget_bias`` for ``lstm``).

    ``forward(x, lengths=None, state=None)``: lengths (B,) the true lengths of a padded batch; ``state``
    must be None (every batch starts the hierarchy afresh: its clocks start at the batch's first step).
    Outputs at padded steps are zero.  ``compress``, ``reconstruct``: ``history_codec``.
    """

    def __init__(self, input_size: int | None, output_size: int, *, hidden_size: int, input_vocab: int | None = None,
                 cell: str = "lstm", levels: int = 2, threshold: float | None = None, collapsed: bool = False,
                 time_input: bool = False, max_gap: int = _MAX_GAP, **cell_options) -> None:
        super().__init__()
        owner = "HistoryCompressor"
        check_size("output_size", output_size)
        check_size("hidden_size", hidden_size)
        if input_vocab is not None:
            check_size("input_vocab", input_vocab)
        else:
            check_size("input_size", input_size)
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
            raise ValueError(f"{owner}: levels must be an int >= 1; got {levels!r}")
        if isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 2:
            raise ValueError(f"{owner}: max_gap must be an int >= 2; got {max_gap!r}")
        for name, value in (("collapsed", collapsed), ("time_input", time_input)):
            if not isinstance(value, bool):
                raise ValueError(f"{owner}: {name} must be true or false; got {value!r}")
        if collapsed and levels != 2:
            raise ValueError(f"{owner}: collapsed distils the chunker (level 1) into the automatiser (level 0), "
                             f"so it needs levels=2; got levels={levels}")
        if threshold is None:
            threshold = _TOKEN_THRESHOLD if input_vocab is not None else _REAL_THRESHOLD
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold != threshold:
            raise ValueError(f"{owner}: threshold must be a number; got {threshold!r}")
        if input_vocab is not None and not 0 <= threshold <= 1:
            raise ValueError(f"{owner}: with token inputs threshold is the least probability of the symbol that "
                             f"came for a prediction to count as right, in [0, 1]; got {threshold!r}")
        if input_vocab is None and threshold < 0:
            raise ValueError(f"{owner}: with real-valued inputs threshold is the largest error of a prediction "
                             f"that counts as right, >= 0; got {threshold!r}")
        self.input_size, self.output_size, self.hidden_size = input_size, output_size, hidden_size
        self.input_vocab, self.cell_name, self.threshold = input_vocab, cell, float(threshold)
        self.collapsed, self.time_input, self.max_gap = collapsed, time_input, max_gap
        self.levels = nn.ModuleList(
            CompressorLevel(k, cell, hidden_size, vocab=input_vocab, features=input_size or 0, time_input=time_input,
                            max_gap=max_gap, cell_options=cell_options) for k in range(levels))
        top_size = self.levels[-1].cell.output_size
        self.head = nn.Linear(top_size, output_size)
        self.distil = nn.Linear(self.levels[0].cell.output_size, top_size) if collapsed else None

    @property
    def num_levels(self) -> int:
        return len(self.levels)

    # ---- the batched pass ------------------------------------------------------------------------
    def forward(self, x: Tensor, lengths: Tensor | None = None, state=None) -> tuple[Tensor, CompressorState]:
        if state is not None:
            raise ValueError("HistoryCompressor starts every batch afresh (its levels' clocks start at the batch's "
                             "first step) and takes no state; got one (train.tbptt and train.carry_state need "
                             "a state carried between pieces of a sequence: set them to none and false)")
        real = self._check_input(x, lengths)  # (T, B) bool
        T, B = real.shape
        symbols, stamps, valid = x, x.new_zeros(T, B, 0, dtype=torch.long), real  # level 0's elements: the steps
        losses, events, finals = [], [], []
        for k, level in enumerate(self.levels):
            gaps = stamp_gaps(stamps)  # (N, B, k)
            if k == 0 and not level.tokens:
                y, scores, hit = self._closed_loop(level, symbols, valid)  # (T, B, H), (T, B, I), (T, B)
                gap_logits = None
            else:
                y = level.run(symbols, gaps)  # (N, B, H_out)
                scores, gap_logits = level.predict(previous_outputs(y))
                hit = None
            if k == 0:
                automatiser_y = y  # (T, B, H_out): A's outputs, which the collapsed variant reads
            element_losses = level.element_losses(scores, gap_logits, symbols, gaps)  # (N, B)
            losses.append(element_losses[valid].sum() / valid.sum().clamp(min=1))
            count = valid.sum(0)  # (B,) elements of each sequence
            last = y[(count - 1).clamp(min=0), torch.arange(B, device=y.device)]  # (B, H_out)
            finals.append(torch.where((count > 0).unsqueeze(1), last, 0.0))
            times = stamps[..., 0] if k else torch.arange(T, device=real.device).unsqueeze(1).expand(T, B)  # (N, B)
            if k:
                events.append(on_input_steps(valid, times, T))
            if k == self.num_levels - 1:
                break
            with torch.no_grad():
                if hit is None:
                    hit = level.hits(scores, gap_logits, symbols, gaps, self.threshold)
                index, valid = positions(valid & ~hit)  # (M, B): level k+1's elements, their places in level k's
            symbols = gather_steps(symbols, index)
            stamps = torch.cat([gather_steps(stamps, index), index.unsqueeze(2)], dim=2)  # (M, B, k + 1)
        top = read_at_steps(y, valid, times, T)  # (T, B, H_out): the top level's output after its last element
        outputs = self.head(top).masked_fill(~real.unsqueeze(2), 0.0)  # (T, B, O)
        auxiliary = torch.stack(losses).sum()
        distillation = automatiser = None
        if self.distil is not None:
            guess = self.distil(automatiser_y)  # (T, B, H_top): A's prediction of C's state
            distillation = (guess - top.detach()).pow(2).mean(2)[real].mean()
            auxiliary = auxiliary + distillation
            automatiser = self.head(guess).masked_fill(~real.unsqueeze(2), 0.0)
            distillation = distillation.detach()
        state = CompressorState(tuple(finals), tuple(events), torch.stack(losses).detach(), distillation,
                                automatiser, auxiliary)
        return outputs, state

    def _closed_loop(self, level: CompressorLevel, x: Tensor, real: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Level 0 on real-valued inputs, one step at a time: where its prediction was right it reads the
        prediction (detached), as the decoder will.  -> y (T, B, H_out), predictions (T, B, I), hits (T, B)."""
        T, B = real.shape
        state = level.cell.initial_state(B, dtype=x.dtype, device=x.device)
        y = x.new_zeros(B, level.cell.output_size)
        outputs, predictions, hits = [], [], []
        for t in range(T):
            prediction, _ = level.predict(y)  # (B, I)
            with torch.no_grad():
                hit = real[t] & level.hits(prediction, None, x[t], None, self.threshold)  # (B,)
            y, state = level.step(torch.where(hit.unsqueeze(1), prediction.detach(), x[t]), None, state)
            outputs.append(y)
            predictions.append(prediction)
            hits.append(hit)
        return torch.stack(outputs), torch.stack(predictions), torch.stack(hits)

    def _check_input(self, x: Tensor, lengths) -> Tensor:
        """The public entry's checks -> real (T, B) bool, True at each sequence's real steps."""
        owner = "HistoryCompressor"
        if self.input_vocab is not None:
            check_tokens(owner, x, self.input_vocab, name="x")
        else:
            if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[2] != self.input_size or 0 in x.shape:
                shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
                hint = " (token ids need input_vocab=...)" if isinstance(x, Tensor) and x.dim() == 2 else ""
                raise ValueError(f"{owner} expects x of shape (T, B, {self.input_size}){hint}; got {shape}")
            dtype = self.head.weight.dtype
            if x.dtype != dtype:
                raise TypeError(f"{owner}: input dtype {x.dtype} does not match the parameters' dtype {dtype}")
        T, B = x.shape[:2]
        if lengths is None:
            real = torch.ones(T, B, dtype=torch.bool, device=x.device)
        else:
            if not isinstance(lengths, Tensor) or lengths.dim() != 1 or lengths.is_floating_point() \
                    or lengths.dtype == torch.bool:
                got = f"{lengths.dtype} {tuple(lengths.shape)}" if isinstance(lengths, Tensor) else repr(lengths)
                raise TypeError(f"{owner}: lengths must be a 1-D tensor of integers; got {got}")
            if lengths.numel() != B or int(lengths.min()) < 1 or int(lengths.max()) > T:
                raise ValueError(f"{owner}: lengths must hold one length in [1, T={T}] per sequence (B={B}); "
                                 f"got {lengths.tolist()}")
            real = torch.arange(T, device=x.device).unsqueeze(1) < lengths.to(x.device)  # (T, B)
        return real

    @torch.no_grad()
    def input_predictions(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Level 0's prediction of every input step, computed as ``forward`` computes it: (T, B, V) logits of
        the symbol (token inputs; p^0_t = their softmax) or (T, B, I) values (real-valued inputs, closed loop);
        zeros at padded steps.  ``self.levels[0].hits`` on them gives the steps level 0 predicted."""
        real = self._check_input(x, lengths)  # (T, B)
        level = self.levels[0]
        if level.tokens:
            scores, _ = level.predict(previous_outputs(level.run(x, None)))  # (T, B, V)
        else:
            _, scores, _ = self._closed_loop(level, x, real)  # (T, B, I)
        return scores.masked_fill(~real.unsqueeze(2), 0.0)

    def compress(self, sequence: Tensor):
        """The elements every level receives for one sequence (T,) ids or (T, I) floats: ``history_codec``."""
        from .history_codec import compress
        return compress(self, sequence)

    def reconstruct(self, compressed) -> Tensor:
        """The input sequence back from ``compress``'s record (its top level and counts alone)."""
        from .history_codec import reconstruct
        return reconstruct(self, compressed)

    def compression_ratios(self, x: Tensor, lengths: Tensor | None = None) -> list[float]:
        """Per level k = 1 … K−1 of a batch: the input steps over the elements level k received (T / n_k)."""
        with torch.no_grad():
            _, state = self(x, lengths)
        steps = float(x.shape[0] * x.shape[1]) if lengths is None else float(torch.as_tensor(lengths).sum())
        return [steps / float(m.sum()) if bool(m.any()) else float("inf") for m in state.events]


# ---- the batch machinery: events as index tensors, no loop over the batch -------------------------
def positions(mask: Tensor) -> tuple[Tensor, Tensor]:
    """mask (N, B) bool -> (index (M, B) int64, valid (M, B) bool): column b's true positions in order, then
    padding (valid false); M = the largest count, at least 1."""
    N, B = mask.shape
    count = mask.sum(0)  # (B,)
    M = max(1, int(count.max()))
    order = torch.arange(N, device=mask.device).unsqueeze(1)  # (N, 1)
    index = torch.where(mask, order, order + N).argsort(0)[:M]  # (M, B): the true positions first (M <= N)
    valid = torch.arange(M, device=mask.device).unsqueeze(1) < count  # (M, B)
    return index, valid


def gather_steps(values: Tensor, index: Tensor) -> Tensor:
    """values (N, B, ...) at positions index (M, B) -> (M, B, ...)."""
    expanded = index.view(*index.shape, *([1] * (values.dim() - 2))).expand(*index.shape, *values.shape[2:])
    return values.gather(0, expanded)


def on_input_steps(valid: Tensor, times: Tensor, steps: int) -> Tensor:
    """Elements (M, B) valid, at input steps times (M, B) -> (T, B) bool: the steps that have an element."""
    marks = torch.zeros(steps + 1, valid.shape[1], dtype=torch.bool, device=valid.device)
    return marks.scatter(0, torch.where(valid, times, steps), True)[:steps]


def read_at_steps(y: Tensor, valid: Tensor, times: Tensor, steps: int) -> Tensor:
    """A level's outputs y (M, B, H) after its elements at input steps times (M, B) -> (T, B, H): at each
    input step, the output after the level's last element at or before it (zeros before its first)."""
    counts = torch.zeros(steps + 1, valid.shape[1], dtype=torch.long, device=y.device)
    counts = counts.scatter_add(0, torch.where(valid, times, steps), valid.long())[:steps].cumsum(0)  # (T, B)
    padded = torch.cat([torch.zeros_like(y[:1]), y])  # (M + 1, B, H): row 0 before any element
    return gather_steps(padded, counts)
