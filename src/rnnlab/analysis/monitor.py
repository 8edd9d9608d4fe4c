"""Gradient flow during training and after it: ``train.gradient_flow`` and ``rnnlab eval --plots``.

At each evaluation of a run with ``train.gradient_flow = true``, ``GradientFlowMonitor`` measures
``gradient_flow`` (gradient_flow.py) of the model on the first held-out batch with the task's own
loss, and the trainer logs beside the evaluation in metrics.jsonl:

    gradient_flow_ratio        ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖, batch means at each sequence's first and last step
    gradient_flow_lag_K        ‖∂L/∂h_{n−K}‖, the batch mean K steps before each sequence's last step n,
                               for K in LAGS (those shorter than the sequences)

of the first recurrent stack's top layer (forward direction).  The model is left in eval mode, as
for the evaluation itself, so dropout does not act.  Cost: one forward and backward of the batch,
unrolled step by step.

``draw_gradient_flow`` draws the same measurement by lag (pictures.py), for ``rnnlab eval --plots``.
Tasks with one output at the end (N→1) or one per step (N→N, "last" and "every") are covered; the
decoders' tasks are scored through their own decoding loop and are left out.
"""

from __future__ import annotations

import math
from pathlib import Path

from torch import nn

from .gradient_flow import GradientFlow, gradient_flow, recurrent_stacks
from .pictures import plot_gradient_flow

LAGS = (1, 10, 100, 1000)
"""Lags K at which ``gradient_flow_lag_K`` is logged."""
KINDS = ("last", "every")
"""The tasks' output kinds whose loss gradient_flow differentiates directly."""


def supports(model: nn.Module, task) -> str | None:
    """None when the gradient flow of ``model`` on ``task`` can be measured, else why not (one line)."""
    if not recurrent_stacks(model):
        return f"the model {type(model).__name__} has no rnnlab.Recurrent layer (the NTM's state is its memory)"
    kind = getattr(task, "output_kind", "last")
    if kind not in KINDS:
        return (f"task {task.name}'s outputs are decoded ({kind!r}); gradient flow is measured for tasks with "
                f"an output at the end or at every step")
    return None


def measure(model: nn.Module, task, batch) -> GradientFlow:
    """gradient_flow of ``model`` on ``batch`` with the task's loss."""
    return gradient_flow(model, (batch.inputs,), lambda result: task.loss(result[0], batch), lengths=batch.lengths)


class GradientFlowMonitor:
    """(model, held-out batch) -> the figures of the module docstring: a trainer monitor."""

    def __init__(self, task) -> None:
        self.task = task

    def __call__(self, model: nn.Module, batch) -> dict[str, float]:
        model.eval()
        flow = measure(model, self.task, batch)
        by_lag = flow.by_lag()
        figures = {"gradient_flow_ratio": _finite(flow.ratio())}
        for lag in LAGS:
            if lag < len(by_lag):
                figures[f"gradient_flow_lag_{lag}"] = _finite(float(by_lag[lag]))
        return figures


def draw_gradient_flow(model: nn.Module, batch, directory: str | Path, *, task) -> Path:
    """DIRECTORY/gradient_flow.png: ‖∂L/∂h‖ against the lag for every layer and direction of the model."""
    model.eval()
    flow = measure(model, task, batch)
    curves = {}
    for name, cell in flow.cells.items():
        if cell.reverse:
            continue  # a backward direction's error flows the other way: lags from the end do not describe it
        curves[f"{name} h"] = _cell_by_lag(flow, cell, "h")
        if "c" in cell.fields:
            curves[f"{name} c"] = _cell_by_lag(flow, cell, "c")
    title = f"gradient flow: {task.name}, ratio first/last step {flow.ratio():.3g}"
    return plot_gradient_flow(curves, Path(directory) / "gradient_flow.png", title=title)


def _cell_by_lag(flow: GradientFlow, cell, field: str):
    aligned = GradientFlow(norms=cell.mean(field), spread=cell.spread(field), per_sequence=cell.fields[field],
                           lengths=cell.live.sum(0))
    return aligned.by_lag()


def _finite(value: float) -> float | None:
    """JSON has no inf or NaN: those are logged as null."""
    return value if math.isfinite(value) else None
