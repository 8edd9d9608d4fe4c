"""The measurements behind ``rnnlab reproduce learning`` (issue 12 §3): numbers only, no rows, no pictures.

Every measurement drives rnnlab's own pieces (a ``Trainer`` built by ``runs`` from a configuration, its
learning algorithm, its task), the way ``rnnlab train`` would, and returns plain results:

* ``gradient_agreement``: the gradient one batch gives under a learning algorithm (RTRL, UORO, SnAp-1),
  against BPTT's on the same weights and data, in float64: the largest entry of |g − g_BPTT| over the
  largest entry of |g_BPTT| (a relative difference that near-zero entries cannot inflate).  UORO's
  estimate is averaged over K draws (its training steps 0 … K − 1) first.
* ``measure_cost``: the wall time per step and the peak memory of one training batch of T steps of an
  Elman network of n units (N→1, ``two_sequence`` with every length T, one sequence), under an algorithm,
  each configuration in a fresh process forked from a clean helper process (``serve``).  Time: a first
  pass over the batch, with glibc's allocator as any process has it.  Memory: a second pass over the same
  batch, the growth of the process's resident set (Linux's VmHWM, reset through /proc/self/clear_refs just
  before it, minus VmRSS then), with glibc's mmap threshold fixed at 64 KiB (large tensors are mapped fresh
  and unmapped when freed) and the free heap given back first (malloc_trim): it counts everything torch and
  Python allocate for the batch (autograd's graph, the sensitivities, transient Jacobians), not only the
  tensors an algorithm names, and heap that fragmentation leaves unused within the batch too.  Resolution:
  a few hundred KB.  ``tracemalloc`` would see none of torch's allocations.
* ``online_curve``: one learner on a stream of ``delayed_recall``: the online algorithms (``train.online``)
  read the whole stream as one batch, updating after every step; truncated BPTT reads it in pieces of k
  steps with the state carried between them (``train.carry_state``), one update a piece.  The curve is
  prequential: each step's answer is the one the network gave before learning from that step.
* ``guess_trials``: random weight guessing (``train.algorithm = guess``) until the held-out set is solved;
  the trials counted, the solution then scored on a fresh test set.
* ``sequences_until_solved``: a gradient learner (BPTT) on the same problem, held-out accuracy checked
  every few steps: the training sequences it read until it solved the held-out set.

Everything is seeded: the same settings give the same numbers (timings and memory aside).
"""

from __future__ import annotations

import atexit
import ctypes
import dataclasses
import gc
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter: setting it fixes the threshold (no dynamic raise)
_MMAP_THRESHOLD = 64 * 1024  # allocations from this size on are mapped fresh and unmapped when freed
_UNUSED_DIR = "learning-measure"  # a Trainer wants a run directory; these measurements never write to it


def trainer_for(task: str, cell: str, overrides: Sequence[str], folder: str | Path = "."):
    """A Trainer of ``rnnlab train TASK --model CELL --set OVERRIDES`` (the task's recommendations first), as
    ``runs`` builds it; nothing is written (its run directory, under ``folder``, is never created)."""
    from .. import runs
    from ..training.trainer import Trainer

    config = runs.compose_config(task, model=cell, overrides=list(overrides))[0]
    built = runs.build_task(config)
    model = runs.build_model(config, built)
    return Trainer(model, built, config.train, Path(folder) / _UNUSED_DIR, log=lambda line: None, progress_bar=False)


def _in_model_dtype(trainer, batch):
    """The batch's floating tensors in the model's dtype (a float64 model reads float64 data)."""
    dtype = next(trainer.model.parameters()).dtype
    return dataclasses.replace(batch, inputs=batch.inputs.to(dtype), targets=batch.targets.to(dtype)
                               if batch.targets.is_floating_point() else batch.targets)


# ---- 1. RTRL = BPTT ---------------------------------------------------------------------------------

def batch_gradient(trainer, batch, *, step: int = 0) -> dict[str, torch.Tensor]:
    """The gradient that ``trainer``'s algorithm computes on ``batch`` (as training step ``step``: the
    random draws of UORO depend on it), read at its ``update`` call instead of applied; the weights stay."""
    captured: dict[str, torch.Tensor] = {}

    def capture(loss) -> None:
        for name, p in trainer.model.named_parameters():
            captured[name] = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
            p.grad = None

    trainer.model.zero_grad(set_to_none=True)
    trainer.state.step = step
    trainer.algorithm.train_batch(batch, capture)
    if not captured:
        raise RuntimeError(f"{trainer.settings.algorithm} made no update on the batch")
    return captured


