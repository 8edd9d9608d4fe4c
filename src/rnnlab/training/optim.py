"""Optimizers and learning-rate schedules by name, as a run's configuration gives them.

``rmsprop_centered`` is GravesRMSprop (graves_rmsprop.py): the centred RMSProp with
momentum of Graves (2013, "Generating sequences with recurrent neural networks", §4,
eqs. 38–41), which the Neural Turing Machine paper also trained with, ε inside the square
root as in the paper, α (ℵ) = 0.95 and ε (ℸ) = 1e-4 fixed at the paper's values.  The
learning rate (ℷ) and momentum (ℶ) come from ``train.lr`` and ``train.momentum``, like
every other optimizer here, so their defaults are rnnlab's (1e-3 and 0), not the paper's:
for Graves's settings use ``train.lr=1e-4 train.momentum=0.9``.
"""

from __future__ import annotations

import torch
from torch import nn

from .graves_rmsprop import GravesRMSprop

OPTIMIZERS = ("adam", "sgd", "rmsprop", "rmsprop_centered")
SCHEDULES = ("constant", "step", "cosine", "plateau")


def build_optimizer(model: nn.Module, name: str, *, lr: float, momentum: float = 0.0,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    params = model.parameters()
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop_centered":
        return GravesRMSprop(params, lr=lr, alpha=0.95, momentum=momentum, eps=1e-4, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")


def build_schedule(optimizer: torch.optim.Optimizer, name: str, *, total_steps: int, step_size: int = 1000,
                   gamma: float = 0.5, metric_goal: str = "min"):
    """A torch LR scheduler.  ``step``: lr × gamma every ``step_size`` steps; ``cosine``: to 0 at
    ``total_steps``; ``plateau``: lr × gamma after ``step_size`` evaluations without improvement of the
    main evaluation metric (towards ``metric_goal``); the others step every training step."""
    if name == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=metric_goal, factor=gamma, patience=step_size)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {name!r}")
