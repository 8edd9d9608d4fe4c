"""A layer's time loop unrolled step by step, with a hook that sees (and may replace) every step's result.

``Recurrent`` and the decoders run a cell over time on its fastest path, which hides the
per-step states inside one kernel.  Where a caller needs each step's state as a tensor of
its own — ``rnnlab.analysis.gradient_flow`` adds a zero probe δ_t to h_t so that
∂L/∂δ_t = ∂L/∂h_t — the layer runs this loop instead: the cell's own fast path one step
at a time (``fast=True``; torch's fused kernel with T = 1 for the standard cells) or its
plain ``forward`` (``fast=False``, the reference), and after every step

    y_t, s_t = hook(y_t, s_t)

before s_t goes on to step t + 1 and y_t up to the next layer.  With ``lengths`` the hook
sees every step, padded ones included; a padded step's result is then discarded exactly as
in ``RecurrentCell.loop`` (the state keeps its value from the sequence's last real step).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..cells.base import RecurrentCell, State, map_state

StepHook = Callable[[Tensor, State], tuple[Tensor, State]]
"""(y_t (B, H_out), state after step t) -> (y_t, state), called after every step of one cell."""


def run_unrolled(cell: RecurrentCell, x: Tensor, state: State, lengths: Tensor | None, *, fast: bool,
                 hook: StepHook) -> tuple[Tensor, State]:
    """x (T, B, H_in) -> (y (T, B, H_out), final state), the contract of ``RecurrentCell.loop``."""
    outputs = []
    for t in range(x.shape[0]):
        if fast:
            y, new_state = cell.sequence(x[t:t + 1], state)  # (1, B, H_out): the fast path, one step
            y = y[0]
        else:
            y, new_state = cell(x[t], state)  # (B, H_out)
        y, new_state = hook(y, new_state)
        if lengths is not None:
            live = (t < lengths).unsqueeze(1)  # (B, 1)
            new_state = map_state(lambda new, old: torch.where(live, new, old), new_state, state)
        outputs.append(y)
        state = new_state
    return torch.stack(outputs), state
