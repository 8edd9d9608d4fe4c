"""The pictures of ``rnnlab reproduce learning``, one per claim.

* ``plot_cost``: time per step against n (log-log, the theory's slopes n² and n⁴ beside), peak memory
  against n, and peak memory against T (log-log, BPTT's ∝ T beside), one line per algorithm;
* ``plot_online``: the learning curves on the stream, the accuracy over a sliding window of the
  answers given before each update, one line per learner, the target and chance marked;
* ``plot_guessing``: trials until solved per problem (every seed a dot, the median and quartiles, the
  paper's mean a star), and the gradient learners' training sequences until solved (a cross at the
  budget where a seed did not solve it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..analysis.figures import save_figure

from .learning_measures import Cost, GradientLearning, Guessing, OnlineResult, window_accuracy

_COLOURS = {"bptt": "tab:blue", "rtrl": "tab:red", "uoro": "tab:green", "snap1": "tab:purple"}
_NAMES = {"bptt": "BPTT", "rtrl": "RTRL", "uoro": "UORO", "snap1": "SnAp-1"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt



def plot_cost(costs: Sequence[Cost], path: Path, *, time_steps: int, memory_units: int) -> Path:
    """Three panels: ms per step against n (T = ``time_steps``), peak MB against n (same T), peak MB against T
    (n = ``memory_units``)."""
    plt = _pyplot()
    figure, (speed, size, length) = plt.subplots(1, 3, figsize=(14, 4.3))
    algorithms = [a for a in _COLOURS if any(c.algorithm == a for c in costs)]
    for algorithm in algorithms:
        colour, name = _COLOURS[algorithm], _NAMES[algorithm]
        at_t = sorted((c for c in costs if c.algorithm == algorithm and c.steps == time_steps), key=lambda c: c.units)
        if at_t:
            units = [c.units for c in at_t]
            speed.plot(units, [1e3 * c.seconds_per_step for c in at_t], "o-", color=colour, label=name)
            size.plot(units, [max(c.peak_bytes, 1) / 1e6 for c in at_t], "o-", color=colour, label=name)
        at_n = sorted((c for c in costs if c.algorithm == algorithm and c.units == memory_units), key=lambda c: c.steps)
        if at_n:
            length.plot([c.steps for c in at_n], [max(c.peak_bytes, 1) / 1e6 for c in at_n], "o-", color=colour,
                        label=name)
    units = np.array(sorted({c.units for c in costs}), dtype=np.float64)
    rtrl = [c for c in costs if c.algorithm == "rtrl" and c.steps == time_steps]
    if len(units) > 1 and rtrl:
        anchor = 1e3 * min(rtrl, key=lambda c: c.units).seconds_per_step
        for power, style in ((2, ":"), (4, "--")):
            speed.plot(units, anchor * (units / units[0]) ** power, style, color="grey", linewidth=0.9,
                       label=f"∝ n{'²' if power == 2 else '⁴'} (theory: BPTT, UORO n²; RTRL n⁴)")
    steps = np.array(sorted({c.steps for c in costs}), dtype=np.float64)
    bptt = sorted((c for c in costs if c.algorithm == "bptt" and c.units == memory_units), key=lambda c: c.steps)
    if len(steps) > 1 and bptt:
        length.plot(steps, bptt[-1].peak_bytes / 1e6 * steps / bptt[-1].steps, ":", color="grey", linewidth=0.9,
                    label="∝ T")
    speed.set(xscale="log", yscale="log", xlabel="units n", ylabel="ms per step (one sequence)",
              title=f"Time per step against n (T = {time_steps:,})")
    size.set(xscale="log", yscale="log", xlabel="units n", ylabel="peak memory of the batch (MB)",
             title=f"Peak memory against n (T = {time_steps:,})")
    length.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="peak memory of the batch (MB)",
               title=f"Peak memory against T (n = {memory_units})")
    for axes in (speed, size, length):
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=7)
    for axes in (speed, size):  # the measured n as plain numbers (log axes would write 3×10¹ 4×10¹ over each other)
        axes.set_xticks(units, [f"{n:g}" for n in units])
        axes.minorticks_off()
    return save_figure(figure, path)


def plot_online(results: Sequence[OnlineResult], path: Path, *, window: int, target: float, title: str) -> Path:
    """Accuracy over windows of ``window`` steps against the stream step, one line per learner."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 4.6))
    styles = {"RTRL": ("tab:red", "-"), "UORO": ("tab:green", "-"), "SnAp-1": ("tab:purple", "-")}
    greys = iter(["#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"])
    for result in results:
        colour, style = styles.get(result.label.split(" ")[0], (None, "--"))
        if colour is None:
            colour = next(greys, "black")
        ends, values = window_accuracy(result.correct, window)
        axes.plot(ends, values, style, color=colour, linewidth=1.5, label=result.label)
    axes.axhline(target, color="black", linewidth=0.8, linestyle=":", label=f"target {target:g}")
    axes.axhline(0.5, color="grey", linewidth=0.8, linestyle="-.", label="chance")
    axes.set(xlabel="step of the stream", ylabel=f"accuracy (window of {window} steps, answers before learning)",
             title=title, ylim=(0.35, 1.02))
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save_figure(figure, path)