def relative_difference(gradient: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> float:
    """max |g − g_ref| over every entry of every parameter, divided by max |g_ref| over the same."""
    scale = max(float(r.abs().max()) for r in reference.values())
    gap = max(float((gradient[name] - r).abs().max()) for name, r in reference.items())
    return gap / scale if scale > 0 else math.inf


@dataclass
class Agreement:
    """One cell on one task: the relative differences of each algorithm's gradient from BPTT's."""

    cell: str
    task: str
    differences: dict[str, float]  # algorithm -> relative difference (uoro: of the mean of `draws` estimates)
    draws: int  # UORO estimates averaged
    single_uoro: float | None  # the relative difference of one UORO estimate (its first)
    gradient_norm: float  # ‖g_BPTT‖ (all parameters)
    parameters: int


def gradient_agreement(cell: str, task: str, overrides: Sequence[str], *, algorithms: Sequence[str],
                       batch_size: int, uoro_draws: int = 0, seed: int = 0) -> Agreement:
    """Each of ``algorithms``' gradient on one batch of ``task`` (float64, the same weights: the same
    train.seed) against BPTT's (the layer's fast path where it has one)."""
    common = [*overrides, "model.dtype=float64", f"train.seed={seed}", f"train.batch_size={batch_size}"]
    reference_trainer = trainer_for(task, cell, common)
    data = reference_trainer.task.sample(batch_size, torch.Generator().manual_seed(seed + 11))
    batch = _in_model_dtype(reference_trainer, data)
    reference = batch_gradient(reference_trainer, batch)
    differences, single = {}, None
    for algorithm in algorithms:
        trainer = trainer_for(task, cell, [*common, f"train.algorithm={algorithm}"])
        if algorithm == "uoro":
            estimates = [batch_gradient(trainer, batch, step=k) for k in range(max(uoro_draws, 1))]
            single = relative_difference(estimates[0], reference)
            mean = {name: sum(e[name] for e in estimates) / len(estimates) for name in reference}
            differences[algorithm] = relative_difference(mean, reference)
        else:
            differences[algorithm] = relative_difference(batch_gradient(trainer, batch), reference)
    norm = float(torch.sqrt(sum(g.square().sum() for g in reference.values())))
    return Agreement(cell=cell, task=task, differences=differences, draws=max(uoro_draws, 1) if "uoro" in algorithms
                     else 0, single_uoro=single, gradient_norm=norm,
                     parameters=sum(g.numel() for g in reference.values()))


# ---- 2. cost: time and memory per step ----------------------------------------------------------------

@dataclass
class Cost:
    """One training batch of T steps under an algorithm, an Elman network of n units."""

    algorithm: str
    units: int  # n
    steps: int  # T
    seconds_per_step: float
    peak_bytes: int  # growth of the resident set during the batch (see the module docstring)
    parameters: int  # P: weights of the recurrent layer
    kept_floats: int  # what the algorithm keeps by its equations (the theory column): see ``kept_floats``


def kept_floats(algorithm: str, units: int, steps: int, parameters: int) -> int:
    """The numbers an algorithm must keep for one sequence by its equations: BPTT the T states (n·T; the
    activations it also saves are a few times that), RTRL the sensitivity M (n·P), UORO its two factors
    (n + P), SnAp-1 one number a weight for the Elman network (P)."""
    return {"bptt": units * steps, "rtrl": units * parameters, "uoro": units + parameters,
            "snap1": parameters}[algorithm]


def _resident() -> dict[str, int]:
    """VmRSS and VmHWM (the peak since the last reset) of this process, in bytes (Linux)."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM")}


def _cost_in_this_process(algorithm: str, units: int, steps: int, cell: str = "elman_tanh", seed: int = 0) -> Cost:
    """``measure_cost`` inside the child process: build, warm up on a short batch, time the batch (glibc's
    allocator as every process has it), then measure its memory on a second pass over the same batch (the mmap
    threshold fixed, the heap trimmed, the peak reset)."""
    from ..layers import Recurrent

    torch.set_num_threads(1)
    trainer = trainer_for("two_sequence", cell, [f"task.min_length={steps}", f"task.max_length={steps}",
                                                 "task.relevant=1", f"model.hidden_size={units}",
                                                 "train.batch_size=1", f"train.algorithm={algorithm}",
                                                 f"train.seed={seed}"])
    task = trainer.task
    apply = lambda loss: trainer.model.zero_grad(set_to_none=True)  # noqa: E731  the gradient's cost, not the optimizer's
    warm = task.sample(1, torch.Generator().manual_seed(seed + 1))
    trainer.algorithm.train_batch(dataclasses.replace(warm, inputs=warm.inputs[: min(steps, 2)]), apply)
    batch = task.sample(1, torch.Generator().manual_seed(seed))
    started = time.perf_counter()
    trainer.algorithm.train_batch(batch, apply)
    seconds = time.perf_counter() - started
    try:  # large blocks mapped fresh and unmapped when freed, the free heap given back: growth is what the batch holds
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    except (OSError, AttributeError):  # not glibc: the resident set is still measured, with more fragments
        libc = None
    gc.collect()
    if libc is not None:
        libc.malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := VmRSS
    before = _resident()["VmRSS"]
    trainer.algorithm.train_batch(batch, apply)
    peak = _resident()["VmHWM"] - before
    layer = next(m for m in trainer.model.modules() if isinstance(m, Recurrent))
    parameters = sum(p.numel() for p in layer.parameters())
    return Cost(algorithm=algorithm, units=units, steps=steps, seconds_per_step=seconds / steps, peak_bytes=peak,
                parameters=parameters, kept_floats=kept_floats(algorithm, units, steps, parameters))


_HELPER: subprocess.Popen | None = None  # the clean process that forks one child per configuration


def measure_cost(algorithm: str, units: int, steps: int, *, cell: str = "elman_tanh", seed: int = 0) -> Cost:
    """Time per step and peak memory of one batch (the module docstring), in a fresh child process forked
    from a helper that has imported torch and rnnlab and run nothing (so the fork is safe and every child
    starts from the same clean state)."""
    global _HELPER
    if _HELPER is None or _HELPER.poll() is not None:
        environment = {**os.environ, "OMP_NUM_THREADS": "1"}
        _HELPER = subprocess.Popen([sys.executable, "-c", f"from {__name__} import serve; serve()"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment)
        atexit.register(_stop_helper)
    request = dict(algorithm=algorithm, units=units, steps=steps, cell=cell, seed=seed)
    _HELPER.stdin.write(json.dumps(request) + "\n")
    _HELPER.stdin.flush()
    answer = _HELPER.stdout.readline()
    if not answer:
        raise RuntimeError(f"the cost measurement's helper process ended (exit code {_HELPER.wait()})")
    result = json.loads(answer)
    if "error" in result:
        raise RuntimeError(f"measuring {request}: {result['error']}")
    return Cost(**result["cost"])


def _stop_helper() -> None:
    if _HELPER is not None and _HELPER.poll() is None:
        _HELPER.stdin.close()
        _HELPER.wait(timeout=10)


def serve() -> None:
    """The helper process of ``measure_cost``: one JSON request a line on stdin; for each, fork a child that
    measures (``_cost_in_this_process``) and sends back one JSON line, which is written to stdout."""
    from .. import runs  # noqa: F401  (imported once here, inherited by every child)

    for line in sys.stdin:
        request = json.loads(line)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: measure, answer, leave without running the parent's exit handlers
            os.close(read)
            try:
                result = {"cost": dataclasses.asdict(_cost_in_this_process(**request))}
            except BaseException as error:  # noqa: BLE001  (reported to the parent, which raises it)
                result = {"error": f"{type(error).__name__}: {error}"}
            with os.fdopen(write, "w") as out:
                out.write(json.dumps(result))
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as answer:
            text = answer.read()
        os.waitpid(pid, 0)
        sys.stdout.write((text or json.dumps({"error": "the measuring process died"})) + "\n")
        sys.stdout.flush()


def growth_per_step(costs: Sequence[Cost]) -> float:
    """Bytes of peak memory per extra step: the least-squares slope of peak memory against T."""
    steps = np.array([c.steps for c in costs], dtype=np.float64)
    peaks = np.array([c.peak_bytes for c in costs], dtype=np.float64)
    if len(set(steps)) < 2:
        return float("nan")
    return float(np.polyfit(steps, peaks, 1)[0])


def exponent(costs: Sequence[Cost]) -> float:
    """The measured exponent a of time per step ∝ n^a: the slope of log time against log n."""
    units = np.log([c.units for c in costs])
    seconds = np.log([c.seconds_per_step for c in costs])
    if len(set(units)) < 2:
        return float("nan")
    return float(np.polyfit(units, seconds, 1)[0])


# ---- 3. online learning on a stream -----------------------------------------------------------------

@dataclass
class OnlineResult:
    """One learner's pass over a stream of ``delayed_recall``."""

    label: str
    correct: np.ndarray  # (T,) fraction of the B streams answered right at each step (NaN: not scored)
    seconds: float
    updates: int
    held_out_accuracy: float  # the final network on fresh streams (state from zero, nothing learnt)


def online_curve(label: str, cell: str, overrides: Sequence[str], *, stream_steps: int, truncation: int | None,
                 evaluation_streams: int, evaluation_length: int, seed: int = 0) -> OnlineResult:
    """``label``'s pass over ``stream_steps`` steps of ``delayed_recall`` (``overrides`` give the delay, the
    model, the algorithm and its rate).  ``truncation`` None: an online algorithm (``train.online``), the
    stream as one batch; k: truncated BPTT, pieces of k steps with the state carried."""
    if truncation is None:
        extra = [f"task.length={stream_steps}", "train.online=true"]
        batches = 1
    else:
        if stream_steps % truncation:
            raise ValueError(f"the stream's {stream_steps} steps must be a whole number of pieces of {truncation}")
        extra = [f"task.length={truncation}", "train.carry_state=true", "train.algorithm=bptt"]
        batches = stream_steps // truncation
    trainer = trainer_for("delayed_recall", cell, [*overrides, *extra, f"train.seed={seed}"])
    seen: list[tuple[torch.Tensor, object]] = []
    learn = trainer.algorithm.train_batch
    updates = 0

    def recording(batch, update):  # what the network answered, before each step's update
        nonlocal updates

        def counted(loss):
            nonlocal updates
            updates += 1
            update(loss)

        outputs, loss = learn(batch, counted)
        seen.append((outputs, batch.targets))
        return outputs, loss

    trainer.algorithm.train_batch = recording
    started = time.perf_counter()
    for _ in range(batches):
        trainer.train_step()
    seconds = time.perf_counter() - started
    outputs = torch.cat([o for o, _ in seen])[..., 0]  # (T, B) logits
    targets = torch.cat([t for _, t in seen])  # (T, B, 2): bit, scored
    right = ((outputs > 0) == (targets[..., 0] == 1)).double()
    right[targets[..., 1] != 1] = float("nan")
    correct = right.mean(dim=1).numpy()  # (T,), NaN where unscored
    return OnlineResult(label=label, correct=correct, seconds=seconds, updates=updates,
                        held_out_accuracy=held_out_accuracy(trainer.model, trainer.task, evaluation_streams,
                                                            evaluation_length, seed))


def held_out_accuracy(model, task, streams: int, length: int, seed: int) -> float:
    """The accuracy of ``model`` on ``streams`` fresh streams of ``length`` steps of ``task``'s rule and delay."""
    from .. import tasks

    fresh = tasks.create(task.name, dataclasses.replace(task.config, length=length))
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in fresh.eval_set(streams, seed=seed + 7):
            dtype = next(model.parameters()).dtype
            outputs, _ = model(batch.inputs.to(dtype))
            metrics = fresh.metrics(outputs, batch)
            total += metrics["accuracy"] * metrics["count"]
            count += metrics["count"]
    model.train()
    return total / count


def window_accuracy(correct: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(the end step of each window, the accuracy over its scored steps): the learning curve of ``correct``."""
    ends, values = [], []
    for start in range(0, len(correct), window):
        chunk = correct[start : start + window]
        chunk = chunk[~np.isnan(chunk)]
        if len(chunk):
            ends.append(start + window)
            values.append(float(chunk.mean()))
    return np.array(ends), np.array(values)


def final_accuracy(correct: np.ndarray, fraction: float) -> float:
    """The accuracy over the last ``fraction`` of the stream's scored steps."""
    tail = correct[int(len(correct) * (1 - fraction)):]
    tail = tail[~np.isnan(tail)]
    return float(tail.mean()) if len(tail) else float("nan")


def steps_to_reach(correct: np.ndarray, window: int, target: float) -> int | None:
    """The first step at which the accuracy over the ``window`` steps before it reaches ``target``; None if never."""
    values = np.nan_to_num(correct, nan=0.0)
    scored = (~np.isnan(correct)).astype(np.float64)
    sums, counts = np.cumsum(values), np.cumsum(scored)
    for end in range(window, len(correct) + 1):
        n = counts[end - 1] - (counts[end - window - 1] if end > window else 0)
        s = sums[end - 1] - (sums[end - window - 1] if end > window else 0)
        if n > 0 and s / n >= target:
            return end
    return None


# ---- 4. weight guessing and the gradient learners on the same problems ----------------------------------

@dataclass
class Guessing:
    """One seed of random weight guessing on a problem."""

    seed: int
    trials: int  # parameter draws until the held-out set was solved (all of them when it was not)
    solved: bool
    test_accuracy: float | None  # the solution on a fresh test set of the same size (None: not solved)
    seconds: float


def guess_trials(task: str, cell: str, overrides: Sequence[str], *, seed: int, max_trials: int,
                 test_seed: int = 1_000_003) -> Guessing:
    """Random weight guessing (``train.algorithm = guess``, ``overrides`` with the range, the draws per step,
    the held-out size and ``train.stop_when``) until the held-out set is solved or ``max_trials`` are spent."""
    trainer = trainer_for(task, cell, [*overrides, "train.algorithm=guess", f"train.seed={seed}"])
    guesser = trainer.algorithm
    started = time.perf_counter()
    while not guesser.solved and guesser.trials < max_trials:
        trainer.train_step()
    seconds = time.perf_counter() - started
    test = None
    if guesser.solved:
        test = _accuracy(trainer, trainer.task.eval_set(trainer.settings.eval_size, seed=test_seed + seed))
    return Guessing(seed=seed, trials=guesser.trials, solved=guesser.solved, test_accuracy=test, seconds=seconds)


def _accuracy(trainer, batches) -> float:
    model, task = trainer.model.eval(), trainer.task
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            metrics = task.metrics(model(batch.inputs, lengths=batch.lengths)[0], batch)
            total += metrics["accuracy"] * metrics["count"]
            count += metrics["count"]
    return total / count


@dataclass
class GradientLearning:
    """One seed of a gradient learner on a problem."""

    seed: int
    solved: bool
    sequences: int  # training sequences read until the held-out set was solved (all of them when not)
    steps: int
    held_out_accuracy: float  # at the end
    seconds: float


def sequences_until_solved(task: str, cell: str, overrides: Sequence[str], *, seed: int, max_steps: int,
                           check_every: int) -> GradientLearning:
    """Train (``overrides`` with train.algorithm, the rate, the batch size) and score the held-out set every
    ``check_every`` steps until every held-out sequence is right or ``max_steps`` are taken."""
    trainer = trainer_for(task, cell, [*overrides, f"train.seed={seed}"])
    started = time.perf_counter()
    accuracy, solved = 0.0, False
    while trainer.state.step < max_steps:
        trainer.train_step()
        if trainer.state.step % check_every == 0 or trainer.state.step == max_steps:
            accuracy = trainer.evaluate()["accuracy"]
            if accuracy >= 1.0:
                solved = True
                break
    return GradientLearning(seed=seed, solved=solved, sequences=trainer.state.step * trainer.settings.batch_size,
                            steps=trainer.state.step, held_out_accuracy=accuracy,
                            seconds=time.perf_counter() - started)


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile) of ``values``."""
    q1, median, q3 = np.percentile(np.asarray(values, dtype=np.float64), [25, 50, 75])
    return float(q1), float(median), float(q3)
