"""How recurrent nets learn, measured (issue 12 §3): real-time recurrent learning and its online
approximations against backpropagation through time, and random weight guessing.

Williams & Zipser (1989), "A learning algorithm for continually running fully recurrent neural
networks" (RTRL); Tallec & Ollivier (2018), "Unbiased online recurrent optimization" (UORO); Menick et
al. (2021), "Practical real time recurrent learning with a sparse approximation" (SnAp-1); Williams &
Peng (1990) for truncated BPTT; Hochreiter & Schmidhuber (1996), "Bridging long time lags by weight
guessing and 'Long Short-Term Memory'" (guessing).

Four claims, each with its rows in results.json and its picture:

1. **RTRL = BPTT.**  On one batch, in float64, the gradient that ``train.algorithm = rtrl`` computes for
   ``fully_recurrent``, ``elman_tanh``, ``lstm`` and ``gru`` equals BPTT's (autograd through the layer,
   whole-sequence kernels where there are some): max |g_RTRL − g_BPTT| ÷ max |g_BPTT| ≤ 1e-8, on an N→1
   task with padded sequences (``two_sequence``) and an N→N stream (``delayed_recall``).  SnAp-1's and
   UORO's distance from the same gradient is reported beside (SnAp-1: its bias; UORO: the mean of K
   estimates, whose distance shrinks like 1/√K if it is unbiased).
2. **Cost.**  Wall time per step and peak memory of one training batch (one sequence of T steps, an
   Elman network of n units, N→1) under BPTT, RTRL, UORO and SnAp-1, each configuration in a fresh
   process (learning_measures: the growth of the resident set during the batch), beside the theory:
   per step BPTT O(n²) time and O(n) memory more for each step (O(nT) in all); RTRL O(n⁴) time and
   O(n³) memory whatever T; UORO O(n²) time, O(n²) memory whatever T; SnAp-1 O(n²) memory (one number
   a weight) whatever T.  The acceptance: RTRL's and UORO's memory does not grow with T (T = 100, 1,000,
   10,000): their growth per step stays under 5% of BPTT's (the measurement's noise is ~0.25 MB).
3. **Online learning on a stream.**  ``delayed_recall`` (recall the bit seen d = 4 steps before, an
   endless stream, no episode boundary), an Elman network of 16 units learning online: RTRL, UORO and
   SnAp-1 update after every step; truncated BPTT with k = 2, 4, 8, 16 carries its state from piece
   to piece and updates once a piece.  The curves are prequential (each answer given before learning
   from it).  Truncation k ≤ d cannot see the dependency at all.
4. **Weight guessing** (H&S 1996's setting: every weight uniform in [−100, 100], sequences of 500–600
   steps, 100 held-out sequences all within 0.1 of their target): trials until solved over 10 seeds
   on the latch (variant II: one tanh unit), the 2-sequence problem and parity (the nearest to their
   architecture A1 with one hidden unit: two tanh units, each fed by both, the input and a bias, read by
   a logistic output unit), beside the paper's means and beside a gradient learner (BPTT) on the same
   problems.

Everything is ``measure`` (runner.Measuring): no run of its own; the numbers come from
``learning_measures``, the pictures from ``learning_pictures``.  Quick mode measures fewer sizes, a
shorter stream, fewer seeds and shorter parity sequences (QUICK_MEASURE), judged on quick targets.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from .learning_measures import (Cost, GradientLearning, Guessing, OnlineResult, exponent, final_accuracy,
                                gradient_agreement, growth_per_step, guess_trials, measure_cost, online_curve,
                                quartiles, sequences_until_solved, steps_to_reach)
from .runner import Experiment, Measuring, measured_row

AGREEMENT_CELLS = ("fully_recurrent", "elman_tanh", "lstm", "gru")
ALGORITHMS = ("bptt", "rtrl", "uoro", "snap1")
NAMES = {"bptt": "BPTT", "rtrl": "RTRL", "uoro": "UORO", "snap1": "SnAp-1"}
EQUAL = 1e-8  # issue 12's acceptance: RTRL's gradient within 1e-8 of BPTT's, relative, in float64
# RTRL's and UORO's memory growth per step, at most this fraction of BPTT's: the resident set of a child moves by
# up to ~0.25 MB from run to run whatever T (heap fragments, Python's garbage collection), 3.4% of BPTT's growth over
# T = 100 → 10,000 at n = 8 (7.4 MB: 0.74 KB a step on the Elman kernel, elman_scan.py).  Over T = 100 → 2,000 that
# noise would reach the bound, so quick mode measures memory over the full grid's T too.
FLAT = 0.05
# theory of the cost per step, for an Elman network of n units (P ≈ n² weights): time, memory kept in all
THEORY = {"bptt": ("O(n²) a step", "O(n·T)"), "rtrl": ("O(n⁴) a step", "O(n³)"),
          "uoro": ("O(n²) a step", "O(n²)"), "snap1": ("O(n²) a step (here O(n³): J_t whole)", "O(n²)")}
# Hochreiter & Schmidhuber (1996): mean trials of random guessing (latch variant II: 22; 2-sequence with A1:
# ≈ 718, the figure; parity with A1, n = 1: 2,906); public reimplementations: median ≈ 144 on the
# 2-sequence problem (a fully recurrent net of 5 tanh units, T = 100)
PAPER_TRIALS = {"latch": 22.0, "two_sequence": 718.0, "parity": 2906.0}
GUESSING = {  # problem -> (task, model, settings): H&S 1996's uniform setting for every problem
    "latch": ("latch", "elman_tanh", ("model.hidden_size=1",)),
    "two_sequence": ("two_sequence", "elman_tanh",
                     ("model.hidden_size=2", "task.relevant=1", "task.min_length=500", "task.max_length=600",
                      "task.tolerance=0.1")),
    "parity": ("parity", "elman_tanh", ("model.hidden_size=2",)),
}
GUESS_COMMON = ("train.guess_range=100", "train.eval_size=100", 'train.stop_when="accuracy >= 1"')
GRADIENT_LEARNERS = {  # label -> (model, settings): BPTT with Adam, the task's recommendations
    "LSTM, 8 cells": ("lstm", ("model.hidden_size=8", 'model.options={forget_bias=5.0, input_bias=-3.0}',
                               "train.lr=0.01")),
}


@dataclass(frozen=True)
class LearningSettings:
    """The sizes of the measurements (full and quick: FULL_MEASURE, QUICK_MEASURE)."""

    # 1. RTRL = BPTT
    agreement_units: int = 6
    agreement_batch: int = 4
    agreement_length: int = 20  # T of the N→N stream; the N→1 sequences are 20–25 steps
    uoro_draws: int = 100
    # 2. cost
    cost_units: tuple[int, ...] = (8, 16, 32, 64)
    time_steps: int = 1_000  # T at which time (and memory) are compared across n
    cost_steps: tuple[int, ...] = (100, 1_000, 10_000)  # T of the memory-against-T measurement
    memory_units: int = 16  # n of the memory-against-T measurement
    long_units: tuple[int, ...] = (8, 16, 32, 64)  # n measured at every T (quick mode: fewer)
    # 3. online learning
    delay: int = 4  # d of delayed_recall
    online_units: int = 16
    stream_steps: int = 10_000
    truncations: tuple[int, ...] = (2, 4, 8, 16)
    online_rates: dict = field(default_factory=lambda: {"rtrl": 0.003, "uoro": 0.001, "snap1": 0.003,
                                                        "bptt": 0.01})
    window: int = 200  # steps of the learning curve's sliding window
    evaluation_streams: int = 8  # fresh held-out streams, each of evaluation_length steps
    evaluation_length: int = 1_000
    # 4. guessing
    guess_seeds: int = 10
    guesses_per_step: int = 100
    max_trials: int = 60_000  # a seed that has not solved it by then counts as not solved
    parity: tuple[str, ...] = ()  # changes to the parity problem (quick mode: shorter sequences)
    guess_changes: tuple[str, ...] = ()  # changes to every guessing problem (tests: short sequences)
    gradient_seeds: int = 3
    gradient_steps: int = 1_000  # a gradient learner's budget: this many batches of 32 sequences
    gradient_check_every: int = 50


FULL_MEASURE = LearningSettings()
QUICK_MEASURE = LearningSettings(uoro_draws=10, cost_units=(8, 32), time_steps=100, cost_steps=(100, 10_000),
                                 memory_units=8, long_units=(8,), stream_steps=2_000, truncations=(4, 16),
                                 evaluation_streams=4, evaluation_length=500, guess_seeds=5,
                                 parity=("task.min_length=50", "task.max_length=60"),
                                 gradient_seeds=0)
# guessing must solve at least this fraction of the seeds within max_trials: the trials until a solution are
# geometric, and parity's mean is ≈ 16,000 here (5 of 9 seeds within 16,000 while these settings were chosen), so
# 60,000 trials leave a seed unsolved about 2% of the time
SOLVED = 0.6
ONLINE_TARGET = 0.95  # accuracy over the last 10% of the stream: what "learnt" means here (chance: 0.5)
TAIL = 0.1  # the fraction of the stream the final accuracy is read over


def measure(context: Measuring) -> list[dict]:
    """The four claims of the module docstring, as rows of results.json."""
    settings = QUICK_MEASURE if context.quick else FULL_MEASURE
    rows = _agreement_rows(context, settings)
    rows += _cost_rows(context, settings)
    rows += _online_rows(context, settings)
    rows += _guessing_rows(context, settings)
    return rows




def _changes(names: tuple[str, ...]) -> list[str]:
    """What quick mode changes in these LearningSettings fields: ``"stream_steps 10000 → 2000"``."""
    return [f"{name} {getattr(FULL_MEASURE, name)} → {getattr(QUICK_MEASURE, name)}" for name in names
            if getattr(FULL_MEASURE, name) != getattr(QUICK_MEASURE, name)]


# ---- 1. RTRL = BPTT --------------------------------------------------------------------------------

def _agreement_tasks(settings: LearningSettings) -> dict[str, tuple[str, tuple[str, ...]]]:
    """label -> (task, settings) of the two batches the gradients are compared on."""
    T, n = settings.agreement_length, settings.agreement_units
    return {"N→1": ("two_sequence", (f"task.min_length={T}", f"task.max_length={T + T // 4}", "task.relevant=1",
                                     f"model.hidden_size={n}")),
            "N→N": ("delayed_recall", (f"task.length={T}", "task.delay=3", f"model.hidden_size={n}"))}


def _agreement_rows(context: Measuring, settings: LearningSettings) -> list[dict]:
    quick, rows, first = context.quick, [], True
    full = _agreement_tasks(FULL_MEASURE)
    described = [f"{label}: `{task}` {' '.join(f'`{s}`' for s in options)}, batches of "
                 f"{FULL_MEASURE.agreement_batch}, model.dtype = float64, the same weights (train.seed = 0)"
                 for label, (task, options) in full.items()]
    described.append("BPTT: autograd through the layer (its whole-sequence kernel where there is one); the "
                     "others: the gradient their train_batch hands to the update; value: max |g − g_BPTT| ÷ "
                     "max |g_BPTT|")
    for label, (task, options) in _agreement_tasks(settings).items():
        algorithms = ("rtrl", "snap1", "uoro") if label == "N→N" else ("rtrl",)
        for cell in AGREEMENT_CELLS:
            context.log(f"learning: {', '.join(NAMES[a] for a in algorithms)} against BPTT, {cell}, {label}")
            found = gradient_agreement(cell, task, options, algorithms=algorithms, batch_size=settings.agreement_batch,
                                       uoro_draws=settings.uoro_draws)
            extra = dict(measurement="agreement", gradient_norm=found.gradient_norm, parameters=found.parameters,
                         topology=label)
            rows.append(measured_row(f"RTRL = BPTT, {cell}, {label}", cell, "max relative difference",
                                     found.differences["rtrl"], quick=quick, task=task, target=("<=", EQUAL),
                                     quick_target=("<=", EQUAL), settings=described if first else (),
                                     quick_changes=_changes(("uoro_draws",)) if first else (), **extra))
            first = False
            if "snap1" in found.differences:
                rows.append(measured_row(f"SnAp-1 vs BPTT, {cell}, {label}", cell, "max relative difference",
                                         found.differences["snap1"], quick=quick, task=task, **extra))
                rows.append(measured_row(f"UORO (mean of {found.draws}) vs BPTT, {cell}, {label}", cell,
                                         "max relative difference", found.differences["uoro"], quick=quick, task=task,
                                         draws=found.draws, single_draw=found.single_uoro, **extra))
            context.log("  " + ", ".join(f"{NAMES[a]} {v:.3g}" for a, v in found.differences.items())
                        + (f" (one UORO draw: {found.single_uoro:.3g})" if found.single_uoro is not None else ""))
    return rows


# ---- 2. cost -------------------------------------------------------------------------------------------

def cost_grid(settings: LearningSettings) -> list[tuple[str, int, int]]:
    """(algorithm, n, T) of every configuration measured: every n at T = time_steps, every T at n =
    memory_units and at each of ``long_units`` (the full grid: every n at every T)."""
    grid = []
    for algorithm in ALGORITHMS:
        for n in settings.cost_units:
            grid.append((algorithm, n, settings.time_steps))
        for n in sorted({settings.memory_units, *settings.long_units}):
            for T in settings.cost_steps:
                if T == max(settings.cost_steps) and n not in settings.long_units and algorithm != "bptt":
                    continue
                grid.append((algorithm, n, T))
    return sorted(set(grid), key=lambda key: (ALGORITHMS.index(key[0]), key[1], key[2]))


def _cost_rows(context: Measuring, settings: LearningSettings) -> list[dict]:
    from .learning_pictures import plot_cost

    quick = context.quick
    costs: list[Cost] = []
    for algorithm, n, T in cost_grid(settings):
        cost = measure_cost(algorithm, n, T)
        costs.append(cost)
        context.log(f"learning: cost, {NAMES[algorithm]}, n = {n}, T = {T:,}: {1e3 * cost.seconds_per_step:.3f} ms "
                    f"a step, peak {cost.peak_bytes / 1e6:.2f} MB")
    pictures = [context.relative(plot_cost(costs, context.picture("learning_cost"), time_steps=settings.time_steps,
                                             memory_units=settings.memory_units))]
    described = ["elman_tanh, one sequence (batch 1) of `two_sequence` with every length T (N→1), "
                 "train.online = false (one update a batch; the update itself not timed)",
                 "each configuration in a fresh process forked from a clean one; time: wall clock of the batch ÷ T; "
                 "memory: growth of the resident set during the batch (VmHWM reset by /proc/self/clear_refs; glibc "
                 "mmap threshold 64 KiB, heap trimmed before)",
                 "BPTT on the layer's whole-sequence kernel; the others on the layer's plain loop with torch.func "
                 "(J_t, K_t, jvp, vjp)",
                 f"grid: n in {list(FULL_MEASURE.cost_units)} at T = {FULL_MEASURE.time_steps:,}; T in "
                 f"{list(FULL_MEASURE.cost_steps)} at n in {list(FULL_MEASURE.long_units)}"]
    changes = _changes(("cost_units", "time_steps", "cost_steps", "memory_units", "long_units"))
    rows, first = [], True
    for cost in costs:
        time_theory, memory_theory = THEORY[cost.algorithm]
        rows.append(measured_row(f"cost, {NAMES[cost.algorithm]}, n = {cost.units}, T = {cost.steps:,}",
                                 "elman_tanh", "ms per step", 1e3 * cost.seconds_per_step, quick=quick,
                                 task="two_sequence", settings=described if first else (),
                                 quick_changes=changes if first else (), pictures=pictures if first else (),
                                 measurement="cost", algorithm=cost.algorithm, units=cost.units, length=cost.steps,
                                 peak_mb=cost.peak_bytes / 1e6, parameters=cost.parameters,
                                 kept_floats=cost.kept_floats, time_theory=time_theory, memory_theory=memory_theory))
        first = False
    for algorithm in ALGORITHMS:
        mine = [c for c in costs if c.algorithm == algorithm and c.steps == settings.time_steps]
        rows.append(measured_row(f"cost, {NAMES[algorithm]}: exponent a of time per step ∝ n^a", "elman_tanh",
                                 f"a (n = {min(settings.cost_units)}–{max(settings.cost_units)})", exponent(mine),
                                 quick=quick, task="two_sequence", measurement="cost", algorithm=algorithm,
                                 theory=THEORY[algorithm][0]))
    growth = {}
    for algorithm in ALGORITHMS:
        mine = [c for c in costs if c.algorithm == algorithm and c.units == settings.memory_units]
        growth[algorithm] = growth_per_step(mine)
    for algorithm in ALGORITHMS:
        judged = algorithm in ("rtrl", "uoro") and math.isfinite(growth["bptt"])
        bound = ("<", FLAT * growth["bptt"]) if judged else None
        extra = dict(measurement="cost", algorithm=algorithm, units=settings.memory_units,
                     lengths=[c.steps for c in costs if c.algorithm == algorithm and c.units == settings.memory_units],
                     bptt_growth=growth["bptt"])
        # the bound depends on BPTT's measured growth: kept in the row (a target is a fixed number in the table)
        rows.append(measured_row(
            f"cost, {NAMES[algorithm]}: peak memory growth per step, n = {settings.memory_units}, T = "
            f"{min(settings.cost_steps):,}–{max(settings.cost_steps):,}", "elman_tanh", "bytes per step",
            growth[algorithm], quick=quick, task="two_sequence", target=bound, quick_target=bound, **extra))
        context.log(f"  {NAMES[algorithm]}: memory growth {growth[algorithm]:.1f} bytes a step"
                    + (f" (bound: {FLAT:.0%} of BPTT's, {bound[1]:.1f})" if bound else ""))
    return rows


# ---- 3. online learning ----------------------------------------------------------------------------

def online_learners(settings: LearningSettings) -> list[tuple[str, tuple[str, ...], int | None]]:
    """(label, settings, truncation) of every learner on the stream."""
    rates = settings.online_rates
    base = (f"task.delay={settings.delay}", f"model.hidden_size={settings.online_units}", "train.batch_size=1")
    learners = [(NAMES[a], (*base, f"train.algorithm={a}", f"train.lr={rates[a]}"), None)
                for a in ("rtrl", "uoro", "snap1")]
    learners += [(f"truncated BPTT, k = {k}", (*base, f"train.lr={rates['bptt']}"), k) for k in settings.truncations]
    return learners


def _online_rows(context: Measuring, settings: LearningSettings) -> list[dict]:
    from .learning_pictures import plot_online

    quick = context.quick
    stream = settings.stream_steps if context.steps is None else min(settings.stream_steps, 16 * context.steps)
    results: list[OnlineResult] = []
    for label, options, k in online_learners(settings):
        context.log(f"learning: online, {label} on {stream:,} steps of delayed_recall (d = {settings.delay})")
        result = online_curve(label, "elman_tanh", options, stream_steps=stream, truncation=k,
                              evaluation_streams=settings.evaluation_streams,
                              evaluation_length=settings.evaluation_length)
        results.append(result)
        context.log(f"  accuracy over the last {TAIL:.0%}: {final_accuracy(result.correct, TAIL):.3f}; held out "
                    f"{result.held_out_accuracy:.3f}; {result.updates:,} updates, {result.seconds:.1f} s")
    title = (f"delayed_recall, d = {settings.delay}: Elman, {settings.online_units} units, learning online on "
             f"one stream of {stream:,} steps")
    pictures = [context.relative(plot_online(results, context.picture("learning_online"), window=settings.window,
                                               target=ONLINE_TARGET, title=title))]
    described = [f"`delayed_recall` task.delay={FULL_MEASURE.delay} (recall the bit of d steps before), elman_tanh "
                 f"model.hidden_size={FULL_MEASURE.online_units}, one stream (batch 1) of "
                 f"{FULL_MEASURE.stream_steps:,} steps, Adam",
                 "rtrl, uoro, snap1: train.online = true, the stream as one batch, an update after every step; "
                 "truncated BPTT: train.carry_state = true, pieces of k steps, an update a piece",
                 "rates: " + ", ".join(f"{NAMES[a]} {r:g}" for a, r in FULL_MEASURE.online_rates.items()),
                 f"value: the accuracy over the last {TAIL:.0%} of the stream, answers given before learning from "
                 f"them; held_out_accuracy: the final network on {FULL_MEASURE.evaluation_streams} fresh streams of "
                 f"{FULL_MEASURE.evaluation_length:,} steps"]
    changes = _changes(("stream_steps", "truncations", "evaluation_streams", "evaluation_length"))
    rows, first = [], True
    best_online = max(final_accuracy(r.correct, TAIL) for r in results[:3])
    rows.append(measured_row("online: the best online learner's accuracy (RTRL, UORO, SnAp-1)", "elman_tanh",
                             "accuracy", best_online, quick=quick, task="delayed_recall",
                             target=(">=", ONLINE_TARGET), quick_target=(">=", ONLINE_TARGET), settings=described,
                             quick_changes=changes, pictures=pictures, measurement="online"))
    for (label, options, k), result in zip(online_learners(settings), results):
        reached = steps_to_reach(result.correct, settings.window, ONLINE_TARGET)
        # truncation shorter than or equal to the delay: no gradient path from a target to its bit
        blind = k is not None and k <= settings.delay
        target = ("<", 0.75) if blind else None
        rows.append(measured_row(f"online, {label}: accuracy over the last {TAIL:.0%}", "elman_tanh", "accuracy",
                                 final_accuracy(result.correct, TAIL), quick=quick, task="delayed_recall",
                                 target=target, quick_target=target, measurement="online", truncation=k,
                                 steps_to_target=reached, held_out_accuracy=result.held_out_accuracy,
                                 updates=result.updates, seconds=round(result.seconds, 2), stream_steps=stream,
                                 curve=_curve(result, settings.window)))
        first = False
    return rows


def _curve(result: OnlineResult, window: int) -> list[list[float]]:
    """[[end step, accuracy], ...] of the learning curve, for results.json."""
    from .learning_measures import window_accuracy

    ends, values = window_accuracy(result.correct, window)
    return [[int(e), round(float(v), 4)] for e, v in zip(ends, values)]


# ---- 4. weight guessing -----------------------------------------------------------------------------

def _guess_settings(problem: str, settings: LearningSettings) -> tuple[str, str, list[str]]:
    task, model, options = GUESSING[problem]
    options = [*options, *GUESS_COMMON, f"train.guesses={settings.guesses_per_step}", *settings.guess_changes]
    if problem == "parity":
        options += list(settings.parity)
    return task, model, options


def _guessing_rows(context: Measuring, settings: LearningSettings) -> list[dict]:
    from .learning_pictures import plot_guessing

    quick = context.quick
    max_trials = settings.max_trials if context.steps is None else min(settings.max_trials,
                                                                       context.steps * settings.guesses_per_step)
    guesses: dict[str, list[Guessing]] = {}
    for problem in GUESSING:
        task, model, options = _guess_settings(problem, settings)
        guesses[problem] = []
        for seed in range(settings.guess_seeds):
            guesses[problem].append(guess_trials(task, model, options, seed=seed, max_trials=max_trials))
        context.log(f"learning: guessing, {problem}: trials " + ", ".join(
            f"{g.trials}{'' if g.solved else ' (not solved)'}" for g in guesses[problem]))
    gradients: dict[str, dict[str, list[GradientLearning]]] = {}
    steps = settings.gradient_steps if context.steps is None else min(settings.gradient_steps, context.steps)
    for problem in ("latch", "parity"):
        task, _, options = _guess_settings(problem, settings)
        options = [o for o in options if o.startswith("task.")] + ["train.eval_size=100"]
        gradients[problem] = {}
        for label, (model, extra) in GRADIENT_LEARNERS.items():
            runs = [sequences_until_solved(task, model, [*options, *extra], seed=seed, max_steps=steps,
                                           check_every=min(settings.gradient_check_every, steps))
                    for seed in range(settings.gradient_seeds)]
            gradients[problem][label] = runs
            if runs:
                context.log(f"learning: BPTT, {label}, {problem}: " + ", ".join(
                    f"{'solved after' if r.solved else 'not solved in'} {r.sequences:,} sequences" for r in runs))
    pictures = [context.relative(plot_guessing(guesses, PAPER_TRIALS, gradients, context.picture("learning_guessing"),
                                                 budgets={p: max_trials for p in guesses}))]
    described = ["every weight uniform in [−100, 100] (train.guess_range=100), 100 draws scored at once "
                 "(train.guesses=100), solved: every one of 100 held-out sequences within 0.1 of its target "
                 "(train.eval_size=100, train.stop_when=\"accuracy >= 1\"), lengths 500–600, seeds 0–"
                 f"{FULL_MEASURE.guess_seeds - 1}",
                 *[f"{problem}: `{GUESSING[problem][0]}` --model {GUESSING[problem][1]} "
                   + " ".join(f"`{o}`" for o in GUESSING[problem][2]) for problem in GUESSING],
                 "test_accuracies: each solution on a fresh test set of 100 (the paper's separate test set)",
                 "gradient learners: " + "; ".join(f"{label}: --model {model} " + " ".join(f"`{o}`" for o in extra)
                                                   for label, (model, extra) in GRADIENT_LEARNERS.items())
                 + f", batches of 32, the held-out set checked every {FULL_MEASURE.gradient_check_every} steps, "
                   f"{FULL_MEASURE.gradient_steps:,} steps at most, seeds 0–{FULL_MEASURE.gradient_seeds - 1}"]
    changes = _changes(("guess_seeds", "max_trials", "parity", "gradient_seeds"))
    rows, first = [], True
    for problem, found in guesses.items():
        solved = [g for g in found if g.solved]
        trials = [g.trials for g in solved]
        q1, median, q3 = quartiles(trials) if trials else (None, None, None)
        extra = dict(measurement="guessing", problem=problem, seeds=len(found), solved=len(solved),
                     trials=[g.trials for g in found], first_quartile=q1, third_quartile=q3,
                     mean=float(np.mean(trials)) if trials else None, paper_mean=PAPER_TRIALS[problem],
                     test_accuracies=[g.test_accuracy for g in found], seconds=round(sum(g.seconds for g in found), 2),
                     max_trials=max_trials)
        # the 2-sequence problem: the paper's 718 trials on average, beaten (the median here is a few hundred);
        # the latch and parity take more trials than the paper's nets (why: the README's learning algorithms section)
        beaten = ("<=", PAPER_TRIALS[problem]) if problem == "two_sequence" else None
        rows.append(measured_row(f"guessing, {problem}: median trials until solved", GUESSING[problem][1],
                                 f"trials (of {len(found)} seeds)", median, quick=quick, task=GUESSING[problem][0],
                                 target=beaten, quick_target=beaten,
                                 settings=described if first else (), quick_changes=changes if first else (),
                                 pictures=pictures if first else (), skipped=not trials,
                                 note=None if trials else f"no seed solved it within {max_trials:,} trials", **extra))
        enough = (">=", math.ceil(SOLVED * len(found)))
        rows.append(measured_row(f"guessing, {problem}: seeds solved", GUESSING[problem][1], f"seeds of {len(found)}",
                                 len(solved), quick=quick, task=GUESSING[problem][0], target=enough,
                                 quick_target=enough, measurement="guessing", problem=problem))
        first = False
    for problem, learners in gradients.items():
        for label, runs in learners.items():
            name = f"BPTT, {label}, {problem}: median training sequences until solved"
            if not runs:
                rows.append(measured_row(name, GRADIENT_LEARNERS[label][0], "sequences", None, quick=quick,
                                         skipped=True, note="full budget only", measurement="gradient learners"))
                continue
            solved = [r.sequences for r in runs if r.solved]
            rows.append(measured_row(
                name, GRADIENT_LEARNERS[label][0], f"sequences (solved {len(solved)} of {len(runs)})",
                float(np.median(solved)) if solved else None, quick=quick, task=GUESSING[problem][0],
                skipped=not solved, note=None if solved else
                f"no seed solved it within {max(r.sequences for r in runs):,} sequences",
                measurement="gradient learners", problem=problem, learner=label,
                runs=[dataclasses.asdict(r) for r in runs]))
    return rows


EXPERIMENT = Experiment(
    name="learning",
    title="Learning algorithms: RTRL, UORO, SnAp-1, truncated BPTT and weight guessing",
    description=(
        "How recurrent nets learn, measured. (1) RTRL = BPTT: on one batch in float64, the gradient of "
        "`train.algorithm = rtrl` against BPTT's for `fully_recurrent`, `elman_tanh`, `lstm` and `gru`, N→1 "
        "(padded) and N→N; SnAp-1's and UORO's distance from it beside. (2) Cost: time per step and peak memory "
        "of one training batch (one sequence of T steps, an Elman network of n units) under BPTT, RTRL, UORO and "
        "SnAp-1, each configuration in a fresh process, beside the theory (per step: BPTT O(n²) time and memory "
        "O(nT) in all; RTRL O(n⁴) time, O(n³) memory; UORO O(n²) time and memory; SnAp-1 O(n²) memory). "
        "(3) Online learning: `delayed_recall` (recall the bit of d = 4 steps before in an endless stream), an "
        "Elman network of 16 units, RTRL, UORO and SnAp-1 updating after every step against truncated BPTT "
        "(k = 2, 4, 8, 16) carrying its state from piece to piece. (4) Random weight guessing (Hochreiter & "
        "Schmidhuber 1996: weights in [−100, 100], sequences of 500–600 steps) on the latch, the 2-sequence "
        "problem and parity, trials until solved over 10 seeds beside the paper's means, and a gradient "
        "learner (BPTT, LSTM) on the same problems. Rows are measurements (no run directories); values in "
        "ms, bytes, trials, sequences or accuracy as the metric says; every figure of a row is in results.json."),
    quick_note=("Quick mode measures the cost at n = 8 and 32 (T = 100) and memory at n = 8 over T = 100 and 10,000, "
                "learns on a stream of 2,000 steps with two truncations, guesses over 5 seeds (parity on lengths "
                "50–60) and leaves the gradient learners out."),
    measure=measure,
)
