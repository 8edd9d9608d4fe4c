"""Why a run ends: its budget (``train.steps``, ``train.max_minutes``), a target reached
(``train.stop_when``), patience lost (``train.patience``), or a signal (training/interrupts.py).

The reason is summary.json's ``stopped``.  Early stopping is decided at evaluations only, on the
held-out metrics: ``stop_when = "bit_errors_per_sequence <= 0.01"`` stops at the first evaluation
where it holds; ``patience = N`` stops after N evaluations in a row that did not improve on the
best value of the task's main metric (Prechelt 1998, "Early stopping — but when?", the
"no improvement in N evaluations" rule).  The best checkpoint stays at
RUN_DIR/checkpoints/best whichever way the run ends.
"""

from __future__ import annotations

from typing import Mapping

from ..config import TrainConfig, stop_target

STOP_REASONS = ("steps", "minutes", "target", "patience", "interrupted")


def early_stop(settings: TrainConfig, metrics: Mapping[str, float], evaluations_since_best: int) -> str | None:
    """"target", "patience" or None after an evaluation with ``metrics``, ``evaluations_since_best``
    evaluations after the best one (0: this one is the best)."""
    if settings.stop_when is not None and stop_target(settings.stop_when).met(metrics):
        return "target"
    if settings.patience is not None and evaluations_since_best >= settings.patience:
        return "patience"
    return None


def budget_spent(settings: TrainConfig, step: int, seconds_left: float | None) -> str | None:
    """"steps" or "minutes" when the run's budget is used up, else None (``seconds_left``: None without
    train.max_minutes)."""
    if step >= settings.steps:
        return "steps"
    if seconds_left is not None and seconds_left <= 0:
        return "minutes"
    return None