def plot_guessing(guesses: Mapping[str, Sequence[Guessing]], paper: Mapping[str, float | None],
                  gradients: Mapping[str, Mapping[str, Sequence[GradientLearning]]], path: Path, *,
                  budgets: Mapping[str, int]) -> Path:
    """Left: trials until solved per problem (dots: seeds; bar: median, box: quartiles; star: the paper's
    mean).  Right: training sequences until solved for each gradient learner (crosses at the budget: not
    solved)."""
    plt = _pyplot()
    learnt = any(runs for learners in gradients.values() for runs in learners.values())
    if learnt:
        figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6))
    else:  # no gradient learner was run (quick mode): the guessing panel alone
        figure, left = plt.subplots(figsize=(6.5, 4.6))
    problems = list(guesses)
    jitter = np.random.default_rng(0)
    for x, problem in enumerate(problems):
        trials = np.array([g.trials for g in guesses[problem] if g.solved], dtype=np.float64)
        if len(trials):
            left.boxplot([trials], positions=[x], widths=0.5, showfliers=False)
            left.scatter(x + jitter.uniform(-0.15, 0.15, len(trials)), trials, s=14, color="tab:blue", zorder=3,
                         label="one seed" if x == 0 else None)
        missed = [g for g in guesses[problem] if not g.solved]
        if missed:
            left.scatter([x] * len(missed), [max(g.trials for g in missed)] * len(missed), marker="x",
                         color="tab:red", zorder=3, label="not solved (at the budget)")
        if paper.get(problem) is not None:
            left.scatter([x + 0.3], [paper[problem]], marker="*", s=120, color="tab:orange", zorder=4,
                         label="paper's mean" if x == 0 else None)
    left.set_xticks(range(len(problems)), problems, fontsize=8)
    left.set(yscale="log", ylabel="trials until solved", title="Random weight guessing, weights in [−100, 100]")
    left.grid(True, axis="y", alpha=0.3)
    handles, labels = left.get_legend_handles_labels()
    left.legend(dict(zip(labels, handles)).values(), dict(zip(labels, handles)).keys(), fontsize=7)
    if not learnt:
        return save_figure(figure, path)
    column = 0
    ticks = []
    markers = iter(["o", "s", "^", "D"])
    marker_of = {}
    for problem, learners in gradients.items():
        for learner, runs in learners.items():
            marker = marker_of.setdefault(learner, next(markers, "o"))
            solved = [r.sequences for r in runs if r.solved]
            failed = [r.sequences for r in runs if not r.solved]
            if solved:
                right.scatter([column] * len(solved), solved, marker=marker, color="tab:blue", zorder=3)
            if failed:
                right.scatter([column] * len(failed), failed, marker="x", color="tab:red", zorder=3)
            ticks.append(f"{problem}\n{learner}")
            column += 1
    if ticks:
        right.set_xticks(range(len(ticks)), ticks, fontsize=7)
    right.set(yscale="log", ylabel="training sequences until solved",
              title="BPTT on the same problems (× not solved within the budget)")
    right.grid(True, axis="y", alpha=0.3)
    return save_figure(figure, path)
