"""The pictures of ``rnnlab reproduce gradients``, one per claim, every y axis that spans decades on a log scale.

* ``plot_sweep``: ‖∂L/∂h_{T−k}‖ against the lag k of the untrained Elman network, one curve per λ₁
  (geometric mean over the seeds, their range shaded), Pascanu's bound (γλ₁)^k dashed where it
  guarantees vanishing (γλ₁ < 1); ``analysis.pictures.plot_gradient_flow``'s picture with the legend
  beside the axes (ten curves and their bounds would cover the lines);
* ``plot_rates``: the measured factor per step back against λ₁, each seed a dot, beside the bound γλ₁
  and the line 1 that separates vanishing from explosion;
* ``plot_cells``: ‖∂L/∂h‖ against the lag for Elman, LSTM and GRU on the adding problem, at
  initialisation and after training (two panels);
* ``plot_exploding``: training loss and gradient norm (before clipping) against the step, one column
  per clipping mode, one line per seed, non-finite steps marked at the top;
* ``plot_spectra``: histograms of the one-step Jacobians' singular values of each cell (log σ), at
  initialisation and after training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..analysis.figures import save_figure

from .gradient_measures import AddingFlow, CellSpectrum, SweepResult


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _geometric(curves: Sequence[np.ndarray]) -> np.ndarray:
    stacked = np.stack(curves)
    with np.errstate(divide="ignore"):
        return np.exp(np.log(np.where(stacked > 0, stacked, np.nan)).mean(0))


def plot_sweep(results: Sequence[SweepResult], path: Path) -> Path:
    """‖∂L/∂h‖ against the lag, one curve per λ₁ (the module docstring); the legend beside the axes."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 4.6))
    for value in sorted({r.singular_value for r in results}):
        mine = [r for r in results if r.singular_value == value]
        stacked = np.stack([r.by_lag for r in mine])  # (seeds, T)
        lags = np.arange(stacked.shape[1])
        curve = _geometric(list(stacked))
        shown = np.isfinite(curve) & (curve > 0)
        rho = np.mean([r.spectral_radius for r in mine])
        (line,) = axes.plot(lags[shown], curve[shown], linewidth=1.6, label=f"λ₁ = {value:g} (ρ ≈ {rho:.2f})")
        low, high = stacked.min(0), stacked.max(0)
        ok = shown & (low > 0)
        axes.fill_between(lags[ok], low[ok], high[ok], color=line.get_color(), alpha=0.2, linewidth=0)
        bound = mine[0].bound
        if bound < 1:
            axes.plot(lags, bound ** lags.astype(np.float64), linestyle="--", color=line.get_color(), linewidth=0.9,
                      label=f"bound (γλ₁)^k = {bound:g}^k")
    seeds = len({r.seed for r in results})
    axes.set_yscale("log")
    axes.set_xlabel("lag k (steps back from the error)")
    axes.set_ylabel("‖∂L/∂h_{T−k}‖ (batch mean; ‖∂L/∂h_T‖ = 1)")
    axes.set_title(f"Untrained Elman (tanh): the error against the lag, {seeds} seeds (range shaded)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save_figure(figure, path)


def plot_rates(results: Sequence[SweepResult], path: Path) -> Path:
    """The measured factor per step back (fit and largest single step) against λ₁, with γλ₁ and 1."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 4.2))
    lam = np.array([r.singular_value for r in results])
    axes.scatter(lam, [r.rate for r in results], s=14, label="measured: mean factor per step (fit, each seed)",
                 zorder=3)
    axes.scatter(lam, [r.largest_ratio for r in results], s=14, marker="^",
                 label="measured: largest single step (each seed)", zorder=3)
    span = np.geomspace(lam.min() * 0.9, lam.max() * 1.1, 100)
    gamma = results[0].bound / results[0].singular_value
    axes.plot(span, gamma * span, "--", color="grey", label=f"Pascanu's bound γλ₁ (γ = {gamma:g}, tanh)")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.axvspan(span[0], 1 / gamma, color="tab:blue", alpha=0.07, label="λ₁ < 1/γ: vanishing guaranteed")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("λ₁, largest singular value of W_hh")
    axes.set_ylabel("‖∂L/∂h_{t−1}‖ / ‖∂L/∂h_t‖")
    axes.set_title("Untrained Elman: factor per step back against λ₁")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    return save_figure(figure, path)


def plot_cells(flows: Mapping[str, Mapping[str, AddingFlow]], path: Path, *, length: int) -> Path:
    """flows: "at initialisation" / "after training" -> cell label -> AddingFlow; two panels."""
    plt = _pyplot()
    figure, panels = plt.subplots(1, len(flows), figsize=(11, 4.2), sharey=True, squeeze=False)
    for axes, (when, by_cell) in zip(panels[0], flows.items()):
        for label, flow in by_cell.items():
            curve = flow.by_lag
            lags = np.arange(len(curve))
            shown = np.isfinite(curve) & (curve > 0)
            axes.plot(lags[shown], curve[shown], linewidth=1.6,
                      label=f"{label}: h_1/h_n = {flow.ratio:.2g}")
        axes.set_yscale("log")
        axes.set_title(f"adding, T = {length}: {when}")
        axes.set_xlabel("lag k (steps back from the sequence's end)")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=8, loc="lower left")
    panels[0][0].set_ylabel("‖∂L/∂h_{n−k}‖ (batch mean)")
    return save_figure(figure, path)


def plot_exploding(curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]], path: Path, *,
                   title: str) -> Path:
    """curves: clipping mode -> one (steps, losses, gradient norms) per seed."""
    plt = _pyplot()
    figure, panels = plt.subplots(2, len(curves), figsize=(4 * len(curves), 6), sharex=True, sharey="row",
                                  squeeze=False)
    for column, (mode, runs) in enumerate(curves.items()):
        for row, (index, name) in enumerate(((1, "training loss"), (2, "gradient norm before clipping"))):
            axes = panels[row][column]
            for steps, *series in runs:
                values = series[index - 1]
                ok = np.isfinite(values)
                (line,) = axes.plot(steps[ok], values[ok], linewidth=0.9)
                if not ok.all():  # NaN/Inf: a cross at the top of the panel (x in data, y in axes units)
                    axes.scatter(steps[~ok], np.ones(int((~ok).sum())), marker="x", color=line.get_color(), s=18,
                                 transform=axes.get_xaxis_transform(), clip_on=False)
            axes.set_yscale("log")
            axes.grid(True, which="major", alpha=0.3)
            if row == 0:
                axes.set_title(f"clip = {mode}")
            else:
                axes.set_xlabel("step")
            if column == 0:
                axes.set_ylabel(name)
    figure.suptitle(f"{title} (× at the top: NaN/Inf steps)", fontsize=10)
    return save_figure(figure, path)


def plot_spectra(spectra: Mapping[str, Mapping[str, CellSpectrum]], path: Path) -> Path:
    """spectra: "at initialisation" / "after training" -> cell label -> CellSpectrum; two panels of
    histograms of log10 σ_i of the one-step Jacobians."""
    plt = _pyplot()
    figure, panels = plt.subplots(1, len(spectra), figsize=(11, 4.2), sharey=True, squeeze=False)
    for axes, (when, by_cell) in zip(panels[0], spectra.items()):
        for label, spectrum in by_cell.items():
            values = spectrum.singular_values
            values = np.log10(values[values > 0])
            axes.hist(values, bins=140, range=(-6, 1), density=True, histtype="step", linewidth=1.4,
                      label=f"{label} (n = {spectrum.state_size}): top exponent {spectrum.top_exponent:+.3f}")
        axes.axvline(0.0, color="black", linewidth=0.8)
        axes.set_title(f"one-step Jacobians ∂s_t/∂s_(t−1): {when}")
        axes.set_xlabel("log10 σ_i")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=7, loc="upper left")
    panels[0][0].set_ylabel("density")
    return save_figure(figure, path)

