"""The trainer: backpropagation through time over a task's batches, knowing neither task nor model.

Contract with its collaborators (DESIGN.md: "the trainer never knows which task it runs"):

    model(inputs, lengths=, state=) -> (outputs, state)   e.g. models.SequenceClassifier, rnnlab.NTM
                                                           (decoders also take targets=; a model whose
                                                           ``reads_structure`` is true also takes the batch's
                                                           structure=, e.g. parse trees)
                                                           a returned state with an ``auxiliary_loss`` field
                                                           (a scalar, e.g. the history compressor's own
                                                           prediction losses) is trained on with the task's loss
    task.sample(batch_size, generator) -> Batch            training data, all randomness from the generator
                                                           (or a curriculum stage's task's, before its step)
    task.eval_set(size, seed) -> list[Batch]               a fixed held-out set
    task.loss(outputs, batch), task.metrics(outputs, batch)
    task.main_metric, task.main_metric_goal ("min" | "max")
    optional pictures, where they exist:                   written to RUN_DIR/plots after training
        task.figures(outputs, batch, directory) -> [paths], model.figures(batch, directory) -> [paths]

Each step: a fresh batch, forward, loss, backward through time (whole sequences,
or truncated BPTT: chunks of ``tbptt`` steps, the state carried from chunk to chunk
and detached at each boundary, Williams & Peng 1990; with a curriculum, from the
task of the stage the step is in), the gradient norm measured
and clipped, a NaN/Inf guard, the optimizer and schedule steps.  Every
``eval_every`` steps the held-out set is scored and the best checkpoint kept; every
``checkpoint_every`` steps a checkpoint holds everything needed to continue the run
bit for bit (weights, optimizer, schedule, every RNG state, step, the best evaluation);
``resume`` continues from the newest good one.

The run ends at ``steps``, after ``max_minutes``, or early at an evaluation (``stop_when``,
``patience``: training/stopping.py), with a final evaluation, a checkpoint and summary.json
(``stopped`` says which, ``best`` gives the best evaluation).  SIGINT and SIGTERM end it after
the step in progress with a checkpoint and summary.json (``stopped``: "interrupted", no final
evaluation) and raise ``Interrupted`` (training/interrupts.py).  A file that cannot be written
(disk full, read-only) stops it with a one-line ``WriteError``; the last good checkpoint stays.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ..config import ConfigError, TrainConfig, stop_target
from . import algorithms
from . import checkpoint as ckpt
from . import distributed
from .clipping import clip_gradients
from .errors import Interrupted, TrainingError, WriteError, writing
from .interrupts import StopSignals
from .optim import build_optimizer, build_schedule
from .plots import plot_learning_curves
from .stopping import budget_spent, early_stop
from .tensorboard import TensorBoardLog

__all__ = ["Trainer", "TrainingError", "Interrupted"]


@dataclass
class _Progress:
    step: int = 0
    best: float | None = None
    bad_in_a_row: int = 0
    skipped: int = 0
    seconds: float = 0.0  # training time accumulated over all sessions of the run
    best_step: int | None = None  # the step of the best evaluation (of the task's main metric)
    best_metrics: dict | None = None  # its held-out metrics
    since_best: int = 0  # evaluations since the best one (train.patience)
    stopped: str | None = None  # why the run ended (training/stopping.py), None while it runs

    def plain(self) -> dict:
        """What a checkpoint's state.json keeps of the progress (all but the step, which names it)."""
        return {"best": self.best, "bad_in_a_row": self.bad_in_a_row, "skipped": self.skipped,
                "seconds": self.seconds, "best_step": self.best_step, "best_metrics": self.best_metrics,
                "since_best": self.since_best, "stopped": self.stopped}

    @classmethod
    def from_plain(cls, step: int, state: dict) -> _Progress:
        """The progress a checkpoint kept (checkpoints of older versions lack the best evaluation's details)."""
        return cls(step=step, best=state["best"], bad_in_a_row=state["bad_in_a_row"], skipped=state["skipped"],
                   seconds=state["seconds"], best_step=state.get("best_step"), best_metrics=state.get("best_metrics"),
                   since_best=state.get("since_best", 0), stopped=state.get("stopped"))


