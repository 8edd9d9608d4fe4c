"""The pictures of ``rnnlab reproduce lstm1997``.

* ``plot_curves``: per problem, the held-out criterion metric against training sequences, every seed of
  every method a thin line (one colour a method), the paper's mean sequences to success marked;
* ``plot_cells``: the cells of one solved run at work on a held-out sequence (analysis/cell_activity.py).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..analysis.cell_activity import cell_activity, plot_cell_activity

_COLOURS = {"1997": "tab:red", "rule": "tab:orange", "bptt": "tab:blue", "forget": "tab:purple", "lstm": "tab:green",
            "elman": "tab:grey"}
_CELL_SEED = 7  # the held-out sequence drawn for the cells' picture


def plot_curves(problem, outcomes: dict, path: Path, methods: dict) -> Path:
    """The learning curves of every run of ``problem`` (outcomes: method key -> list of lstm1997.Outcome)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = problem.criterion.split()[0]
    figure, axes = plt.subplots(figsize=(7.5, 4.2))
    for key, found in outcomes.items():
        colour = _COLOURS.get(key, "black")
        for index, result in enumerate(found):
            if result.curve:
                xs, ys = zip(*result.curve)
                axes.plot(xs, ys, color=colour, linewidth=1.0, alpha=0.7,
                          label=f"{methods[key].label} ({sum(o.solved for o in found)}/{len(found)} solved)"
                          if index == 0 else None)
    if problem.paper_sequences:
        axes.axvline(problem.paper_sequences, color="black", linestyle=":", linewidth=1.0,
                     label=f"paper: {problem.paper_sequences:,.0f} sequences")
    axes.set_xscale("log")
    axes.set_xlabel("training sequences")
    axes.set_ylabel(f"held-out {metric}")
    axes.set_title(f"{problem.label}: criterion {problem.criterion}")
    axes.legend(fontsize=7, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_cells(problem, run_dir: Path, path: Path) -> Path:
    """The cells of the run in ``run_dir`` (its latest checkpoint) on one held-out sequence of its task."""
    from .gradient_measures import trained_model

    model, task = trained_model(run_dir)
    batch = task.eval_set(1, _CELL_SEED)[0]
    length = None if batch.lengths is None else int(batch.lengths[0])
    with torch.no_grad():
        activity = cell_activity(model, batch.inputs[:, 0], length)
    quick = " (quick settings)" if run_dir.parent.name == "quick" else ""
    return plot_cell_activity(activity, path, title=f"{problem.label}{quick}: cells of {run_dir.name}")
