"""The pictures of ``rnnlab reproduce gate_variants``: the learning curves of one data set, in the form of
Dey & Salem's (2017) Figs. 1–4 (accuracy against epochs, one curve a model).

``plot_curves`` draws every model given: each seed a thin line, the mean over the seeds a thick one (over
the evaluations every seed reached), GRU and its three variants in solid colours, the references (LSTM,
Elman) dashed in grey tones, a run at another learning rate dotted in its cell's colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..analysis.figures import save_figure

# cell -> colour: the four GRUs in strong colours, the references in greys
COLOURS = {"gru_v3": "tab:blue", "gru1": "tab:orange", "gru2": "tab:green", "gru3": "tab:red", "lstm": "dimgrey",
           "elman_tanh": "darkgrey"}
REFERENCES = ("lstm", "elman_tanh")


@dataclass(frozen=True)
class Series:
    """The curves of one model on one data set: ``curves`` has one list of (epoch, held-out accuracy) per seed."""

    label: str  # in the legend, e.g. "GRU1 (33,100 parameters)"
    cell: str  # picks the colour (COLOURS) and the line: references dashed
    curves: tuple[tuple[tuple[float, float], ...], ...]
    lowered: bool = False  # trained at a lowered learning rate: dotted


def mean_curve(curves: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    """The mean of the seeds' curves at the evaluations that all of them reached (the first k points of each,
    k the shortest curve's length; x from the first curve).  [] for no curves."""
    curves = [list(curve) for curve in curves if curve]
    if not curves:
        return []
    points = min(len(curve) for curve in curves)
    return [(curves[0][i][0], sum(curve[i][1] for curve in curves) / len(curves)) for i in range(points)]


def plot_curves(series: Sequence[Series], path: str | Path, *, title: str, ylabel: str = "held-out accuracy",
                chance: float | None = None) -> Path:
    """The learning curves of ``series`` in one picture at ``path`` (PNG); ``chance``, when given, a dotted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not series:
        raise ValueError("plot_curves needs at least one series of curves")
    figure, axes = plt.subplots(figsize=(7.5, 4.5))
    for item in series:
        colour = COLOURS.get(item.cell, "black")
        style = ":" if item.lowered else "--" if item.cell in REFERENCES else "-"
        for curve in item.curves:
            if curve:
                xs, ys = zip(*curve)
                axes.plot(xs, ys, color=colour, linestyle=style, linewidth=0.8, alpha=0.35)
        mean = mean_curve(item.curves)
        if mean:
            xs, ys = zip(*mean)
            seeds = sum(1 for curve in item.curves if curve)
            axes.plot(xs, ys, color=colour, linestyle=style, linewidth=2.0, marker="o", markersize=3,
                      label=f"{item.label}" + (f", mean of {seeds} seeds" if seeds > 1 else ""))
    if chance is not None:
        axes.axhline(chance, color="black", linestyle=":", linewidth=0.8, label=f"chance ({chance:g})")
    axes.set_xlabel("epochs (passes over the training set)")
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")
    return save_figure(figure, path)
