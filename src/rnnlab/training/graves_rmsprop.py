"""Centred RMSProp with momentum exactly as Graves (2013) wrote it, ε inside the square root.

A. Graves (2013), "Generating sequences with recurrent neural networks", arXiv:1308.0850,
§4, eqs. (38)–(41); the Neural Turing Machine (Graves et al. 2014) was trained with it.
For every weight w_i with gradient ε_i = ∂L/∂w_i:

    n_i ← ℵ n_i + (1 − ℵ) ε_i²                       (38)  square_avg
    g_i ← ℵ g_i + (1 − ℵ) ε_i                        (39)  grad_avg
    Δ_i ← ℶ Δ_i − ℷ ε_i / √(n_i − g_i² + ℸ)          (40)  delta
    w_i ← w_i + Δ_i                                  (41)

Symbols and arguments: ℵ = ``alpha`` (0.95), ℶ = ``momentum`` (0.9), ℷ = ``lr`` (1e-4),
ℸ = ``eps`` (1e-4); the defaults are the paper's.

torch.optim.RMSprop(centered=True) differs in where ε goes: it divides by √(n − g²) + ε,
whereas here ℸ is added under the root.  With ℸ = 1e-4 the denominator never falls below
√ℸ = 0.01, so near a minimum (n − g² → 0) a step is at most 100 ℷ |ε_i| (before momentum),
where torch's can reach ℷ |ε_i| / ε = 10⁴ ℷ |ε_i|.  torch also scales the
momentum buffer by the learning rate at each step (Δ ← −ℷ b with b ← ℶ b + ε/denom),
which equals (40) only while ℷ is constant; (40) keeps Δ itself, so a schedule that
changes ℷ acts on new steps only, as in the paper.

Not in the paper: ``weight_decay`` adds an L2 term λ w_i to ε_i before (38), as torch's
optimizers do (0 by default).  n_i − g_i² is a variance estimate and is ≥ 0 in exact
arithmetic (zero initial state, ℵ ∈ [0, 1)); rounding can make it a few ulps negative,
which ℸ > 0 absorbs, so it is not clamped.

State per parameter (all shaped like the parameter, plus a plain-int ``step``) is kept in
``optimizer.state`` and saved by ``state_dict()``; checkpoint.optimizer_to_flat stores
the tensors in safetensors and ``step`` in JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor


class GravesRMSprop(torch.optim.Optimizer):
    """Graves's (2013) centred RMSProp with momentum, eqs. (38)–(41); see the module docstring.

    params: tensors or parameter groups to optimise.
    lr: ℷ, the learning rate, finite and >= 0 (paper: 1e-4).
    alpha: ℵ, decay of the running averages n and g, in [0, 1) (paper: 0.95).
    momentum: ℶ, decay of the update Δ, in [0, 1) (paper: 0.9).
    eps: ℸ, added to n − g² inside the square root, finite and > 0 (paper: 1e-4).
    weight_decay: λ, L2 penalty added to the gradient, finite and >= 0 (not in the paper).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-4, alpha: float = 0.95,
                 momentum: float = 0.9, eps: float = 1e-4, weight_decay: float = 0.0) -> None:
        _check_hyperparameters(lr=lr, alpha=alpha, momentum=momentum, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, alpha=alpha, momentum=momentum, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """One update of every parameter that has a gradient; ``closure`` re-evaluates the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, alpha, momentum = group["lr"], group["alpha"], group["momentum"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad  # ε_i
                if grad.is_sparse:
                    raise RuntimeError("GravesRMSprop does not support sparse gradients")
                if weight_decay != 0:
                    grad = grad.add(param, alpha=weight_decay)
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)  # n
                    state["grad_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)  # g
                    state["delta"] = torch.zeros_like(param, memory_format=torch.preserve_format)  # Δ
                square_avg, grad_avg, delta = state["square_avg"], state["grad_avg"], state["delta"]
                state["step"] += 1
                square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)  # (38)
                grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)  # (39)
                denominator = square_avg.addcmul(grad_avg, grad_avg, value=-1).add_(eps).sqrt_()  # √(n − g² + ℸ)
                delta.mul_(momentum).addcdiv_(grad, denominator, value=-lr)  # (40)
                param.add_(delta)  # (41)
        return loss


def _check_hyperparameters(*, lr: float, alpha: float, momentum: float, eps: float, weight_decay: float) -> None:
    """ValueError naming the first argument out of range and its value."""
    checks = (("lr", lr, 0 <= lr < math.inf, "a finite number >= 0"),
              ("alpha", alpha, 0 <= alpha < 1, "a number in [0, 1)"),
              ("momentum", momentum, 0 <= momentum < 1, "a number in [0, 1)"),
              ("eps", eps, 0 < eps < math.inf, "a finite number > 0"),
              ("weight_decay", weight_decay, 0 <= weight_decay < math.inf, "a finite number >= 0"))
    for name, value, ok, what in checks:
        if not ok:  # NaN fails every comparison, so it lands here too
            raise ValueError(f"GravesRMSprop {name} must be {what}; got {value!r}")