def _close(*files: tuple[object | None, Path]) -> None:
    """Close the run's open files, given as (file or None, its path).  Closing flushes: a failure is a
    WriteError naming the file's path, unless an exception is already on its way (a full disk that
    stopped the run fails the flush again; the first report is the one to keep)."""
    leaving_on_error = sys.exc_info()[0] is not None
    for file, path in files:
        if file is None:
            continue
        try:
            with writing(path):
                file.close()
        except WriteError:
            if not leaving_on_error:
                raise


class Trainer:
    def __init__(self, model: nn.Module, task, settings: TrainConfig, run_dir: str | Path, *,
                 log: Callable[[str], None] = print, progress_bar: bool | None = None,
                 curriculum: Sequence[tuple[int, object]] = (),
                 monitors: Sequence[Callable[[nn.Module, object], dict[str, float]]] = (),
                 pictures: Sequence[Callable[[nn.Module, object, Path], Path]] = ()) -> None:
        """``curriculum``: (until, task) stages (``runs.build_curriculum`` of ``train.curriculum``):
        a step before ``until`` (counted from 0) trains on the first such stage's task; the
        evaluations always use ``task``.  ``monitors``: functions (model, the first held-out batch)
        -> figures, called at every evaluation and logged beside it in metrics.jsonl (e.g. the
        gradient flow of ``train.gradient_flow``, rnnlab.analysis.monitor).  ``pictures``: functions
        (model, the first held-out batch, directory) -> the file drawn, called by ``figures`` beside the
        task's and the model's own pictures."""
        self.model, self.task, self.settings = model, task, settings
        self.curriculum = list(curriculum)
        self.monitors = list(monitors)
        self.pictures = list(pictures)
        self.run_dir = Path(run_dir)
        self.log = log
        self.progress_bar = progress_bar
        self.optimizer = build_optimizer(model, settings.optimizer, lr=settings.lr, momentum=settings.momentum,
                                         weight_decay=settings.weight_decay)
        self.schedule = build_schedule(self.optimizer, settings.schedule, total_steps=settings.steps,
                                       step_size=settings.schedule_step, gamma=settings.schedule_gamma,
                                       metric_goal=task.main_metric_goal)  # plateau: patience = schedule_step
        self.data = torch.Generator().manual_seed(settings.seed + 1)  # training batches (the same on every rank)
        self.state = _Progress()
        self._eval_set = None
        self.kind = getattr(task, "output_kind", "last")  # the topology: "last", "every", "sequence", "generate"
        self.carried = None  # the recurrent state carried from batch to batch (train.carry_state)
        if settings.carry_state and not getattr(task, "stream", False):
            raise TrainingError(f"train.carry_state carries the state from batch to batch of a stream; the "
                                f"sequences of {type(task).__name__} are independent (set it to false)")
        if settings.carry_state and distributed.world_size() > 1:
            raise TrainingError("train.carry_state is not supported with several processes yet")
        self.main = distributed.is_main()  # only the main process writes logs, checkpoints and plots
        if settings.stop_when is not None:
            self._check_stop_metric()
        algorithm = algorithms.get(settings.algorithm)
        refusal = algorithm.refusal(model, task, settings)
        if refusal:
            raise TrainingError(f"train.algorithm = {settings.algorithm!r}: {refusal}")
        self.algorithm = algorithm(self)  # how a batch turns into updates (algorithms/)
        self.forward = model  # what training steps call: the model, or its DistributedDataParallel wrapper
        if distributed.world_size() > 1:
            device = next(model.parameters()).device
            self.forward = nn.parallel.DistributedDataParallel(
                model, device_ids=[device] if device.type == "cuda" else None)

    # ---- checkpoints ---------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    def save_checkpoint(self, *, best: bool = False) -> Path:
        """Checkpoint the current step (and, with ``best``, mark it as the best), then prune the old ones."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        opt_tensors, opt_plain = ckpt.optimizer_to_flat(self.optimizer)
        tensors.update(opt_tensors)
        tensors["rng.torch"] = torch.get_rng_state()
        tensors["rng.data"] = self.data.get_state()
        if torch.cuda.is_available():
            tensors["rng.cuda"] = torch.cuda.get_rng_state()  # the current device's (dropout on the GPU)
        carried = [] if self.carried is None else [self.carried] if isinstance(self.carried, Tensor) \
            else list(self.carried)
        tensors.update({f"carried.{i}": t for i, t in enumerate(carried)})
        state = {"optimizer": opt_plain, "schedule": self.schedule.state_dict(), **self.state.plain(),
                 "algorithm": self.algorithm.state_dict(),
                 "carried": None if self.carried is None else "tensor" if isinstance(self.carried, Tensor)
                 else len(carried)}
        with writing(self.checkpoint_dir):
            path = ckpt.save(self.checkpoint_dir, self.state.step, tensors, state)
            if best:
                ckpt.mark_best(self.checkpoint_dir, self.state.step)
            ckpt.prune(self.checkpoint_dir, self.settings.keep_checkpoints)
        return path

    def resume(self) -> bool:
        """Continue from the newest good checkpoint; False if there is none.  The log is cut back to the
        checkpoint's step, as the steps after it will be taken again."""
        step = self.load_latest()
        if step is None:
            return False
        if self.main:
            self._truncate_log(step)
        return True

    def load_latest(self) -> int | None:
        """Restore everything from the newest good checkpoint (weights, optimizer, schedule, RNG states,
        progress) and return its step; None if there is none.  Writes nothing."""
        return self._restore(ckpt.load_latest(self.checkpoint_dir, warn=self.log))

    def load_best(self) -> int | None:
        """Restore the best checkpoint (RUN_DIR/checkpoints/best) and return its step; None if there is
        none.  Writes nothing; a best checkpoint that fails its checksum is a CheckpointError."""
        step = ckpt.best_step(self.checkpoint_dir)
        return None if step is None else self._restore(ckpt.load(ckpt.step_dir(self.checkpoint_dir, step)))

    def load_step(self, step: int) -> int:
        """Restore the checkpoint of ``step``; a missing or corrupted one is a CheckpointError."""
        path = ckpt.step_dir(self.checkpoint_dir, step)
        if not path.is_dir():
            kept = ", ".join(map(str, ckpt.steps(self.checkpoint_dir))) or "none"
            raise ckpt.CheckpointError(f"{self.run_dir} has no checkpoint of step {step}; it keeps steps: {kept}")
        return self._restore(ckpt.load(path))

    def _restore(self, found: ckpt.Checkpoint | None) -> int | None:
        if found is None:
            return None
        prefix = "model."
        self.model.load_state_dict({k[len(prefix):]: v for k, v in found.tensors.items() if k.startswith(prefix)})
        ckpt.optimizer_from_flat(self.optimizer, found.tensors, found.state["optimizer"])
        self.schedule.load_state_dict(found.state["schedule"])
        torch.set_rng_state(found.tensors["rng.torch"])
        self.data.set_state(found.tensors["rng.data"])
        if "rng.cuda" in found.tensors and torch.cuda.is_available():
            torch.cuda.set_rng_state(found.tensors["rng.cuda"])
        carried = found.state.get("carried")
        if carried == "tensor":
            self.carried = found.tensors["carried.0"]
        elif carried is not None:  # a tuple of tensors, e.g. LSTM's (h, c), as Recurrent takes it back
            self.carried = tuple(found.tensors[f"carried.{i}"] for i in range(carried))
        self.algorithm.load_state_dict(found.state.get("algorithm", {}))
        self.state = _Progress.from_plain(found.step, found.state)
        self.log(f"loaded {found.path} (step {found.step})")
        return found.step

    def _truncate_log(self, step: int) -> None:
        """Drop metrics.jsonl lines after ``step``: a run killed after its last checkpoint logged steps
        that the resumed run will take again."""
        path = self.run_dir / "metrics.jsonl"
        if not path.exists():
            return
        lines = path.read_text().splitlines(keepends=True)
        kept = []
        for line in lines:
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line)
            except (ValueError, KeyError):  # a line cut short by the kill
                pass
        if len(kept) != len(lines):
            with writing(path):
                ckpt.write_text_atomically(path, "".join(kept))

    # ---- one step ------------------------------------------------------------------------------
    def _prepare(self, batch):
        """The batch on the model's device, floating tensors in its dtype (a float64 model, float64 data), its
        structure (parse trees) too; the lengths stay on the CPU (packing wants them there)."""
        weight = next(self.model.parameters())

        def move(t: Tensor) -> Tensor:  # token ids and class indices keep their integer dtype
            return t.to(weight.device, weight.dtype if t.is_floating_point() else None)

        moved = replace(batch, inputs=move(batch.inputs), targets=move(batch.targets))
        structure = getattr(batch, "structure", None)
        return moved if structure is None else replace(moved, structure=structure.to(weight.device))

    def run(self, batch, state=None, *, train: bool = True):
        """The model on ``batch`` -> (outputs, final state).  Decoders (output kinds "sequence" and
        "generate") also get the targets: teacher forcing in training, their length in evaluation."""
        model = self.forward if train else self.model
        structure = getattr(batch, "structure", None)
        if structure is not None and getattr(self.model, "reads_structure", False):
            return model(batch.inputs, lengths=batch.lengths, state=state, structure=structure)
        if self.kind in ("sequence", "generate"):
            return model(batch.inputs, lengths=batch.lengths, state=state, targets=batch.targets)
        return model(batch.inputs, lengths=batch.lengths, state=state)

    def loss(self, outputs: Tensor, state, batch) -> Tensor:
        """The task's loss of ``outputs``, plus the model's own ``state.auxiliary_loss`` where it has one."""
        loss = self.task.loss(outputs, batch)
        auxiliary = getattr(state, "auxiliary_loss", None)
        return loss if auxiliary is None else loss + auxiliary

    def _update(self, loss: Tensor) -> tuple[float, float, bool]:
        """Apply the gradients now in ``.grad`` (clipped), unless the loss or the gradient is not finite, then
        zero them -> (loss, gradient norm before clipping, applied): the ``update`` of algorithms/base.py."""
        cfg = self.settings
        grad_norm = clip_gradients(self.model.parameters(), cfg.clip, max_norm=cfg.clip_norm,
                                   max_value=cfg.clip_value)
        loss_value = distributed.mean(loss.item())
        applied = math.isfinite(loss_value) and math.isfinite(grad_norm)
        if applied:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_value, grad_norm, applied

    def _training_batch(self):
        """The step's batch, this process's share of it, on the model's device."""
        cfg = self.settings
        if cfg.carry_state:
            batch = self.task.stream_batch(cfg.batch_size, self.state.step, seed=cfg.seed + 1)
        else:
            batch = self.training_task(self.state.step).sample(cfg.batch_size, self.data)
        return self._prepare(distributed.my_slice(batch, cfg.batch_size, self.kind))

    def training_task(self, step: int):
        """The task whose batches train step ``step`` (0-based): its curriculum stage's, else the run's."""
        return next((task for until, task in self.curriculum if step < until), self.task)

    def train_step(self) -> dict:
        """One optimisation step on a fresh batch; returns the logged record."""
        s, cfg = self.state, self.settings
        self.model.train()
        batch = self._training_batch()
        self.optimizer.zero_grad(set_to_none=True)
        updates: list[tuple[float, float, bool]] = []  # (loss, gradient norm, applied) of each update
        outputs, loss = self.algorithm.train_batch(batch, lambda loss: updates.append(self._update(loss)))
        s.step += 1
        # the global batch's loss, the same on every rank (one collective, in the update, under BPTT)
        loss_value = updates[0][0] if len(updates) == 1 else float(loss)
        grad_norm = max((norm for _, norm, _ in updates), default=0.0)  # of several updates, the largest
        finite = math.isfinite(loss_value) and all(applied for _, _, applied in updates)
        if finite:
            if updates and not isinstance(self.schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.schedule.step()
            s.bad_in_a_row = 0
        else:
            self.carried = None  # a non-finite state must not poison the next batches
            s.bad_in_a_row += 1
            s.skipped += 1
            if s.bad_in_a_row >= cfg.max_bad_steps:
                raise TrainingError(f"{s.bad_in_a_row} steps in a row had a non-finite loss or gradient "
                                    f"(last at step {s.step}); stopping with the last good checkpoint kept")
        with torch.no_grad():
            metrics = self.task.metrics(outputs, batch)
        return {"step": s.step, "loss": loss_value, "lr": self.optimizer.param_groups[0]["lr"],
                **({"grad_norm": grad_norm} if updates else {}), "skipped_steps": s.skipped, **self.algorithm.logged(),
                **{f"train_{k}": v for k, v in metrics.items() if k not in ("loss", "count")}}

    # ---- evaluation ----------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """Metrics on the task's held-out set, averaged over sequences."""
        self.model.eval()
        totals: dict[str, float] = {}
        count = 0
        with torch.no_grad():
            for batch in self.held_out():
                m = self.task.metrics(self.run(batch, train=False)[0], batch)
                n = m.pop("count")
                count += n
                for k, v in m.items():
                    totals[k] = totals.get(k, 0.0) + v * n
        return {k: v / count for k, v in totals.items()}

    def held_out(self) -> list:
        """The task's held-out batches, built and moved to the model's device and dtype once."""
        if self._eval_set is None:
            self._eval_set = [self._prepare(b) for b in self.task.eval_set(self.settings.eval_size,
                                                                            seed=self.settings.seed + 2)]
        return self._eval_set

    def _improved(self, value: float) -> bool:
        best = self.state.best
        if best is None:
            return True
        return value < best if self.task.main_metric_goal == "min" else value > best

    # ---- the run -------------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train to the budget or an early stop; returns the summary (the main process also writes
        summary.json).  Raises ``Interrupted`` after SIGINT or SIGTERM, with a checkpoint of the last step."""
        cfg, s = self.settings, self.state
        s.stopped = None
        deadline = None if cfg.max_minutes is None else time.monotonic() + 60 * cfg.max_minutes - s.seconds
        seconds_left = lambda: None if deadline is None else deadline - time.monotonic()  # noqa: E731
        metrics_path = self.run_dir / "metrics.jsonl"
        bar = log_file = board = None
        last_eval: tuple[int, dict] | None = None  # (step, held-out metrics) of the newest evaluation
        with StopSignals() as signals:
            try:
                if self.main:
                    with writing(self.run_dir):
                        self.run_dir.mkdir(parents=True, exist_ok=True)
                        board = TensorBoardLog(self.run_dir, first_step=s.step) if cfg.tensorboard else None
                        log_file = open(metrics_path, "a")
                bar = self._bar()
                started = time.monotonic()
                while (reason := budget_spent(cfg, s.step, seconds_left())) is None:
                    record = self.train_step()
                    s.seconds += time.monotonic() - started
                    started = time.monotonic()
                    record["seconds"] = round(s.seconds, 3)
                    if s.step % cfg.eval_every == 0:
                        metrics = self._evaluate_and_keep_best()
                        last_eval = (s.step, metrics)
                        record.update({f"eval_{k}": v for k, v in metrics.items()})
                        for monitor in self.monitors:
                            record.update(monitor(self.model, self.held_out()[0]))
                        reason = early_stop(cfg, metrics, s.since_best)
                    signum = distributed.largest(signals.requested or 0)  # every rank stops at the same step
                    last = signum or reason or budget_spent(cfg, s.step, seconds_left())
                    if log_file is not None and (s.step % cfg.log_every == 0 or s.step % cfg.eval_every == 0 or last):
                        with writing(metrics_path):
                            log_file.write(json.dumps(record) + "\n")
                            log_file.flush()
                        if board is not None:
                            board.write(record)
                    if s.step % cfg.checkpoint_every == 0 or signum:
                        self._checkpoint_once()
                    if bar is not None:
                        bar.update(1)
                        main = record.get(f"train_{self.task.main_metric}")
                        bar.set_postfix(loss=f"{record['loss']:.4g}", **({self.task.main_metric: f"{main:.3g}"}
                                                                           if main is not None else {}))
                    if signum:
                        s.stopped = "interrupted"
                        self._write_summary(self.summary({}))
                        raise Interrupted(signum, s.step)
                    if reason is not None:
                        break
            finally:
                _close((log_file, metrics_path), (board, self.run_dir / "tensorboard"), (bar, self.run_dir))
            s.stopped = reason
            # an early stop comes right after an evaluation of this very step: no need to score it again
            summary = self.summary(last_eval[1] if last_eval and last_eval[0] == s.step else self.evaluate())
            self._checkpoint_once()
            if self.main:
                self._write_summary(summary)
                with writing(self.run_dir / "plots"):
                    plot_learning_curves(self.run_dir, self.task.main_metric)
                    self.figures()
        return summary

    def _write_summary(self, summary: dict) -> None:
        if self.main:
            path = self.run_dir / "summary.json"
            with writing(path):
                ckpt.write_text_atomically(path, json.dumps(summary, indent=1))

    def figures(self, directory: str | Path | None = None) -> list[Path]:
        """The pictures of the model on the first held-out batch, in ``directory`` (default RUN_DIR/plots):
        the task's own (``task.figures(outputs, batch, directory)``) and the model's (``model.figures(batch,
        directory)``, e.g. the NTM's weightings), where they have them.  Returns the files written; the directory
        is created only when there is something to draw."""
        directory = self.run_dir / "plots" if directory is None else Path(directory)
        task_figures = getattr(self.task, "figures", None)
        model_figures = getattr(self.model, "figures", None)
        if task_figures is None and model_figures is None and not self.pictures:
            return []
        directory.mkdir(parents=True, exist_ok=True)
        self.model.eval()
        batch = self.held_out()[0]
        written = []
        if task_figures is not None:
            with torch.no_grad():
                outputs = self.run(batch, train=False)[0]
            written += task_figures(outputs, batch, directory) or []
        if model_figures is not None:
            written += model_figures(batch, directory) or []
        written += [draw(self.model, batch, directory) for draw in self.pictures]
        return written

    def summary(self, metrics: dict[str, float]) -> dict:
        """The keys of summary.json (and of ``rnnlab eval --json``): progress, how the run stopped, the
        evaluation ``metrics``, and ``best``: the step and metrics of the best evaluation (None before any)."""
        s = self.state
        best = None if s.best_metrics is None else {"step": s.best_step, **s.best_metrics}
        return {"step": s.step, "skipped_steps": s.skipped, "seconds": round(s.seconds, 3), "stopped": s.stopped,
                **metrics, "best": best}

    def _evaluate_and_keep_best(self) -> dict[str, float]:
        """The held-out metrics of this step; a new best is checkpointed and marked (RUN_DIR/checkpoints/best)."""
        s = self.state
        metrics = self.evaluate()
        value = metrics[self.task.main_metric]
        if isinstance(self.schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.schedule.step(value)
        if self._improved(value):
            s.best, s.best_step, s.best_metrics, s.since_best = value, s.step, dict(metrics), 0
            self._checkpoint_once(best=True)
        else:
            s.since_best += 1
        return metrics

    def _check_stop_metric(self) -> None:
        """train.stop_when must name one of the task's metrics: found by scoring the untouched model on two
        sequences from a private generator (the global RNG state and the model's mode are put back)."""
        metric = stop_target(self.settings.stop_when).metric
        rng, training = torch.get_rng_state(), self.model.training
        try:
            self.model.eval()
            batch = self._prepare(self.task.sample(2, torch.Generator().manual_seed(0)))
            with torch.no_grad():
                names = [k for k in self.task.metrics(self.run(batch, train=False)[0], batch) if k != "count"]
        finally:
            torch.set_rng_state(rng)
            self.model.train(training)
        if metric not in names:
            raise ConfigError(f"train.stop_when names {metric!r}, which task {getattr(self.task, 'name', '')} does "
                              f"not measure; its metrics: {', '.join(names)}")

    def _checkpoint_once(self, *, best: bool = False) -> None:
        """A checkpoint of the current step, unless there is one already (main process only); ``best``
        marks it as the best."""
        if not self.main:
            return
        if not ckpt.step_dir(self.checkpoint_dir, self.state.step).exists():
            self.save_checkpoint(best=best)
        elif best:
            with writing(self.checkpoint_dir):
                ckpt.mark_best(self.checkpoint_dir, self.state.step)

    def _bar(self):
        show = self.main and (self.progress_bar if self.progress_bar is not None else os.isatty(2))
        if not show:
            return None
        from tqdm import tqdm

        return tqdm(total=self.settings.steps, initial=self.state.step, unit="step", leave=False)

