"""Clipping a gradient inside the backward pass: the identity forward, an elementwise clamp backward.

Graves (2013), "Generating sequences with recurrent neural networks", arXiv:1308.0850, §2 (and
the NTM paper after it) keeps the derivatives from growing through time by clipping, during
backpropagation, the derivatives of the loss with respect to the network inputs of the LSTM
layers to [−1, 1]: a clip applied at every time step as the gradient passes, not once to the
parameters' gradients at the end.  ``clip_gradient(x, bound)`` is that clip at one place:

    forward    y = x                               (the same values, bit for bit: a view of x)
    backward   ∂L/∂x = clamp(∂L/∂y, −bound, bound)  elementwise

so that whatever a later step sends back, at most ``bound`` per element goes on to the earlier
steps.  An infinite gradient becomes ±bound; a NaN stays NaN.  The NTM places it on what each
step hands to the next (ntm.py, ``gradient_clip``).

Cost: one view forward, one clamp of the incoming gradient backward; nothing is saved.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor


class _ClipGradient(torch.autograd.Function):
    """y_i = x_i forward; ∂L/∂x_i = clamp(∂L/∂y_i, −bound, bound) backward, for several tensors in one node
    (the cost of a node in the graph is mostly fixed, so one node for a whole state is cheaper)."""

    @staticmethod
    def forward(ctx, bound: float, *xs: Tensor) -> tuple[Tensor, ...]:
        ctx.bound = bound
        return tuple(x.view_as(x) for x in xs)

    @staticmethod
    def backward(ctx, *grads: Tensor):
        return (None, *(None if g is None else g.clamp(-ctx.bound, ctx.bound) for g in grads))


def clip_gradient(x: Tensor, bound: float | None) -> Tensor:
    """x, unchanged forward, whose gradient is clamped elementwise to [−bound, bound] on the way back.

    bound None, or x not needing a gradient: x itself (no node in the graph).
    """
    if bound is None or not x.requires_grad:
        return x
    return _ClipGradient.apply(bound, x)[0]


def clip_gradients(tensors: tuple[Tensor, ...], bound: float | None) -> tuple[Tensor, ...]:
    """``clip_gradient`` of each tensor, in one node of the graph."""
    if bound is None:
        return tensors
    need = [i for i, x in enumerate(tensors) if x.requires_grad]
    if not need:
        return tensors
    clipped = _ClipGradient.apply(bound, *(tensors[i] for i in need))
    out = list(tensors)
    for i, x in zip(need, clipped):
        out[i] = x
    return tuple(out)


NONE_WORD = "none"
"""How a TOML table (``--set 'model.options={gradient_clip="none"}'``) spells None: TOML has no null."""


def check_bound(name: str, value) -> float | None:
    """``value`` as a float when it is a positive finite number, None when None or "none"; else a one-line
    ValueError."""
    if value is None or value == NONE_WORD:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number or None (\"none\"); got {value!r}")
    return float(value)
