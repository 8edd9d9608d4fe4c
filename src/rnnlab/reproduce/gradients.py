"""Vanishing and exploding gradients, measured (issue 11 §2): Pascanu, Mikolov & Bengio (2013), "On the
difficulty of training recurrent neural networks", ICML; Hochreiter (1991); Bengio, Simard & Frasconi
(1994); Hochreiter & Schmidhuber (1997) for the constant error carousel.

Four claims, each with its rows in results.json and its picture:

1. **Untrained Elman network against Pascanu's bound** (§3.2).  W_hh of a tanh Elman layer scaled to a
   largest singular value λ₁ ∈ {0.5, 0.8, 0.9, 1, 1.1, 1.5, 2, 3, 5, 10} (the spectral radius ρ beside
   it), the error injected at the last step: ‖∂L/∂h_{T−k}‖ against the lag k, its measured factor per
   step back beside the bound γλ₁ (γ = 1 for tanh): below 1 vanishing is guaranteed; the largest factor
   of any single step of any sequence is checked against γλ₁ (it can never exceed it); above λ₁ = 1 the
   seeds whose error grows with the lag are counted (λ₁ > 1/γ is necessary for explosion, not sufficient).
2. **Three cells on the adding problem at T = 100** (Hochreiter & Schmidhuber 1997, experiment 4):
   Elman, LSTM (the task's gate biases, forget 5, input −3) and GRU, trained as ordinary runs; the
   gradient flow of each at initialisation (the run's own initial weights, rebuilt from its seed) and
   after training (its last checkpoint), on a held-out batch with the task's loss: ‖∂L/∂h_1‖/‖∂L/∂h_n‖
   and the error that reaches the two marked steps.
3. **Exploding gradients and clipping** (§3.2, Fig. 6's cliffs): an Elman network of the same task
   whose W_hh starts at λ₁ = 3 (ρ ≈ 1.6: the chaotic regime of claim 1, where the error grows with the
   lag), trained with plain SGD, no clipping / norm clipping / value clipping, over several seeds:
   how many runs meet a NaN or Inf (skipped by the Trainer, and the run stopped after
   ``train.max_bad_steps`` in a row), how many meet loss cliffs, and where they end.
4. **Jacobian spectra**: the singular values of the one-step Jacobians ∂s_t/∂s_{t−1} of each cell of
   claim 2 (s = (h, c) for the LSTM) along held-out sequences, and the top Lyapunov-like exponent
   (1/T)·log σ₁ of their product, at initialisation and after training.

Measured (docs/results/gradients.json, full budget): the bound holds everywhere with room (largest
one-step factor 0.68 γλ₁); the error grows with the lag from λ₁ = 3 (ρ ≈ 1.65) on, in every seed, while
at λ₁ = 2 (ρ ≈ 1.1) it still vanishes; tanh saturation slows the growth but does not stop it.  The
trained LSTM passes 0.23 of the error at the end back to step 1, the Elman network 1.5e-24: 1.6e23 times
less.  The GRU (torch's initialisation, no gate bias) vanishes like the Elman network at initialisation
(7e-21) and never leaves the trivial answer within 5,000 steps.  Without clipping 9 of 10 runs of claim 3
meet a NaN/Inf, with norm clipping none does.

The runs of claim 2 are ``Run``s (``rnnlab train adding --model CELL --set ...``); everything else is
``measure``, called after them (runner.Measuring), its computations in ``gradient_measures`` and its
pictures in ``gradient_pictures``.  Quick mode trains the three cells 150 steps (the trivial answer,
mse ≈ 0.042, is what that reaches) and measures with fewer seeds and shorter runs; see QUICK_MEASURE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .gradient_measures import (FLOW_SEED, Outcome, adding_flow, cell_spectrum, elman_sweep, held_out_batch,
                                initial_model, learning_curve, train_exploding, trained_model)
from .runner import SMOKE_EVAL_EVERY, SMOKE_EVAL_SIZE, Experiment, Measuring, Run, measured_row

HIDDEN = 64  # units of every network here (the adding runs and the sweep)
LENGTH = 100  # T of the adding problem
ADDING = [f"task.length={LENGTH}", f"model.hidden_size={HIDDEN}"]
# Every other setting of the adding runs is the task's recommendation (tasks/adding.py): the LSTM's gate biases,
# Adam 1e-3, batches of 32, gradients clipped to norm 1, 5,000 steps at most, evaluated every 500 steps on 2,000
# sequences, stopped once 99% of them are within 0.04 of their target.
QUICK = ["train.steps=150", "train.max_minutes=0.3", "train.eval_every=50", "train.eval_size=200",
         "train.log_every=10"]
CELLS = {"elman_tanh": "Elman", "lstm": "LSTM", "gru": "GRU"}  # the cells of claims 2 and 4, as the rows name them

RUNS = [
    # trivial answer: Var[target] = 1/24 ≈ 0.042 (untrained ≈ 0.25); 150 steps reach it, not below: the quick runs
    # are there for the gradient flow of a network that has begun to train
    Run("adding, Elman", "adding", "elman_tanh", ADDING, "mse", None, quick=QUICK, directory="adding-elman_tanh",
        quick_target=("<", 0.05)),
    Run("adding, LSTM", "adding", "lstm", [*ADDING, "train.max_minutes=20"], "mse", ("<", 0.01), quick=QUICK,
        directory="adding-lstm", quick_target=("<", 0.05)),
    Run("adding, GRU", "adding", "gru", ADDING, "mse", None, quick=QUICK, directory="adding-gru",
        quick_target=("<", 0.05)),
]


@dataclass(frozen=True)
class MeasureSettings:
    """The sizes of the measurements (full and quick: FULL_MEASURE, QUICK_MEASURE)."""

    singular_values: tuple[float, ...] = (0.5, 0.8, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0)  # λ₁ of claim 1
    sweep_seeds: int = 10
    sweep_steps: int = 200  # T of claim 1
    sweep_batch: int = 16
    sweep_inputs: int = 8  # input features, x_t ~ N(0, 1)
    flow_batch: int = 64  # held-out sequences of claim 2
    spectrum_sequences: int = 8  # of claim 4, each LENGTH steps
    exploding_singular_value: float = 3.0  # λ₁ of W_hh at the start of claim 3's runs
    exploding_seeds: int = 10
    exploding: tuple[str, ...] = ("task.length=100", f"model.hidden_size={HIDDEN}", "train.optimizer=sgd",
                                  "train.lr=0.05", "train.steps=1000", "train.eval_every=250", "train.eval_size=500",
                                  "train.log_every=1", "train.checkpoint_every=1000", "train.stop_when=none")


FULL_MEASURE = MeasureSettings()
QUICK_MEASURE = MeasureSettings(sweep_seeds=3, sweep_steps=100, flow_batch=16, spectrum_sequences=2, exploding_seeds=5,
                                exploding=(*FULL_MEASURE.exploding, "train.steps=100",
                                           "train.eval_every=50", "train.eval_size=200"))
CLIPS = ("none", "norm", "value")  # train.clip of claim 3 (clip_norm = clip_value = 1, the defaults)
# judges the count of runs with NaN/Inf steps, full and quick alike: without clipping the explosions happen (at
# least one run meets a NaN/Inf; measured 9 of 10 full, 4 of 5 quick); with norm clipping none does (Pascanu et
# al. §3.2; measured 0 of 10 full, 0 of 5 quick); value clipping is reported (0 of 10, but 9 runs with cliffs)
EXPLODING_TARGETS = {"none": (">=", 1), "norm": ("<=", 0), "value": None}
LSTM_OVER_ELMAN = 1e4  # issue 11's acceptance: the LSTM's h_1/h_n ratio after training ≥ this × the Elman's


def measure(context: Measuring) -> list[dict]:
    """Claims 1, 3, 4 and the gradient flow of claim 2 (the module docstring), as rows of results.json."""
    settings = QUICK_MEASURE if context.quick else FULL_MEASURE
    rows = _sweep_rows(context, settings)
    rows += _cell_rows(context, settings)
    rows += _exploding_rows(context, settings)
    return rows




def _changes(field_names: tuple[str, ...]) -> list[str]:
    """What quick mode changes in these MeasureSettings fields: ``"sweep_seeds 10 → 3"``."""
    changes = []
    for name in field_names:
        full, quick = getattr(FULL_MEASURE, name), getattr(QUICK_MEASURE, name)
        if name == "exploding":
            full, quick = dict(s.split("=", 1) for s in full), dict(s.split("=", 1) for s in quick)
            changes += [f"{key} {full.get(key)} → {quick[key]}" for key in quick if full.get(key) != quick[key]]
        elif full != quick:
            changes.append(f"{name} {full} → {quick}")
    return changes


# ---- claim 1 -------------------------------------------------------------------------------------

def _sweep_rows(context: Measuring, settings: MeasureSettings) -> list[dict]:
    from .gradient_pictures import plot_rates, plot_sweep

    context.log(f"gradients: untrained Elman, λ₁ in {list(settings.singular_values)}, {settings.sweep_seeds} seeds")
    results = elman_sweep(settings.singular_values, range(settings.sweep_seeds), hidden_size=HIDDEN,
                          steps=settings.sweep_steps, batch_size=settings.sweep_batch, input_size=settings.sweep_inputs)
    pictures = [context.relative(plot_sweep(results, context.picture("gradients_elman_lags"))),
                context.relative(plot_rates(results, context.picture("gradients_elman_rates")))]
    quick, full = context.quick, FULL_MEASURE  # the settings listed are the full measurement's
    described = [f"elman_tanh, H = {HIDDEN}, float64, torch.nn.RNN's initialisation, W_hh scaled to λ₁",
                 f"x_t ~ N(0, 1) of {full.sweep_inputs} features, T = {full.sweep_steps}, "
                 f"{full.sweep_batch} sequences, seeds 0–{full.sweep_seeds - 1}",
                 "L = Σ_b v·h_T (‖v‖ = 1)", "factor per step: e^slope of log ‖∂L/∂h_{T−k}‖ against k, geometric mean "
                 "over the seeds"]
    changes = _changes(("sweep_seeds", "sweep_steps"))
    rows = []
    worst = max(r.largest_ratio / r.bound for r in results)
    rows.append(measured_row("untrained Elman, every λ₁: largest one-step factor ÷ γλ₁", "elman_tanh",
                             "max ratio ÷ bound", worst, quick=quick, target=("<=", 1.0), quick_target=("<=", 1.0),
                             settings=described, quick_changes=changes, pictures=pictures,
                             measurement="sweep"))
    for value in settings.singular_values:
        mine = [r for r in results if r.singular_value == value]
        rate = math.exp(float(np.mean([math.log(r.rate) for r in mine])))
        bound = mine[0].bound
        applies = bound <= 1.0  # γλ₁ ≤ 1: the bound guarantees the error does not grow
        extra = dict(singular_value=value, spectral_radius=float(np.mean([r.spectral_radius for r in mine])),
                     bound=bound, seeds=len(mine), largest_ratio=max(r.largest_ratio for r in mine),
                     mean_slope=float(np.mean([r.mean_slope for r in mine])),
                     growing_seeds=sum(r.grows for r in mine), measurement="sweep")
        target = ("<=", bound) if applies else None
        rows.append(measured_row(f"untrained Elman, λ₁ = {value:g}: factor per step back", "elman_tanh",
                                 "factor per step (fit)", rate, quick=quick, target=target, quick_target=target,
                                 **extra))
        if not applies:
            rows.append(measured_row(f"untrained Elman, λ₁ = {value:g}: seeds whose error grows with the lag",
                                     "elman_tanh", f"seeds of {len(mine)}", extra["growing_seeds"], quick=quick,
                                     **extra))
    for row in rows[1:]:
        if row["metric"] == "factor per step (fit)":
            context.log(f"  λ₁ = {row['singular_value']:g} (ρ ≈ {row['spectral_radius']:.2f}): factor per step "
                        f"{row['value']:.3f}, bound {row['bound']:g}; growing in {row['growing_seeds']} of "
                        f"{row['seeds']} seeds; mean tanh′ {row['mean_slope']:.2f}")
    context.log(f"  largest one-step factor ÷ bound: {worst:.3f}")
    return rows


# ---- claims 2 and 4 ------------------------------------------------------------------------------

def _cell_rows(context: Measuring, settings: MeasureSettings) -> list[dict]:
    from .gradient_pictures import plot_cells, plot_spectra

    quick = context.quick
    by_model = {row["model"]: row for row in context.rows if row["task"] == "adding"}
    flows = {"at initialisation": {}, "after training": {}}
    spectra = {"at initialisation": {}, "after training": {}}
    problems = {}
    for cell, label in CELLS.items():
        row = by_model.get(cell)
        if row is None or row["value"] is None:
            problems[label] = "error: not measured, its run stopped on an error" if row is not None else \
                "error: no run of this cell"
            continue
        context.log(f"gradients: {label} on adding, gradient flow and Jacobian spectra (initial and trained)")
        for when, load in (("at initialisation", initial_model), ("after training", trained_model)):
            model, task = load(row["run_dir"])
            batch = held_out_batch(task, settings.flow_batch)
            flows[when][label] = adding_flow(model, task, batch)
            spectra[when][label] = cell_spectrum(model, batch, steps=min(LENGTH, int(batch.lengths.min())),
                                                 sequences=settings.spectrum_sequences)
    rows = []
    complete = not problems
    pictures = [context.relative(plot_cells(flows, context.picture("gradients_adding_flow"), length=LENGTH))
                ] if complete else []
    spectrum_pictures = ([context.relative(plot_spectra(spectra, context.picture("gradients_spectra")))]
                         if complete else [])
    described = [f"the runs' models: at initialisation (rebuilt from their seed) and their last checkpoint",
                 f"a held-out batch of {FULL_MEASURE.flow_batch} sequences (seed {FLOW_SEED}), "
                 "the task's loss, float64"]
    first = True
    for when in flows:
        for cell, label in CELLS.items():
            name = f"adding, {label} {when}"
            if label in problems:
                rows += [measured_row(f"{name}: ‖∂L/∂h_1‖/‖∂L/∂h_n‖", cell, "ratio", None, quick=quick,
                                      note=problems[label], task="adding")]
                continue
            flow = flows[when][label]
            rows.append(measured_row(f"{name}: ‖∂L/∂h_1‖/‖∂L/∂h_n‖", cell, "ratio", flow.ratio, quick=quick,
                                     task="adding", settings=described if first else (),
                                     quick_changes=_changes(("flow_batch",)) if first else (),
                                     pictures=pictures if first else (), measurement="flow", loss=flow.loss))
            rows.append(measured_row(f"{name}: error at the marked steps ÷ at the end", cell,
                                     "geometric mean (X1, X2)", flow.marked, quick=quick, task="adding",
                                     first_marked=flow.first_marked, measurement="flow"))
            first = False
            context.log(f"  {name}: h_1/h_n {flow.ratio:.3g}; at the marks {flow.marked:.3g} "
                        f"(X1 {flow.first_marked:.3g})")
    trained = flows["after training"]
    if "LSTM" in trained and "Elman" in trained:
        for label in ("LSTM", "GRU"):
            if label not in trained:
                continue
            over = trained[label].ratio / trained["Elman"].ratio if trained["Elman"].ratio > 0 else math.inf
            target = (">=", LSTM_OVER_ELMAN) if label == "LSTM" else None
            rows.append(measured_row(f"adding, after training: {label}'s h_1/h_n ratio ÷ the Elman's", label.lower(),
                                     "ratio of ratios", over, quick=quick, task="adding", target=target,
                                     quick_target=target, measurement="flow"))
            context.log(f"  after training, {label}'s ratio ÷ the Elman's: {over:.3g}")
    first = True
    for when in spectra:
        for cell, label in CELLS.items():
            if label in problems:
                continue
            spectrum = spectra[when][label]
            rows.append(measured_row(
                f"Jacobian spectrum, {label} {when}: top exponent", cell, "(1/T) log σ₁ of the product",
                spectrum.top_exponent, quick=quick, task="adding",
                settings=[f"the first {LENGTH} steps of {FULL_MEASURE.spectrum_sequences} sequences of the same batch",
                          "exact one-step Jacobians of the state (h, c for the LSTM), products by the QR recursion"]
                if first else (),
                quick_changes=_changes(("spectrum_sequences",)) if first else (),
                pictures=spectrum_pictures if first else (), measurement="spectrum",
                median_largest=float(np.median(spectrum.largest)),
                median_singular_value=float(np.median(spectrum.singular_values)), state_size=spectrum.state_size))
            first = False
            context.log(f"  Jacobian spectrum, {label} {when}: top exponent {spectrum.top_exponent:+.4f}, median σ₁ "
                        f"{np.median(spectrum.largest):.3f}")
    return rows


# ---- claim 3 -------------------------------------------------------------------------------------

def _exploding_config(settings: MeasureSettings, clip: str, seed: int, steps: int | None):
    from ..config import apply_overrides
    from ..runs import compose_config

    config = compose_config("adding", model="elman_tanh",
                            overrides=[*settings.exploding, f"train.clip={clip}", f"train.seed={seed}"])[0]
    if steps is not None:  # the hidden --steps cap, as runner applies it to runs
        config = apply_overrides(config, [f"train.steps={min(steps, config.train.steps)}",
                                          f"train.eval_every={min(SMOKE_EVAL_EVERY, config.train.eval_every)}",
                                          f"train.eval_size={min(SMOKE_EVAL_SIZE, config.train.eval_size)}"])
    return config


def _exploding_rows(context: Measuring, settings: MeasureSettings) -> list[dict]:
    from .gradient_pictures import plot_exploding

    quick = context.quick
    base = context.folder / ("quick" if quick else "") / "exploding"
    lam = settings.exploding_singular_value
    outcomes: dict[str, list[Outcome]] = {}
    curves = {}
    seeds = range(settings.exploding_seeds)
    for clip in CLIPS:
        outcomes[clip], curves[clip] = [], []
        for seed in seeds:
            config = _exploding_config(settings, clip, seed, context.steps)
            run_dir = base / f"clip_{clip}-seed{seed}"
            outcome = train_exploding(config, run_dir, singular_value=lam)
            outcomes[clip].append(outcome)
            curves[clip].append(learning_curve(run_dir))
        context.log(f"gradients: exploding, clip {clip}: "
                    + ", ".join(f"seed {o.seed}: {'NaN/Inf' if o.diverged else 'finite'}, {o.cliffs} cliff steps, "
                                f"mse {'-' if o.final_mse is None else f'{o.final_mse:.3g}'}" for o in outcomes[clip]))
    config = _exploding_config(settings, "none", 0, context.steps)
    title = (f"Elman from λ₁ = {lam:g}, adding T = {config.task_config.length}, SGD {config.train.lr:g}, "
             f"{len(seeds)} seeds")
    pictures = [context.relative(plot_exploding(curves, context.picture("gradients_exploding"), title=title))]
    described = [f"adding, elman_tanh, W_hh scaled to λ₁ = {lam:g} before the first step", *FULL_MEASURE.exploding,
                 f"seeds 0–{FULL_MEASURE.exploding_seeds - 1}",
                 "train.clip_norm=1 and train.clip_value=1 (the defaults); train.max_bad_steps=10 (the default) "
                 "NaN/Inf steps in a row stop a run",
                 f"a cliff: a step whose training loss is NaN/Inf or above 10 × the lowest before it"]
    targets = EXPLODING_TARGETS
    rows = []
    minutes = {clip: round(sum(o.seconds for o in outcomes[clip]) / 60, 2) for clip in CLIPS}
    for clip in CLIPS:
        mine = outcomes[clip]
        name = f"exploding (λ₁ = {lam:g}), clip {clip}"
        first = clip == CLIPS[0]
        finals = [o.final_mse for o in mine if o.final_mse is not None]
        extra = dict(measurement="exploding", clip=clip,
                     outcomes=[{k: getattr(o, k) for k in ("seed", "steps", "skipped", "stopped", "cliffs",
                                                           "largest_grad_norm", "first_loss", "final_mse")}
                               for o in mine])
        rows.append(measured_row(f"{name}: runs with NaN/Inf steps", "elman_tanh", f"runs of {len(mine)}",
                                 sum(o.diverged for o in mine), quick=quick, task="adding", target=targets[clip],
                                 quick_target=targets[clip], settings=described if first else (),
                                 quick_changes=_changes(("exploding_seeds", "exploding")) if first else (),
                                 pictures=pictures if first else (), minutes=minutes[clip], **extra))
        rows.append(measured_row(f"{name}: runs with loss cliffs", "elman_tanh", f"runs of {len(mine)}",
                                 sum(o.cliffs > 0 for o in mine), quick=quick, task="adding", measurement="exploding"))
        rows.append(measured_row(f"{name}: median final mse", "elman_tanh",
                                 f"mse (of {len(finals)} finished runs)",
                                 float(np.median(finals)) if finals else None, quick=quick, task="adding",
                                 measurement="exploding", skipped=not finals,
                                 note=None if finals else "every run stopped on NaN/Inf steps"))
    return rows


EXPERIMENT = Experiment(
    name="gradients",
    title="Vanishing and exploding gradients (Pascanu, Mikolov & Bengio 2013)",
    description=(
        "Why plain recurrent networks forget, measured. (1) An untrained Elman network (tanh, H = 64, float64) "
        "with W_hh scaled to a largest singular value λ₁: the error ‖∂L/∂h_{T−k}‖ injected at the last step, "
        "against the lag k, and its factor per step back beside Pascanu et al.'s bound γλ₁ (γ = 1 for tanh; "
        "vanishing is guaranteed below 1); the spectral radius ρ is in results.json beside each λ₁. "
        "(2) Elman, LSTM (forget-gate bias 5, input-gate bias −3, the task's recommendation) and GRU trained on "
        "the adding problem at T = 100 (`rnnlab train adding --model CELL --set task.length=100 "
        "model.hidden_size=64`), and their gradient flow on a held-out batch with the task's loss, at "
        "initialisation and after training: ‖∂L/∂h_1‖/‖∂L/∂h_n‖ and the error that reaches the two marked "
        "steps. (3) An Elman network of the same task started at λ₁ = 3 (the regime where the error grows "
        "with the lag) and trained with SGD, without clipping, with norm clipping and with value clipping, "
        "over several seeds: runs that met a NaN/Inf, runs with loss cliffs, final mse. (4) The singular "
        "values of each cell's one-step Jacobians and the top Lyapunov-like exponent of their product. "
        "Rows without a run directory are measurements (no steps of their own; minutes: training time of "
        "the exploding runs)."),
    runs=RUNS,
    quick_note=("Quick mode trains the three cells 150 steps on the full T = 100 (they reach the trivial answer, "
                "mse ≈ 0.042, no lower: the gradient flow after training is that of a network that has begun to "
                "train), sweeps 3 seeds over T = 100, and trains the exploding runs 100 steps (T = 100) over 5 "
                "seeds."),
    measure=measure,
)
