"""The measurements behind ``rnnlab reproduce gradients`` (issue 11 §2): numbers only, no rows, no pictures.

Four measurements, each a function of plain settings that returns plain results:

* ``elman_sweep``: an untrained Elman layer (float64) with W_hh scaled to a largest singular value
  λ₁, random inputs, a loss on the last step only, L = Σ_b v·h_T^b with a fixed unit vector v (so
  ‖∂L/∂h_T‖ = 1 for every sequence).  Backpropagation multiplies the error by J_tᵀ =
  (diag(φ′(a_t))·W_hh)ᵀ once per step back, so with γ = max φ′ (1 for tanh)

      ‖∂L/∂h_{t−1}‖ ≤ ‖J_t‖₂·‖∂L/∂h_t‖ ≤ γλ₁·‖∂L/∂h_t‖          (Pascanu, Mikolov & Bengio 2013, §3.2)

  which is checked step by step (``largest_step_ratio``: the largest ratio of successive norms over
  every step and sequence) and on average (``decay_rate``: e^slope of a least-squares line through
  log ‖∂L/∂h_{T−k}‖ against the lag k, the geometric mean factor per step).
* ``adding_flow``: ‖∂L/∂h_t‖ of a model of the adding problem on a held-out batch, with the task's
  own loss (the squared error at each sequence's end), in float64; its ratio ‖∂L/∂h_1‖/‖∂L/∂h_n‖ and
  the error that reaches the two marked steps (X1, X2) against the one at the last step.
* ``cell_spectrum``: the singular values of the one-step Jacobians ∂s_t/∂s_{t−1} (s = h, or (h, c)
  for the LSTM) along held-out sequences and the top Lyapunov-like exponent (1/T)·log σ₁(J_T ··· J_1).
* ``train_exploding``: an Elman network of the adding problem whose W_hh starts at a large λ₁ (the
  chaotic regime, where the error grows with the lag), trained by the ordinary Trainer with the
  configured ``train.clip``; its fate read back from metrics.jsonl: non-finite steps (the Trainer
  skips them, and stops after ``train.max_bad_steps`` in a row), loss cliffs, the final held-out mse.

Everything is seeded: the same settings give the same numbers.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..analysis import (ACTIVATION_SLOPE, gradient_flow, jacobian_spectrum, recurrent_matrices,
                        set_largest_singular_value_, spectral_radius)
from ..layers import Recurrent

_TINY = 1e-290  # norms below this (or 0: underflow) are left out of a fit on a log scale
FLOW_SEED = 20_13  # the held-out batch of the gradient flow and the spectra (not a training or evaluation seed)
CLIFF_FACTOR = 10.0  # a cliff: a training loss above this many times the lowest one before it


# ---- 1. the untrained Elman network against Pascanu's bound ----------------------------------------

@dataclass
class SweepResult:
    """One untrained Elman layer: W_hh scaled to λ₁ = ``singular_value``, one seed."""

    singular_value: float  # λ₁ of W_hh, as set
    seed: int
    spectral_radius: float  # ρ of the same W_hh
    bound: float  # γ·λ₁, Pascanu's bound on the factor of one step back
    by_lag: np.ndarray  # (T,) batch mean of ‖∂L/∂h_{T−k}‖ against the lag k
    largest_ratio: float  # the largest ‖∂L/∂h_{t−1}‖ / ‖∂L/∂h_t‖ over every step and sequence
    rate: float  # the geometric mean factor per step back (``decay_rate`` of by_lag)
    mean_slope: float  # the mean of φ′(a_t) = 1 − h_t² along the trajectories (1: linear; 0: saturated)

    @property
    def grows(self) -> bool:
        """The error grows with the lag: the fitted factor per step is above 1."""
        return self.rate > 1.0


def decay_rate(norms_by_lag) -> float:
    """e^slope of the least-squares line through log ‖∂L/∂h‖ against the lag, over the lags where the
    norm is representable (finite and above 1e-290); NaN with fewer than two such lags."""
    curve = np.asarray(norms_by_lag, dtype=np.float64)
    lags = np.arange(len(curve))
    keep = np.isfinite(curve) & (curve > _TINY)
    if keep.sum() < 2:
        return float("nan")
    slope = np.polyfit(lags[keep], np.log(curve[keep]), 1)[0]
    return float(math.exp(slope))


def largest_step_ratio(per_sequence: torch.Tensor) -> float:
    """The largest ‖∂L/∂h_{t−1}‖ / ‖∂L/∂h_t‖ over steps t and sequences, ``per_sequence`` (T, B) in
    input order, where ‖∂L/∂h_t‖ is representable (the ratio of two underflowed norms means nothing)."""
    earlier, later = per_sequence[:-1], per_sequence[1:]  # (T − 1, B): h_{t−1} and h_t
    keep = later > _TINY
    if not bool(keep.any()):
        return float("nan")
    return float((earlier[keep] / later[keep]).max())


def elman_sweep(singular_values: Sequence[float], seeds: Sequence[int], *, hidden_size: int, steps: int,
                batch_size: int, input_size: int, nonlinearity: str = "tanh") -> list[SweepResult]:
    """``elman_sweep`` of the module docstring: for each seed one Elman layer (torch.nn.RNN's
    initialisation, float64), its W_hh scaled to each λ₁ in turn (the same matrix, only its size
    changes), inputs x_t ~ N(0, 1), the error injected at the last step."""
    gamma = ACTIVATION_SLOPE[nonlinearity]
    results = []
    for seed in seeds:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            base = Recurrent(f"elman_{nonlinearity}", input_size, hidden_size).to(torch.float64)
        data = torch.Generator().manual_seed(seed)
        x = torch.randn(steps, batch_size, input_size, generator=data, dtype=torch.float64)  # (T, B, I)
        readout = torch.randn(hidden_size, generator=data, dtype=torch.float64)
        readout = readout / readout.norm()  # v: ∂L/∂h_T = v, of norm 1
        for value in singular_values:
            layer = copy.deepcopy(base)
            (weight,) = recurrent_matrices(layer).values()
            set_largest_singular_value_(weight, value)
            flow = gradient_flow(layer, x, lambda result: (result[0][-1] @ readout).sum())
            with torch.no_grad():
                outputs, _ = layer(x)  # (T, B, H)
            slope = (1 - outputs.square()).mean() if nonlinearity == "tanh" else (outputs > 0).double().mean()
            by_lag = flow.by_lag().numpy()
            results.append(SweepResult(singular_value=float(value), seed=seed, spectral_radius=spectral_radius(weight),
                                       bound=gamma * float(value), by_lag=by_lag,
                                       largest_ratio=largest_step_ratio(flow.per_sequence),
                                       rate=decay_rate(by_lag), mean_slope=float(slope)))
    return results


# ---- 2. gradient flow of a model of the adding problem ---------------------------------------------

@dataclass
class AddingFlow:
    by_lag: np.ndarray  # (K,) batch mean of ‖∂L/∂h_{n−k}‖, k = 0 … K − 1 (K: the shortest sequence's length)
    ratio: float  # ‖∂L/∂h_1‖ / ‖∂L/∂h_n‖ (batch means; GradientFlow.ratio)
    marked: float  # geometric mean over sequences and both marks of ‖∂L/∂h‖ at the mark ÷ at the last step
    first_marked: float  # the same at X1 alone (one of the first ten steps: the longest lag)
    loss: float  # the task's loss on the batch


def held_out_batch(task, size: int, seed: int = FLOW_SEED):
    """A batch of ``task`` drawn from its own generator seeded with ``seed`` (not the training data)."""
    return task.sample(size, torch.Generator().manual_seed(seed))


def adding_flow(model: torch.nn.Module, task, batch) -> AddingFlow:
    """``adding_flow`` of the module docstring; ``model`` is left as it is (a float64 copy is measured)."""
    model = copy.deepcopy(model).to(torch.float64)
    batch = dataclasses.replace(batch, inputs=batch.inputs.to(torch.float64), targets=batch.targets.to(torch.float64))
    inputs = batch.inputs  # (T_max, B, 2): (value, marker)
    flow = gradient_flow(model, inputs, lambda result: task.loss(result[0], batch), lengths=batch.lengths)
    per = flow.per_sequence  # (T_max, B), input order
    lengths = batch.lengths.long()
    last = per[lengths - 1, torch.arange(per.shape[1])]  # (B,) ‖∂L/∂h_n‖
    marks = inputs[:, :, 1] == 1.0  # (T_max, B): X1 and X2
    at_marks = per[marks] / last.expand_as(per)[marks]  # both marks of every sequence
    first = marks.float().argmax(0)  # (B,) the earlier mark: X1, among the first ten steps
    at_first = per[first, torch.arange(per.shape[1])] / last
    shortest = int(lengths.min())
    return AddingFlow(by_lag=flow.by_lag()[:shortest].numpy(), ratio=flow.ratio(), marked=_geometric_mean(at_marks),
                      first_marked=_geometric_mean(at_first), loss=flow.loss)


def _geometric_mean(values: torch.Tensor) -> float:
    values = values.to(torch.float64)
    if bool((values <= 0).any()):
        return 0.0
    return float(values.log().mean().exp())


def trained_model(run_dir: str | Path):
    """(the run's model with its latest checkpoint, its task): ``rnnlab eval``'s way of loading a run."""
    from .. import runs
    from ..training.trainer import Trainer

    config = runs.load_config(run_dir)
    task = runs.build_task(config)
    trainer = Trainer(runs.build_model(config, task), task, config.train, run_dir, log=lambda line: None,
                      progress_bar=False)
    runs.load_checkpoint(trainer, "latest")
    return trainer.model.eval(), task


def initial_model(run_dir: str | Path):
    """(the run's model as it was before its first step, its task): rebuilt from config.json, whose
    train.seed fixes the initial weights."""
    from .. import runs

    config = runs.load_config(run_dir)
    task = runs.build_task(config)
    return runs.build_model(config, task).eval(), task


# ---- 4. one-step Jacobian spectra ------------------------------------------------------------------

@dataclass
class CellSpectrum:
    singular_values: np.ndarray  # every σ_i of every one-step Jacobian (T·B·n,)
    largest: np.ndarray  # (T·B,) σ₁ of each one-step Jacobian
    top_exponent: float  # mean over sequences of (1/T) log σ₁(J_T ··· J_1), natural log, per step
    state_size: int  # n: H, or 2H for the LSTM's (h, c)


def cell_spectrum(model: torch.nn.Module, batch, *, steps: int, sequences: int) -> CellSpectrum:
    """The spectra of the model's (first) recurrent layer along the first ``steps`` inputs of the first
    ``sequences`` sequences of ``batch`` (all of them real steps: steps ≤ the shortest length)."""
    from ..analysis.gradient_flow import recurrent_stacks

    (_, layer), *_ = recurrent_stacks(model)
    x = batch.inputs[:steps, :sequences].to(torch.float64)  # (T, B, H_in)
    spectrum = jacobian_spectrum(layer, x)
    values = spectrum.singular_values  # (T, B, n)
    return CellSpectrum(singular_values=values.flatten().numpy(), largest=values[..., 0].flatten().numpy(),
                        top_exponent=float(spectrum.top_exponent().mean()), state_size=values.shape[-1])


# ---- 3. exploding gradients: training from a large λ₁ with and without clipping ---------------------

@dataclass
class Outcome:
    """What became of one training run of ``train_exploding``."""

    clip: str
    seed: int
    steps: int  # steps taken
    skipped: int  # steps with a non-finite loss or gradient (skipped by the Trainer)
    stopped: str  # "steps", or "non-finite" when max_bad_steps in a row stopped the run
    first_loss: float  # the training loss of the first step: the untrained network's
    cliffs: int  # steps whose training loss rose above CLIFF_FACTOR × the lowest before it
    largest_grad_norm: float  # before clipping (inf where it overflowed)
    final_mse: float | None  # held-out mse at the end; None when the run was stopped
    seconds: float

    @property
    def diverged(self) -> bool:
        """A NaN or Inf loss or gradient at some step (skipped, or the run stopped on them)."""
        return self.skipped > 0 or self.stopped == "non-finite"


OUTCOME = "outcome.json"  # in the run directory: the Outcome and the configuration that produced it


def train_exploding(config, run_dir: str | Path, *, singular_value: float,
                    log: Callable[[str], None] = lambda line: None) -> Outcome:
    """Train ``config`` (an Elman network's) into ``run_dir`` after scaling its W_hh to λ₁ =
    ``singular_value``.  A directory holding the Outcome of the same configuration is read instead; one
    holding an unfinished or different run of this function is trained again from scratch."""
    from .. import runs
    from ..training import checkpoint as ckpt
    from ..training.trainer import Trainer, TrainingError

    run_dir = Path(run_dir)
    wanted = {"config": config.to_dict(), "singular_value": singular_value}
    saved = _read_json(run_dir / OUTCOME)
    if saved is not None and _same_run(saved.get("made_by"), wanted):
        return Outcome(**saved["outcome"])
    if run_dir.exists():
        if not (run_dir / "config.json").is_file():
            raise runs.RunError(f"{run_dir} holds something else than an exploding-gradient run; remove it or give "
                                f"another --out")
        shutil.rmtree(run_dir)
    task = runs.build_task(config)
    model = runs.build_model(config, task)
    for weight in recurrent_matrices(model).values():
        set_largest_singular_value_(weight, singular_value)
    run_dir.mkdir(parents=True)
    ckpt.write_text_atomically(run_dir / "config.json", json.dumps(config.to_dict(), indent=1) + "\n")
    trainer = Trainer(model, task, config.train, run_dir, log=log, progress_bar=False)
    try:
        summary = trainer.fit()
        stopped, final = "steps", summary["mse"]
    except TrainingError as error:
        log(f"{run_dir.name}: {error}")
        stopped, final = "non-finite", None
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    losses = [r["loss"] for r in records if "loss" in r]
    grads = [r["grad_norm"] for r in records if "grad_norm" in r]
    outcome = Outcome(clip=config.train.clip, seed=config.train.seed, steps=trainer.state.step,
                      skipped=trainer.state.skipped, stopped=stopped, first_loss=losses[0] if losses else float("nan"),
                      cliffs=count_cliffs(losses), largest_grad_norm=max(grads, default=float("nan")),
                      final_mse=final, seconds=round(trainer.state.seconds, 3))
    ckpt.write_text_atomically(run_dir / OUTCOME, json.dumps({"made_by": wanted, "outcome": asdict(outcome)},
                                                             indent=1) + "\n")
    return outcome


def _same_run(saved, wanted: dict) -> bool:
    """Whether an outcome.json's ``made_by`` is the run ``wanted``: its configuration read back as
    ``rnnlab eval`` reads config.json (settings added to rnnlab since take their defaults) equals it."""
    from ..config import ConfigError, RunConfig

    if not isinstance(saved, dict) or saved.get("singular_value") != wanted["singular_value"]:
        return False
    try:
        return RunConfig.from_dict(saved["config"]).to_dict() == wanted["config"]
    except (ConfigError, KeyError, TypeError, ValueError):
        return False


def count_cliffs(losses: Sequence[float], factor: float = CLIFF_FACTOR) -> int:
    """Steps whose loss is non-finite or above ``factor`` × the lowest finite loss before it."""
    lowest, cliffs = math.inf, 0
    for loss in losses:
        if not math.isfinite(loss) or loss > factor * lowest:
            cliffs += 1
        if math.isfinite(loss):
            lowest = min(lowest, loss)
    return cliffs


def learning_curve(run_dir: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, training losses, gradient norms before clipping) of a run's metrics.jsonl (NaN/Inf kept)."""
    records = [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
               if line.strip()]
    records = [r for r in records if "loss" in r and "grad_norm" in r]
    return (np.array([r["step"] for r in records]), np.array([r["loss"] for r in records], dtype=np.float64),
            np.array([r["grad_norm"] for r in records], dtype=np.float64))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
