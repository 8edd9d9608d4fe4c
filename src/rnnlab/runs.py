"""A run composed from its configuration: task + model + trainer, and its directory.

Shared by the command line (``rnnlab train``, ``rnnlab eval``), the reproductions and
the tests.  A run directory (DESIGN.md, contract):

    RUN_DIR/config.json     the fully resolved configuration (every default written out)
    RUN_DIR/metrics.jsonl   one JSON object per logged step
    RUN_DIR/summary.json    final evaluation metrics (same keys as `rnnlab eval --json`)
    RUN_DIR/checkpoints/    weights and trainer state, written atomically
    RUN_DIR/plots/          learning curves and pictures; plots/eval-<overrides>/ from `rnnlab eval --plots`
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

from . import tasks
from .config import ConfigError, RunConfig, apply_overrides, curriculum_task_configs, one_line
from .memory import NTM
from .models import LanguageModel, Seq2Seq, SequenceClassifier, SequenceGenerator, SequenceTagger
from .training import checkpoint as ckpt
from .training import distributed, tensorboard
from .training.trainer import Trainer


class RunError(RuntimeError):
    """A run directory that cannot be used as asked; the message says why."""


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
        elif kind == "last":
            model = SequenceClassifier(m.name, task.input_size, m.hidden_size, task.output_size,
                                       bidirectional=m.bidirectional, pooling=m.pooling, **tokens, **common)
        elif kind == "every" and task.language_model:
            model = LanguageModel(m.name, task.output_size, m.hidden_size, embedding_size=m.embedding_size,
                                  tie_weights=m.tie_weights, **common)
        elif kind == "every":
            model = SequenceTagger(m.name, task.input_size, m.hidden_size, task.output_size,
                                   bidirectional=m.bidirectional, **tokens, **common)
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
    elif run_dir.is_dir() and any(run_dir.iterdir()):
        raise RunError(f"--out {run_dir} exists and is not empty; give --resume to continue that run, "
                       "or another --out")


def load_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise RunError(f"{run_dir} holds no run (no config.json)")
    return RunConfig.from_dict(json.loads(path.read_text()))


def resumed_config(run_dir: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """A run's saved configuration with ``train.*`` overrides (a longer budget, say) applied;
    the model and the task of a run cannot change, as its checkpoints hold their weights."""
    for text in overrides:
        if not text.startswith("train."):
            raise ConfigError(f"--resume keeps the run's model and task; only train.* settings may change, "
                              f"not {text.split('=')[0]}")
    return apply_overrides(load_config(run_dir), overrides)


def train(config: RunConfig, run_dir: str | Path, *, resume: bool = False,
          log: Callable[[str], None] = print) -> dict:
    """Train (or, with ``resume``, continue) the run; returns the summary.  With ``resume``,
    ``config`` should come from ``resumed_config`` and config.json is rewritten with it.

    Under torchrun every process runs this; the main one (rank 0) checks and writes the run
    directory, all of them train (training/distributed.py)."""
    run_dir = Path(run_dir)
    distributed.init_from_env(config.train.device)
    try:
        refusal = None
        if distributed.is_main():
            try:
                _check_out(run_dir, resume)
            except RunError as error:
                refusal = error
        if not distributed.all_true(refusal is None):
            raise refusal or RunError(f"the main process refused the run directory {run_dir}")
        if config.train.batch_size % distributed.world_size():
            raise ConfigError(f"train.batch_size={config.train.batch_size} must be divisible by the "
                              f"{distributed.world_size()} processes")
        if config.train.tensorboard and not tensorboard.available():
            raise ConfigError(f"train.tensorboard needs the tensorboard package ({tensorboard.INSTALL_HINT})")
        task = build_task(config)  # all three checked before anything is written
        curriculum = build_curriculum(config, task)
        model = build_model(config, task)
        if distributed.is_main():
            run_dir.mkdir(parents=True, exist_ok=True)
            ckpt.write_text_atomically(run_dir / "config.json", json.dumps(config.to_dict(), indent=1) + "\n")
        trainer = Trainer(model, task, config.train, run_dir, log=log if distributed.is_main() else _quiet,
                          curriculum=curriculum)
        if resume and not trainer.resume():
            trainer.log(f"no checkpoint in {run_dir / 'checkpoints'}; starting from step 0")
        summary = trainer.fit()
    except BaseException:
        distributed.finish(clean=False)
        raise
    distributed.finish()
    return summary


def _quiet(line: str) -> None:
    """The log of processes other than the main one."""


def evaluate(run_dir: str | Path, overrides: Sequence[str] = (), *, log: Callable[[str], None] = print,
             plots: bool = False) -> dict:
    """The metrics of a run's newest good checkpoint on its task's held-out set, with the keys of
    summary.json; ``overrides`` (``--set``) may change the task's settings, e.g. a longer sequence.

    With ``plots``, also the task's and the model's pictures of the first held-out batch (where they
    have them, e.g. the NTM's weightings) in ``eval_plots_directory(run_dir, overrides)``, created
    when there is something to draw; nothing else in the run directory is touched."""
    run_dir = Path(run_dir)
    config = apply_overrides(load_config(run_dir), overrides)
    task = build_task(config)
    trainer = Trainer(build_model(config, task), task, config.train, run_dir, log=log)
    if trainer.load_latest() is None:
        raise RunError(f"{run_dir} has no usable checkpoint")
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
           top_k: int | None = None, seed: int = 0, *, log: Callable[[str], None] = print) -> str:
    """Text generated by a language-model run's newest good checkpoint: ``prime`` (by default the
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
    model = build_model(config, task)
    trainer = Trainer(model, task, config.train, run_dir, log=log)
    if trainer.load_latest() is None:
        raise RunError(f"{run_dir} has no usable checkpoint")
    generated = model.generate(tokens.to(next(model.parameters()).device), length, temperature=temperature,
                               top_k=top_k, generator=torch.Generator(tokens.device).manual_seed(seed))
    return task.decode(torch.cat([tokens, generated.cpu()]))
