"""Pictures of gradient flow: ‖∂L/∂h‖ against the lag, on a log scale (one curve per run or cell).

The picture the vanishing-gradient literature argues from (Hochreiter 1991; Bengio et al. 1994;
Pascanu et al. 2013, Fig. 1–2 style): the lag k from the step where the error is injected on the x
axis, the norm of the error that reaches step n − k on a logarithmic y axis.  A straight line
falling is geometric vanishing, rising is explosion; LSTM's carousel is a flat line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from .gradient_flow import GradientFlow


def _curve(value) -> np.ndarray:
    if isinstance(value, GradientFlow):
        value = value.by_lag()
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().to(torch.float64).numpy()
    curve = np.asarray(value, dtype=np.float64)
    if curve.ndim != 1:
        raise ValueError(f"plot_gradient_flow expects one curve per label, (K,) norms by lag; got shape {curve.shape}")
    return curve


def plot_gradient_flow(curves: Mapping[str, object], path: str | Path, *, title: str = "gradient flow through time",
                       ylabel: str = "‖∂L/∂h‖ at step n − k (batch mean)",
                       bands: Mapping[str, object] | None = None,
                       guides: Mapping[str, object] | None = None) -> Path:
    """Draw ``curves`` (label -> a GradientFlow, drawn by lag, or a (K,) array of norms at lags
    0 … K − 1) on a log y axis into ``path`` (PNG); returns the path.

    bands: label -> (low, high) arrays, a shaded spread around the curve of that label (e.g. the
        range over seeds).  guides: label -> a (K,) array drawn dashed (e.g. Pascanu's bound
        (γλ₁)^k).  Zeros and non-finite values are left out (a log axis cannot show them).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not curves:
        raise ValueError("plot_gradient_flow needs at least one curve")
    path = Path(path)
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for label, value in curves.items():
        curve = _curve(value)
        lags = np.arange(len(curve))
        shown = np.isfinite(curve) & (curve > 0)
        (line,) = axes.plot(lags[shown], curve[shown], label=label, linewidth=1.6)
        if bands and label in bands:
            low, high = (_curve(b) for b in bands[label])
            ok = shown & np.isfinite(low) & np.isfinite(high) & (low > 0)
            axes.fill_between(lags[ok], low[ok], high[ok], color=line.get_color(), alpha=0.2, linewidth=0)
    for label, value in (guides or {}).items():
        curve = _curve(value)
        lags = np.arange(len(curve))
        shown = np.isfinite(curve) & (curve > 0)
        axes.plot(lags[shown], curve[shown], linestyle="--", color="grey", linewidth=1, label=label)
    axes.set_yscale("log")
    axes.set_xlabel("lag k (steps back from the error)")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
