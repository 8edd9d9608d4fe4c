"""A run composed from its configuration: task + model + trainer, and its directory.

Shared by the command line (``rnnlab train``, ``rnnlab eval``), the reproductions and
the tests.  A run directory (DESIGN.md, contract):

    RUN_DIR/config.json     the fully resolved configuration (every default written out)
    RUN_DIR/metrics.jsonl   one JSON object per logged step
    RUN_DIR/summary.json    final evaluation metrics (same keys as `rnnlab eval --json`)
    RUN_DIR/checkpoints/    weights and trainer state, written atomically; checkpoints/best: the best evaluation's
    RUN_DIR/plots/          learning curves and pictures; plots/eval-<overrides>/ from `rnnlab eval --plots`
    RUN_DIR/.lock           held (fcntl.flock) by the one process that trains in the directory

A run's configuration is composed here (``compose_config``): the package defaults, then the
task's recommendations for the model (``Task.recommended``), then ``--config``, then ``--set``,
then the flags.  ``resumed_config`` is the recorded configuration with the command's settings:
a resumed run may change its budget and other ``train.*`` settings, and repeat any other
setting at its recorded value, not change it.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

from . import tasks
from .analysis import cell_activity, compressor_view, monitor, tree_view
from .config import (TREE_MODELS, ConfigError, RunConfig, apply_overrides, collect_settings,
                     curriculum_task_configs, explain_config, format_override, format_value, one_line)
from .memory import NTM
from .models import (HistoryCompressor, LanguageModel, Seq2Seq, SequenceClassifier, SequenceGenerator,
                     SequenceTagger)
from .training import checkpoint as ckpt
from .training import distributed, tensorboard
from .training.errors import Interrupted, writing
from .training.lock import LOCK_FILE, LockedError, RunLock, check_free
from .training.trainer import Trainer

CHECKPOINTS = ("latest", "best")  # what --checkpoint takes, besides a step number


class RunError(RuntimeError):
    """A run directory that cannot be used as asked; the message says why."""


def compose_config(task: str, *, model: str | None = None, config_file: str | Path | None = None,
                   overrides: Sequence[str] = (), steps: int | None = None, seed: int | None = None,
                   device: str | None = None) -> tuple[RunConfig, dict[str, str]]:
    """The configuration of ``rnnlab train TASK ...`` and where each value came from: the package
    defaults, then the task's recommendations for the model (``Task.recommendations``), then the
    file, the overrides and the flags (config.explain_config)."""
    try:
        recommended = tasks.get(task).recommendations
    except ValueError as error:
        raise ConfigError(one_line(error)) from None
    return explain_config(task, model=model, config_file=config_file, overrides=overrides, steps=steps, seed=seed,
                          device=device, recommended=recommended, recommended_by=f"recommended by task {task}")


def default_run_dir(config: RunConfig) -> Path:
    """runs/TASK-MODEL-seedS, where ``rnnlab train`` writes without --out."""
    return Path("runs") / f"{config.task}-{config.model.name}-seed{config.train.seed}"


def build_task(config: RunConfig):
    """The configured task; a bad task setting is a ConfigError (one line for the command line)."""
    return _create_task(config.task, config.task_config)


def _create_task(name: str, task_config, where: str = ""):
    """tasks.create, its errors as a one-line ConfigError that starts with ``where``."""
    try:
        return tasks.create(name, task_config)
    except (ValueError, TypeError) as error:
        raise ConfigError(where + one_line(error)) from None


def build_curriculum(config: RunConfig, task) -> list[tuple[int, tasks.Task]]:
    """(until, the stage's task) for every stage of train.curriculum; a stage must leave the model's
    inputs and outputs as they are (``task``'s), and a bad setting is a ConfigError."""
    stages = []
    for index, (until, task_config) in enumerate(curriculum_task_configs(config.train, config.task_config)):
        where = f"train.curriculum[{index}].task"
        stage = _create_task(config.task, task_config, f"{where}: ")
        for name in ("input_size", "output_size", "input_vocab"):
            if getattr(stage, name) != getattr(task, name):
                raise ConfigError(f"{where} changes the task's {name} from {getattr(task, name)} to "
                                  f"{getattr(stage, name)}; a stage may change only what the model does not "
                                  f"depend on (lengths, counts)")
        stages.append((until, stage))
    return stages


def build_model(config: RunConfig, task) -> nn.Module:
    """The model of the task's topology (``task.output_kind``, tasks/base.py) with the configured cell;
    seeded by train.seed.  A bad combination of settings is a ConfigError."""
    m, kind = config.model, task.output_kind
    torch.manual_seed(config.train.seed)
    common = dict(num_layers=m.num_layers, dropout=m.dropout, **m.options)
    tokens = dict(input_vocab=task.input_vocab, embedding_size=m.embedding_size)
    try:
        if m.name == "ntm":
            model = _ntm(config, task)
        elif m.name in TREE_MODELS:
            model = _tree(config, task)
        elif m.name == "history_compressor":
            model = HistoryCompressor(task.input_size, task.output_size, hidden_size=m.hidden_size,
                                      input_vocab=task.input_vocab, **m.options)
        elif kind == "last":
            model = SequenceClassifier(m.name, task.input_size, m.hidden_size, task.output_size,
                                       bidirectional=m.bidirectional, pooling=m.pooling, **tokens, **common)
        elif kind == "every" and task.language_model:
            model = LanguageModel(m.name, task.output_size, m.hidden_size, embedding_size=m.embedding_size,
                                  tie_weights=m.tie_weights, **common)
        elif kind == "every":
            model = SequenceTagger(m.name, task.input_size, m.hidden_size, task.output_size,
                                   bidirectional=m.bidirectional, input_shortcut=m.input_shortcut, **tokens,
                                   **common)
        elif kind == "sequence":
            model = Seq2Seq(m.name, task.input_size, task.output_size, m.hidden_size,
                            bidirectional_encoder=m.bidirectional, context=m.context,
                            transform_context=m.transform_context, attention=m.attention,
                            teacher_forcing=m.teacher_forcing, **tokens, **common)
        elif kind == "generate":
            model = SequenceGenerator(m.name, task.input_size, task.output_size, m.hidden_size, context=m.context,
                                      embedding_size=m.embedding_size, teacher_forcing=m.teacher_forcing, **common)
        else:
            raise ConfigError(f"task {config.task} has an unknown output kind {kind!r}")
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(f"model: {one_line(error)}") from None
    return model.to(device=resolve_device(config.train.device), dtype=getattr(torch, m.dtype))


def _ntm(config: RunConfig, task) -> nn.Module:
    """The Neural Turing Machine for a task with an output at every step (the bit-vector tasks of
    Graves et al. 2014): controller of model.hidden_size units in model.num_layers layers, the
    rest from model.options (memory_slots, memory_width, read_heads, write_heads, ...)."""
    m = config.model
    if task.output_kind != "every" or task.input_vocab is not None:
        raise ConfigError(f"model ntm reads vectors and writes an output at every step; task {config.task} "
                          f"needs output kind {task.output_kind!r}{' with token inputs' if task.input_vocab else ''}")
    return NTM(task.input_size, task.output_size, controller_size=m.hidden_size, controller_layers=m.num_layers,
               **m.options)


def _tree(config: RunConfig, task) -> nn.Module:
    """A recursive network (model.name: tree_rnn, tree_lstm, child_sum_tree_lstm) over the parse trees of a task
    whose batches carry them (Batch.structure, e.g. listops), its roots read out as the sequence's class."""
    from .models.tree_classifier import TreeClassifier

    m = config.model
    if task.output_kind != "last" or task.input_vocab is None or not getattr(task, "has_trees", False):
        raise ConfigError(f"model {m.name} reads parse trees; task {config.task} has none (tree tasks: listops, "
                          f"expression_trees)")
    if m.name != "child_sum_tree_lstm" and not task.binary_trees:
        raise ConfigError(f"model {m.name} combines two children a node; task {config.task}'s trees have more with "
                          f"these settings (use child_sum_tree_lstm, or binary trees: e.g. task.form=\"left\")")
    return TreeClassifier(task.input_vocab, m.hidden_size, task.output_size, cell=m.name,
                          embedding_size=m.embedding_size, **m.options)


def resolve_device(name: str) -> torch.device:
    """cpu, cuda, or auto (cuda when there is one); asking for cuda without one is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is cuda, but torch sees no CUDA device (use cpu or auto)")
    if name == "cuda" and distributed.world_size() > 1:
        return torch.device("cuda", distributed.rank() % torch.cuda.device_count())
    return torch.device(name)


def _check_out(run_dir: Path, resume: bool) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"--out {run_dir} exists and is not a directory")
    if resume:
        if not (run_dir / "config.json").is_file():
            raise RunError(f"--resume: {run_dir} holds no run (no config.json)")
    elif run_dir.is_dir() and any(path.name != LOCK_FILE for path in run_dir.iterdir()):
        raise RunError(f"--out {run_dir} exists and is not empty; give --resume to continue that run, "
                       "or another --out")


def load_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise RunError(f"{run_dir} holds no run (no config.json)")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RunError(f"cannot read {path}: {one_line(getattr(error, 'strerror', None) or error)}") from None
    return RunConfig.from_dict(data)


def resumed_config(run_dir: str | Path, overrides: Sequence[str] = (), *, task: str | None = None,
                   model: str | None = None, config_file: str | Path | None = None) -> RunConfig:
    """A run's recorded configuration with the command's settings (``config_file``, ``overrides``, the
    ``model`` flag): ``train.*`` settings (a longer budget, say) are applied; any other setting must
    equal the recorded one, since the run's checkpoints hold the weights of its model and task, so
    that the command that started the run, with --resume added, continues it."""
    recorded = load_config(run_dir)
    if task is not None and task != recorded.task:
        raise RunError(f"--resume: {run_dir} is a run of task {recorded.task}, not {task}")
    given = collect_settings(recorded.task, config_file=config_file, overrides=overrides, model=model)
    saved = recorded.to_dict()
    for (section, key), value in given.items():
        if section != "train" and RunConfig.plain(value) != saved[section].get(key):
            raise ConfigError(f"--resume keeps the run's model and task: {section}.{key} is "
                              f"{format_value(saved[section].get(key))} in {run_dir}, not {format_value(value)}; "
                              f"only train.* settings may change")
    return apply_overrides(recorded, [format_override(f"train.{key}", value)
                                      for (section, key), value in given.items() if section == "train"])


def train(config: RunConfig, run_dir: str | Path, *, resume: bool = False,
          log: Callable[[str], None] = print) -> dict:
    """Train (or, with ``resume``, continue) the run; returns the summary.  With ``resume``,
    ``config`` should come from ``resumed_config`` and config.json is rewritten with it.

    Under torchrun every process runs this; the main one (rank 0) checks and writes the run
    directory, all of them train (training/distributed.py)."""
    run_dir = Path(run_dir)
    distributed.init_from_env(config.train.device)
    lock = RunLock(run_dir)
    try:
        refusal = None
        if distributed.is_main():
            try:
                check_free(run_dir)
                _check_out(run_dir, resume)
            except (RunError, LockedError) as error:
                refusal = RunError(str(error))
        if not distributed.all_true(refusal is None):
            raise refusal or RunError(f"the main process refused the run directory {run_dir}")
        if config.train.batch_size % distributed.world_size():
            raise ConfigError(f"train.batch_size={config.train.batch_size} must be divisible by the "
                              f"{distributed.world_size()} processes")
        if config.train.tensorboard and not tensorboard.available():
            raise ConfigError(f"train.tensorboard needs the tensorboard package ({tensorboard.INSTALL_HINT})")
        task = build_task(config)  # all four checked before anything is written
        curriculum = build_curriculum(config, task)
        model = build_model(config, task)
        trainer = Trainer(model, task, config.train, run_dir, log=log if distributed.is_main() else _quiet,
                          curriculum=curriculum, **_analyses(config, model, task))
        if distributed.is_main():
            with writing(run_dir):
                run_dir.mkdir(parents=True, exist_ok=True)
            try:
                lock.acquire()
            except LockedError as error:
                raise RunError(str(error)) from None
            _check_out(run_dir, resume)  # again, holding the lock: no other process started a run here meanwhile
            with writing(run_dir / "config.json"):
                ckpt.write_text_atomically(run_dir / "config.json", json.dumps(config.to_dict(), indent=1) + "\n")
        if resume and not trainer.resume():
            trainer.log(f"no checkpoint in {run_dir / 'checkpoints'}; starting from step 0")
        summary = trainer.fit()
    except Interrupted:  # every process stopped after the same step: they leave together, as after a clean run
        distributed.finish()
        raise
    except BaseException:
        distributed.finish(clean=False)
        raise
    finally:
        lock.release()
    distributed.finish()
    return summary


def _analyses(config: RunConfig, model: nn.Module, task) -> dict:
    """The trainer's monitors and pictures: those of ``train.gradient_flow`` (rnnlab.analysis.monitor: the
    figures at each evaluation, the picture at the end; a model or task it cannot measure is a ConfigError), and a
    history compressor's compression ratio per level at each evaluation (analysis/compressor_view.py)."""
    monitors, pictures = [], []
    if compressor_view.supports(model) is None:
        monitors.append(compressor_view.compression_monitor)
    if config.train.gradient_flow:
        reason = monitor.supports(model, task)
        if reason:
            raise ConfigError(f"train.gradient_flow cannot be measured: {reason}")
        monitors.append(monitor.GradientFlowMonitor(task))
        pictures.append(partial(monitor.draw_gradient_flow, task=task))
    return {"monitors": monitors, "pictures": pictures} if monitors else {}


def load_checkpoint(trainer: Trainer, which: str | int = "latest") -> int:
    """Restore ``which`` checkpoint of the trainer's run ("latest", "best" or a step); returns its step.
    A missing or broken one is a RunError."""
    run_dir = trainer.run_dir
    try:
        if which == "latest":
            step = trainer.load_latest()
        elif which == "best":
            step = trainer.load_best()
        else:
            step = trainer.load_step(which)
    except ckpt.CheckpointError as error:
        raise RunError(one_line(error)) from None
    if step is None:
        raise RunError(f"{run_dir} has no usable checkpoint" if which == "latest" else
                       f"{run_dir} has no best checkpoint (the run has not been evaluated yet)")
    return step


def _quiet(line: str) -> None:
    """The log of processes other than the main one."""


def trained_model(config: RunConfig, task, run_dir: str | Path, checkpoint: str | int = "latest", *,
                  log: Callable[[str], None] = _quiet) -> nn.Module:
    """The model of the run in ``run_dir`` (its ``config`` and ``task``) with ``checkpoint``'s weights ("latest",
    "best" or a step; a missing one is a RunError)."""
    model = build_model(config, task)
    load_checkpoint(Trainer(model, task, config.train, run_dir, log=log), checkpoint)
    return model


def evaluate(run_dir: str | Path, overrides: Sequence[str] = (), *, log: Callable[[str], None] = print,
             plots: bool = False, checkpoint: str | int = "latest") -> dict:
    """The metrics of a run's checkpoint (``checkpoint``: "latest", the newest good one; "best", that of
    the best evaluation; or a step) on its task's held-out set, with the keys of summary.json;
    ``overrides`` (``--set``) may change the task's settings, e.g. a longer sequence.

    With ``plots``, also the task's and the model's pictures of the first held-out batch (where they
    have them, e.g. the NTM's weightings; the gradient flow; an lstm1997's cells at work, analysis/cell_activity.py;
    a tree model's prediction at every node and its node states, analysis/tree_view.py; a history compressor's
    surprise and events, analysis/compressor_view.py)
    in ``eval_plots_directory(run_dir, overrides)``, created
    when there is something to draw; nothing else in the run directory is touched."""
    run_dir = Path(run_dir)
    config = apply_overrides(load_config(run_dir), overrides)
    task = build_task(config)
    model = build_model(config, task)
    pictures = [] if not plots or monitor.supports(model, task) else [partial(monitor.draw_gradient_flow, task=task)]
    if plots and cell_activity.supports(model) is None:  # the 1997 LSTM's cells at work on one sequence
        pictures.append(cell_activity.draw_cell_activity)
    if plots and tree_view.supports(model, task) is None:  # a tree model's prediction at each node, its node states
        pictures += [partial(tree_view.predictions_picture, task=task), partial(tree_view.states_picture, task=task)]
    if plots and compressor_view.supports(model) is None:  # a history compressor's surprise and each level's events
        pictures.append(partial(compressor_view.events_picture, task=task))
    trainer = Trainer(model, task, config.train, run_dir, log=log, pictures=pictures)
    load_checkpoint(trainer, checkpoint)
    summary = trainer.summary(trainer.evaluate())
    if plots and not trainer.figures(eval_plots_directory(run_dir, overrides)):
        log(f"no pictures: neither task {config.task} nor model {config.model.name} draws any")
    return summary


_MAX_SLUG = 120  # characters of the overrides in the name of an eval's plots directory


def eval_plots_directory(run_dir: str | Path, overrides: Sequence[str] = ()) -> Path:
    """RUN_DIR/plots/eval-<the overrides>, where ``evaluate(..., plots=True)`` draws: e.g.
    ["task.max_length=40"] -> RUN_DIR/plots/eval-task.max_length=40, and RUN_DIR/plots/eval without
    overrides.  The overrides are joined with "," and every character other than letters, digits and
    ``._=,+-`` becomes "_"; a name longer than ``_MAX_SLUG`` characters is cut and ends with a hash."""
    slug = ",".join("".join(c if c.isalnum() or c in "._=,+-" else "_" for c in text.strip()) for text in overrides)
    if len(slug) > _MAX_SLUG:
        slug = f"{slug[: _MAX_SLUG - 9]}-{hashlib.sha1(slug.encode()).hexdigest()[:8]}"
    return Path(run_dir) / "plots" / (f"eval-{slug}" if slug else "eval")


def sample(run_dir: str | Path, prime: str | None = None, length: int = 200, temperature: float = 1.0,
           top_k: int | None = None, seed: int = 0, *, log: Callable[[str], None] = print,
           checkpoint: str | int = "latest") -> str:
    """Text generated by a language-model run's checkpoint (``checkpoint`` as for ``evaluate``): ``prime`` (by default the
    task's ``default_prime()``, e.g. a newline) then ``length`` sampled tokens, decoded.  The state is
    carried token by token, so a long sample costs O(length); ``seed`` fixes the draws."""
    run_dir = Path(run_dir)
    config = load_config(run_dir)
    task = build_task(config)
    if not task.language_model:
        raise RunError(f"{run_dir} is a run of {config.task}, not of a language model (char_lm, word_lm)")
    if length < 1:
        raise ConfigError(f"--length must be >= 1; got {length}")
    if not temperature > 0:
        raise ConfigError(f"--temperature must be > 0; got {temperature}")
    try:
        tokens = task.encode(task.default_prime() if prime is None else prime)
    except ValueError as error:
        raise ConfigError(f"--prime: {one_line(error)}") from None
    if len(tokens) == 0:
        raise ConfigError("--prime must hold at least one token (leave it out for the default)")
    model = trained_model(config, task, run_dir, checkpoint, log=log)
    generated = model.generate(tokens.to(next(model.parameters()).device), length, temperature=temperature,
                               top_k=top_k, generator=torch.Generator(tokens.device).manual_seed(seed))
    return task.decode(torch.cat([tokens, generated.cpu()]))
