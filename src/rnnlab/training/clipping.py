"""Gradient clipping by global norm (Pascanu et al. 2013, §3.2) or by value, reporting the norm before.

The trainer logs the global L2 norm of the gradient *before* clipping at every
step: it is the figure that shows exploding gradients (a spike) or vanishing ones
(a collapse), whatever the clipping then does.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor

MODES = ("norm", "value", "none")


def clip_gradients(parameters: Iterable[Tensor], mode: str = "norm", *, max_norm: float = 1.0,
                   max_value: float = 1.0) -> float:
    """Clip the gradients of ``parameters`` in place; return their global L2 norm before clipping.

    mode "norm": scale all gradients by min(1, max_norm / ‖g‖₂) (one norm over every parameter);
    mode "value": clamp every gradient entry to [−max_value, max_value];
    mode "none": leave them.  A NaN or Inf norm is returned as it is (the trainer skips such a step).
    """
    if mode not in MODES:
        raise ValueError(f"clip mode must be one of {', '.join(MODES)}; got {mode!r}")
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach(), 2.0) for g in grads]), 2.0)
    if mode == "norm":
        if max_norm <= 0:
            raise ValueError(f"max_norm must be positive; got {max_norm}")
        scale = (max_norm / (norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.detach().mul_(scale)
    elif mode == "value":
        if max_value <= 0:
            raise ValueError(f"max_value must be positive; got {max_value}")
        for g in grads:
            g.detach().clamp_(-max_value, max_value)
    return float(norm)
