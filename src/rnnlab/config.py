"""The typed configuration of a training run, shared by ``rnnlab train``, ``rnnlab eval``,
the reproductions and the tests.

A run has three sections, each a dataclass whose defaults explain themselves:

    [model]   ModelConfig            which cell, how large, how many layers
    [task]    tasks.get(name).Config the task's own settings; its defaults are the paper's
    [train]   TrainConfig            optimizer, schedule, clipping, BPTT, checkpoints, budget

``build_config`` layers them: defaults, then the task's recommendations for the model (where
the caller gives them: ``runs.compose_config`` passes the task's), then a TOML file, then
``--set section.key=value`` overrides in order, then the explicit command-line flags
(``--model``, ``--steps``, ``--seed``, ``--device``); ``explain_config`` also says where each
value came from (``rnnlab train ... --print-config``).  An override's value is a TOML literal (``train.lr=3e-4``,
``task.path=["a.txt", "b.txt"]``); a string field also takes bare text
(``task.path=data/a.txt``), and a field that may be none takes the bare word ``none``
(``train.tbptt=none``).  A TOML file looks like

    task = "adding"          # optional; must agree with the TASK argument
    [model]
    name = "gru"
    hidden_size = 100
    [train]
    lr = 1e-3
    tbptt = 50

(or ``name = "adding"`` inside ``[task]``, since TOML allows no top-level ``task`` key
beside a ``[task]`` table).  This module imports no task: each task's Config class is made
known to it by ``register_task`` (rnnlab.tasks.register does it for every task).  ``RunConfig.to_dict()`` writes the same layout with every
default filled in; it is RUN_DIR/config.json, and ``RunConfig.from_dict`` reads it back.

Every value is checked against its field's annotation and every section against its
ranges.  A mistake is a ``ConfigError`` (a ``ValueError``) of one line that names the key
as ``section.key`` and the value, e.g.

    unknown key train.lrr; valid keys: train.batch_size, train.carry_state, ...
    train.steps must be an integer; got 1.5 (a float)
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ConfigError", "ModelConfig", "TrainConfig", "RunConfig", "SECTIONS", "StopTarget", "stop_target",
           "OPTIMIZERS", "SCHEDULES", "CLIPS", "DEVICES", "ALGORITHMS",
           "build_config", "explain_config", "collect_settings", "register_task", "apply_overrides", "parse_override",
           "format_override", "format_value", "load_toml", "to_toml"]

SECTIONS = ("model", "task", "train")

OPTIMIZERS = ("adam", "sgd", "rmsprop", "rmsprop_centered")
SCHEDULES = ("constant", "step", "cosine", "plateau")
DTYPES = ("float32", "float64")
POOLINGS = ("last", "mean", "max")
CONTEXTS = ("state", "input", "both")
CLIPS = ("norm", "value", "none")
DEVICES = ("cpu", "cuda", "auto")
# training/algorithms/ (the same names, tested)
ALGORITHMS = ("bptt", "rtrl", "uoro", "snap1", "guess", "lstm_truncated")

_MAX_SEED = 2**63  # TOML integers are signed 64-bit
_NONE_WORD = "none"  # the override spelling of None (TOML has no null)


_LINE_BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


class ConfigError(ValueError):
    """A mistake in a run's configuration; its message is one line that names the key."""

    def __init__(self, message: str) -> None:
        # the user's own text (a key, a bare value) may hold a line break: escaped as in TOML, so one line
        super().__init__(_LINE_BREAKS.sub(lambda m: f"\\u{ord(m[0]):04x}", str(message)))


def one_line(text) -> str:
    """``text`` (or an error) on one line: every run of whitespace, newlines included, one space."""
    return " ".join(str(text).split())


def model_names() -> list[str]:
    """Every name ``model.name`` takes: the registered cells, then the whole models."""
    from . import cells
    return [*cells.available(), *WHOLE_MODELS]


# Models that are not a cell inside a topology: each is built whole (runs.build_model) from the task's sizes,
# model.hidden_size and model.options.  name -> one-line description (rnnlab models)
WHOLE_MODELS = {
    "ntm": "Neural Turing Machine, Graves, Wayne & Danihelka (2014): controller + memory, read and write heads",
    "tree_rnn": "Recursive network over a parse tree, Socher et al. (2011): h = tanh(W [h_left; h_right] + b)",
    "tree_lstm": "Binary N-ary Tree-LSTM, Tai, Socher & Manning (2015): a forget gate per child",
    "child_sum_tree_lstm": "Child-Sum Tree-LSTM, Tai, Socher & Manning (2015): any number of children",
    "history_compressor": "Neural history compressor, Schmidhuber (1992): a stack of predictors, each passing up "
                          "only the inputs it failed to predict",
}
TREE_MODELS = ("tree_rnn", "tree_lstm", "child_sum_tree_lstm")  # read the batch's parse trees (Batch.structure)


# ---- the sections -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelConfig:
    """The recurrent network: a registered cell (``rnnlab.cells.available()``), stacked; or a whole model
    (``WHOLE_MODELS``): ``ntm``, the Neural Turing Machine, whose controller has ``hidden_size`` units in
    ``num_layers`` layers and whose other settings go in ``options`` (controller, memory_slots, memory_width,
    read_heads, write_heads, shift_range, memory_init, clip_controller, gradient_clip); the recursive nets
    ``tree_rnn``, ``tree_lstm``, ``child_sum_tree_lstm`` (``hidden_size`` units, ``embedding_size``); the
    ``history_compressor`` (its levels' cell, number and threshold in ``options``)."""

    name: str = "lstm"  # a cell name of rnnlab.cells.available(), or a whole model of WHOLE_MODELS
    hidden_size: int = 128  # H_out: units per layer and direction
    num_layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # dropout on the outputs of every layer but the last, as torch.nn.LSTM; in [0, 1)
    bidirectional: bool = False  # a second layer reads the sequence backwards; outputs are concatenated
    options: dict = field(default_factory=dict)  # extra cell options, passed to cells.create (e.g. {proj_size = 4})
    dtype: str = "float32"  # float32 | float64 (for exact comparisons; the data follows the model)
    # topology settings: each is read by the models named after it, the others ignore it
    embedding_size: int | None = None  # token inputs: embedding width; none = hidden_size (every model)
    pooling: str = "last"  # classifier: read out at the last real step, or the mean / max over real steps
    input_shortcut: bool = False  # tagger: the readout also reads the step's input (1997 LSTM's input->output units)
    tie_weights: bool = False  # language model: the softmax reuses the embedding matrix (Press & Wolf 2017)
    context: str = "state"  # seq2seq, generator: the context vector as the decoder's initial state, input, or both
    transform_context: bool = False  # seq2seq: c = tanh(W c + b) before the decoder (Cho et al. 2014)
    attention: bool = False  # seq2seq: additive attention over the encoder's outputs (Bahdanau et al. 2015)
    teacher_forcing: float = 1.0  # seq2seq, generator: probability of feeding the true previous token in training

    def __post_init__(self) -> None:
        _check_types(self, "model")
        names = model_names()
        if self.name not in names:
            raise ConfigError(f"model.name must be one of {', '.join(names)}; got {_toml(self.name)}")
        _require(self, "hidden_size", self.hidden_size >= 1, "an integer >= 1")
        _require(self, "num_layers", self.num_layers >= 1, "an integer >= 1")
        _require(self, "dropout", 0.0 <= self.dropout < 1.0, "a number in [0, 1)")
        _require(self, "dtype", self.dtype in DTYPES, f"one of {', '.join(DTYPES)}")
        _require(self, "embedding_size", self.embedding_size is None or self.embedding_size >= 1,
                 "an integer >= 1 or none")
        _require(self, "pooling", self.pooling in POOLINGS, f"one of {', '.join(POOLINGS)}")
        _require(self, "context", self.context in CONTEXTS, f"one of {', '.join(CONTEXTS)}")
        _require(self, "teacher_forcing", 0.0 <= self.teacher_forcing <= 1.0, "a number in [0, 1]")


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained: budget, optimizer, schedule, clipping, BPTT, evaluation, checkpoints."""

    # budget
    steps: int = 10_000  # optimizer steps (one batch each)
    max_minutes: float | None = None  # wall-clock budget; the run stops at whichever of steps / minutes comes first
    batch_size: int = 32  # sequences per step
    # optimizer
    optimizer: str = "adam"  # adam | sgd | rmsprop | rmsprop_centered (Graves 2013's RMSProp with mean subtraction)
    lr: float = 1e-3  # learning rate (Adam's usual default)
    momentum: float = 0.0  # sgd and rmsprop momentum, in [0, 1); ignored by adam
    weight_decay: float = 0.0  # L2 penalty coefficient, >= 0
    # learning-rate schedule
    schedule: str = "constant"  # constant | step | cosine (to 0 at `steps`) | plateau (on the task's main evaluation metric)
    schedule_step: int = 1_000  # step: lr *= gamma every schedule_step steps; plateau: patience, in evaluations
    schedule_gamma: float = 0.1  # factor applied by step and plateau, in (0, 1]
    # gradient clipping (Pascanu et al. 2013)
    clip: str = "norm"  # norm: rescale the whole gradient to clip_norm | value: clamp each entry | none
    clip_norm: float = 1.0  # largest global L2 norm of the gradient when clip = "norm"
    clip_value: float = 1.0  # largest absolute gradient entry when clip = "value"
    # backpropagation through time
    tbptt: int | None = None  # truncated BPTT: backpropagate through chunks of k steps; none = full BPTT
    carry_state: bool = False  # carry the recurrent state (detached) from one batch to the next
    # evaluation, checkpoints, logging
    eval_every: int = 500  # steps between evaluations on held-out data
    eval_size: int = 1_000  # sequences in each evaluation
    checkpoint_every: int = 1_000  # steps between checkpoints
    keep_checkpoints: int = 3  # most recent checkpoints kept on disk
    max_bad_steps: int = 10  # steps in a row with a non-finite loss or gradient (each skipped) before the run stops
    # early stopping, checked at every evaluation (summary.json's "stopped" says which ended the run)
    stop_when: str | None = None  # a held-out metric reaching a threshold, e.g. "bit_errors_per_sequence <= 0.01"
    patience: int | None = None  # stop after this many evaluations without improvement of the task's main metric
    log_every: int = 100  # steps between lines of metrics.jsonl
    tensorboard: bool = False  # also write the logged records as TensorBoard event files (needs tensorboard)
    algorithm: str = "bptt"  # how a batch turns into updates: bptt (whole or truncated: tbptt); training/algorithms/
    online: bool = False  # update after every time step (online algorithms) instead of once per batch
    guesses: int = 100  # guess: parameter draws scored per step
    guess_range: float = 100.0  # guess: every weight uniform in [-guess_range, guess_range] (H&S 1996's 100)
    gradient_flow: bool = False  # at each evaluation, log ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ and the norm at a few lags
    # (rnnlab.analysis.monitor) on the first held-out batch
    seed: int = 0  # seeds the model's initial weights and the task's data generator
    device: str = "cpu"  # cpu | cuda | auto (cuda when available)
    # curriculum (Bengio et al. 2009): stages [{until = STEP, task = {SETTING = VALUE, ...}}, ...] in order;
    # steps before `until` train on the task with those settings changed; evaluation always uses the run's own
    curriculum: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_types(self, "train")
        for key in ("steps", "batch_size", "schedule_step", "eval_every", "eval_size", "checkpoint_every",
                    "keep_checkpoints", "max_bad_steps", "log_every", "guesses"):
            _require(self, key, getattr(self, key) >= 1, "an integer >= 1")
        _require(self, "tbptt", self.tbptt is None or self.tbptt >= 1, "an integer >= 1 or none")
        _require(self, "patience", self.patience is None or self.patience >= 1, "an integer >= 1 or none")
        _require(self, "stop_when", self.stop_when is None or stop_target(self.stop_when) is not None,
                 'a metric, one of <, <=, >=, > and a finite number, e.g. "accuracy >= 0.99", or none')
        _require(self, "seed", 0 <= self.seed < _MAX_SEED, "an integer in [0, 2**63)")
        _require(self, "max_minutes", self.max_minutes is None or 0 < self.max_minutes < math.inf,
                 "a finite number > 0 or none")
        for key in ("lr", "clip_norm", "clip_value", "guess_range"):
            _require(self, key, 0 < getattr(self, key) < math.inf, "a finite number > 0")
        _require(self, "weight_decay", 0 <= self.weight_decay < math.inf, "a finite number >= 0")
        _require(self, "momentum", 0 <= self.momentum < 1, "a number in [0, 1)")
        _require(self, "schedule_gamma", 0 < self.schedule_gamma <= 1, "a number in (0, 1]")
        for key, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("clip", CLIPS),
                             ("device", DEVICES), ("algorithm", ALGORITHMS)):
            _require(self, key, getattr(self, key) in choices, f"one of {', '.join(choices)}")
        _check_curriculum_stages(self.curriculum)
        _require(self, "carry_state", not (self.carry_state and self.curriculum),
                 "false with a train.curriculum (a stream has one setting)")


class StopTarget(typing.NamedTuple):
    """``train.stop_when`` parsed: the run stops at an evaluation where ``metric op value`` holds."""

    metric: str  # a key of the task's metrics, e.g. "accuracy"
    op: str  # <, <=, >= or >
    value: float

    def met(self, metrics: Mapping[str, float]) -> bool:
        return TARGET_OPS[self.op](float(metrics[self.metric]), self.value)


TARGET_OPS = {"<": float.__lt__, "<=": float.__le__, ">=": float.__ge__, ">": float.__gt__}  # also reproduce's targets
_TARGET = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(\S+)\s*")


def stop_target(text: str) -> StopTarget | None:
    """``"accuracy >= 0.99"`` -> StopTarget("accuracy", ">=", 0.99); None when ``text`` is not of that form."""
    match = _TARGET.fullmatch(text)
    if match is None:
        return None
    try:
        value = float(match[3])
    except ValueError:
        return None
    return StopTarget(match[1], match[2], value) if math.isfinite(value) else None


_STAGE = "a table {until = STEP, task = {SETTING = VALUE, ...}}"


def _check_curriculum_stages(stages: list[dict]) -> None:
    """The shape of train.curriculum: tables of ``until`` (steps, increasing) and ``task`` (settings)."""
    previous = 0
    for index, stage in enumerate(stages):
        where = f"train.curriculum[{index}]"
        if set(stage) != {"until", "task"} or not isinstance(stage["task"], dict):
            raise ConfigError(f"{where} must be {_STAGE}; got {_toml(stage)}")
        until = stage["until"]
        if isinstance(until, bool) or not isinstance(until, int) or until <= previous:
            raise ConfigError(f"{where}.until must be an integer > {previous} (the stages' steps increase); "
                              f"got {_toml(until)}")
        if "name" in stage["task"]:
            raise ConfigError(f"{where}.task cannot change the task's name; it changes the task's settings")
        previous = until


def curriculum_task_configs(train: TrainConfig, task_config: Any) -> list[tuple[int, Any]]:
    """(until, the task's Config of that stage) for every stage of ``train.curriculum``: the run's
    ``task_config`` with the stage's settings, each of the type its field wants (and through the
    Config's own checks, where it has them; the task checks its ranges when ``runs.build_curriculum``
    builds it)."""
    cls = type(task_config)
    stages = []
    for index, stage in enumerate(train.curriculum):
        where = f"train.curriculum[{index}].task"
        settings = {}
        for key, value in stage["task"].items():
            try:
                settings[key] = _check_value("task", cls, key, value)
            except ConfigError as error:
                raise ConfigError(f"{where}: {error}") from None
        try:
            stages.append((stage["until"], dataclasses.replace(task_config, **settings)))
        except ValueError as error:  # the task's own check of its settings
            raise ConfigError(f"{where}: {one_line(str(error))}") from None
    return stages


def _require(section: Any, key: str, ok: bool, what: str) -> None:
    if not ok:
        name = _SECTION_NAMES[type(section)]
        raise ConfigError(f"{name}.{key} must be {what}; got {_toml(getattr(section, key))}")


_SECTION_NAMES = {ModelConfig: "model", TrainConfig: "train"}


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs: the task's name and the three sections.

    ``to_dict()`` is RUN_DIR/config.json: ``{"task": {"name": ..., <task settings>},
    "model": {...}, "train": {...}}`` with every default written out;
    ``from_dict`` reads it (or the same layout from a TOML file) back, with the same checks.
    """

    task: str
    model: ModelConfig
    task_config: Any  # an instance of rnnlab.tasks.get(task).Config
    train: TrainConfig

    @staticmethod
    def plain(value: Any) -> Any:
        """A setting as ``to_dict`` writes it (tuples as lists, all the way down)."""
        return _plain(value)

    def to_dict(self) -> dict:
        """The whole configuration as plain JSON (and TOML) values, every default written out."""
        return {"task": {"name": self.task, **_plain(dataclasses.asdict(self.task_config))},
                "model": _plain(dataclasses.asdict(self.model)),
                "train": _plain(dataclasses.asdict(self.train))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """The configuration ``to_dict`` wrote; keys left out take their defaults."""
        task, sections = _split_sections(data, task=None, where="")
        if task is None:
            raise ConfigError("task.name is missing; the configuration must name its task")
        return _assemble(task, sections)


# ---- building a configuration -------------------------------------------------------------------

# (model name, the task settings the later layers give) -> {"section.key": value}
Recommendations = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]
DEFAULT = "default"  # the source of a value no layer set


def build_config(task: str, *, model: str | None = None, config_file: str | Path | None = None,
                 overrides: Sequence[str] = (), steps: int | None = None, seed: int | None = None,
                 device: str | None = None, recommended: Recommendations | None = None) -> RunConfig:
    """The configuration of ``rnnlab train TASK``: defaults < ``recommended(model name)`` < ``config_file``
    < ``overrides`` (``"section.key=value"``, applied in order) < the flags ``model`` (the cell name),
    ``steps``, ``seed`` and ``device`` (a flag left at None changes nothing).  The recommendations are
    those for the model the later layers name (``model.name``'s default when none does) and the task
    settings they give (a task may recommend other settings for other variants, e.g. seq_image by rows)."""
    return explain_config(task, model=model, config_file=config_file, overrides=overrides, steps=steps, seed=seed,
                          device=device, recommended=recommended)[0]


def explain_config(task: str, *, model: str | None = None, config_file: str | Path | None = None,
                   overrides: Sequence[str] = (), steps: int | None = None, seed: int | None = None,
                   device: str | None = None, recommended: Recommendations | None = None,
                   recommended_by: str = "task recommendation") -> tuple[RunConfig, dict[str, str]]:
    """``build_config``'s configuration and where each value came from: {"section.key": source}, the
    source one of "default", ``recommended_by``, "config file PATH", "--set", "--model", "--steps",
    "--seed", "--device"."""
    layers = _given_layers(task, config_file, overrides, model=model, steps=steps, seed=seed, device=device)
    if recommended is not None:
        model_name = next((value for _, settings in reversed(layers) for section, key, value in reversed(settings)
                           if (section, key) == ("model", "name")), ModelConfig.name)
        given = {key: value for _, settings in layers for section, key, value in settings if section == "task"}
        classes = _section_classes(task)
        advice = []
        for flat, value in recommended(model_name, given).items():
            section, _, key = flat.partition(".")
            if section not in classes:
                raise ConfigError(f"{recommended_by}: unknown section in {flat}")
            advice.append((section, key, _check_value(section, classes[section], key, value)))
        layers.insert(0, (recommended_by, advice))
    sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    sources: dict[str, str] = {}
    for source, settings in layers:
        for section, key, value in settings:
            sections[section][key] = value
            sources[f"{section}.{key}"] = source
    config = _assemble(task, sections)
    return config, {key: sources.get(key, DEFAULT) for key in _flat_keys(config)}


_Layer = tuple[str, list[tuple[str, str, Any]]]  # (source, [(section, key, checked value), ...])


def _given_layers(task: str, config_file: str | Path | None, overrides: Sequence[str], *, model: str | None = None,
                  steps: int | None = None, seed: int | None = None, device: str | None = None) -> list[_Layer]:
    """The settings a command gives, layer by layer, each value checked: the file, the overrides, the flags."""
    _task_config_class(task)  # an unknown task is the first thing to report
    layers: list[_Layer] = []
    if config_file is not None:
        where = f"{config_file}: "
        _, file_sections = _split_sections(load_toml(config_file), task=task, where=where)
        layers.append((f"config file {config_file}", [(name, key, value) for name, values in file_sections.items()
                                                      for key, value in values.items()]))
    layers.append(("--set", [parse_override(text, task) for text in overrides]))
    for section, key, value in (("model", "name", model), ("train", "steps", steps),
                                ("train", "seed", seed), ("train", "device", device)):
        if value is not None:
            layers.append((f"--{'model' if key == 'name' else key}", [(section, key, value)]))
    return layers


def collect_settings(task: str, *, config_file: str | Path | None = None, overrides: Sequence[str] = (),
                     model: str | None = None, steps: int | None = None, seed: int | None = None,
                     device: str | None = None) -> dict[tuple[str, str], Any]:
    """{(section, key): value} of what a command gives (the later of two wins), without defaults or
    recommendations, each value checked against its field: what ``--resume`` compares with a run's record."""
    layers = _given_layers(task, config_file, overrides, model=model, steps=steps, seed=seed, device=device)
    return {(section, key): value for _, settings in layers for section, key, value in settings}


def _flat_keys(config: RunConfig) -> list[str]:
    return [f"{section}.{key}" for section, values in config.to_dict().items() for key in values if
            (section, key) != ("task", "name")]


def to_toml(config: RunConfig, sources: Mapping[str, str] | None = None) -> str:
    """``config`` as a TOML file that ``--config`` reads back, each value followed by ``# its source``
    when ``sources`` (of ``explain_config``) are given.  TOML has no null: a setting at none is written
    as a comment (``# tbptt = none``), which leaves it at its default when read back (through ``rnnlab
    train --config``, after the task's recommendations, which are not none where they set it)."""
    lines = []
    for section, values in config.to_dict().items():
        lines += [*([""] if lines else []), f"[{section}]"]
        for key, value in values.items():
            source = (sources or {}).get(f"{section}.{key}")
            line = f"{'# ' if value is None else ''}{key} = {_toml(value)}"
            lines.append(line + (f"  # {source}" if source else ""))
    return "\n".join(lines) + "\n"


def apply_overrides(config: RunConfig, overrides: Sequence[str]) -> RunConfig:
    """``config`` with ``"section.key=value"`` overrides applied in order (``rnnlab eval RUN_DIR --set``)."""
    data = config.to_dict()
    for text in overrides:
        section, key, value = parse_override(text, config.task)
        data[section][key] = value
    return RunConfig.from_dict(data)


def load_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML file ``path``; a missing, unreadable or invalid file is a ConfigError."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"invalid TOML in {path}: not UTF-8 text ({one_line(error.reason)} "
                          f"at byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"invalid TOML in {path}: {one_line(str(error))}") from None


def parse_override(text: str, task: str | None = None) -> tuple[str, str, Any]:
    """``"train.lr=3e-4"`` -> ``("train", "lr", 0.0003)``, checked against the field's type.

    The value is a TOML literal.  Where that fails, or gives a number, boolean or date
    for a field that takes strings, the raw text is the string (``task.path=data/a.txt``;
    a list-of-strings field gets a one-element list).  The bare word ``none`` is None for
    a field that may be none.  The keys of the task section are checked when ``task``
    names the task; without it they are parsed but not checked.
    """
    key_text, equals, value_text = text.partition("=")
    section, dot, key = key_text.strip().partition(".")
    value_text = value_text.strip()
    if not equals or not dot or not section or not key:
        suggestion = _did_you_mean(key_text.strip(), task) if equals and not dot else ""
        raise ConfigError(f"malformed override {text!r}; expected section.key=value, e.g. train.lr=3e-4{suggestion}")
    classes = _section_classes(task)
    if section not in SECTIONS:
        raise ConfigError(f"unknown section {section} in {key_text.strip()}; valid sections: {', '.join(SECTIONS)}")
    if section == "task" and key == "name":
        raise ConfigError("task.name cannot be overridden; the task is the TASK argument")
    cls = classes.get(section)
    hint = _field_types(cls)[key] if cls is not None and key in _field_types(cls) else None
    if cls is not None and hint is None:
        raise ConfigError(_unknown_key(section, key, cls))
    try:
        parsed = tomllib.loads(f"v = {value_text}")
        value, ok = parsed["v"], set(parsed) == {"v"}
    except tomllib.TOMLDecodeError:
        value, ok = None, False
    if hint is None:  # task section, task unknown: no type to check against
        return section, key, value if ok else (None if value_text == _NONE_WORD else value_text)
    if value_text == _NONE_WORD and not ok and _accepts(hint, type(None)):
        return section, key, None
    # Bare text for a string field: TOML could not read it, or read a number, boolean or
    # date that the field does not take (task.path=2024, model.name=gru1 both work).
    if not ok or (not isinstance(value, (str, list, dict)) and _convert(value, hint) is _BAD):
        if _accepts(hint, str):
            value, ok = value_text, True
        elif _accepts(hint, list[str]):
            value, ok = [value_text], True
    if not ok:
        raise ConfigError(f"{section}.{key} must be {_describe(hint)}; got {value_text}")
    return section, key, _coerce(value, hint, f"{section}.{key}")


def format_value(value: Any) -> str:
    """A setting's value as an override writes it: a TOML literal, None as ``none``."""
    return _toml(value)


def format_override(key: str, value: Any) -> str:
    """The override that ``parse_override`` reads back as ``value``: ``format_override("train.lr", 3e-4)``
    -> ``"train.lr=0.0003"``; None is written ``none``."""
    return f"{key}={_toml(value)}"


# ---- sections and their keys --------------------------------------------------------------------

_TASK_CONFIGS: dict[str, type] = {}  # task name -> its Config dataclass (register_task)


def register_task(name: str, config_class: type) -> None:
    """Make the settings of task ``name`` known: ``config_class``, a dataclass (rnnlab.tasks.register
    calls this for every task, so that this module never imports a task)."""
    if not (isinstance(config_class, type) and dataclasses.is_dataclass(config_class)):
        raise TypeError(f"task {name!r}: Config must be a dataclass, got {config_class!r}")
    if "name" in _field_types(config_class):
        raise TypeError(f"task {name!r}: Config may not have a field 'name' (task.name is the task's name)")
    _TASK_CONFIGS[name] = config_class


def _task_config_class(task: str) -> type:
    """The Config of the registered task ``task``; an unknown task is a ConfigError listing the tasks."""
    if not isinstance(task, str) or task not in _TASK_CONFIGS:
        raise ConfigError(f"unknown task {task!r}; available tasks: {', '.join(_TASK_CONFIGS)}")
    return _TASK_CONFIGS[task]


def _section_classes(task: str | None) -> dict[str, type]:
    """The dataclass of each section; without a task, of the model and train sections only."""
    classes: dict[str, type] = {"model": ModelConfig, "train": TrainConfig}
    if task is not None:
        classes["task"] = _task_config_class(task)
    return classes


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    """The resolved annotation of each dataclass field of ``cls``, in field order."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _unknown_key(section: str, key: str, cls: type) -> str:
    keys = sorted(_field_types(cls))
    valid = ", ".join(f"{section}.{name}" for name in keys) if keys else "none (this section has no settings)"
    return f"unknown key {section}.{key}; valid keys: {valid}"


def _did_you_mean(key: str, task: str | None) -> str:
    try:
        classes = _section_classes(task)
    except ConfigError:
        classes = _section_classes(None)
    matches = [f"{section}.{key}" for section, cls in classes.items() if key in _field_types(cls)]
    return f" (did you mean {matches[0]}?)" if len(matches) == 1 else ""


def _split_sections(data: Any, task: str | None, where: str) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """(task name or None, {section: {key: checked value}}) from a file or dict in the
    config.json / TOML layout.  The task section's keys are checked against ``task`` or,
    when that is None, against the task the data names."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}a configuration must be a table of sections; got {_show(data)}")
    unknown = [name for name in data if name not in SECTIONS]
    if unknown:
        raise ConfigError(f"{where}unknown section {unknown[0]}; valid sections: {', '.join(SECTIONS)}")
    sections = {}
    for name in SECTIONS:
        values = data.get(name, {})
        if name == "task" and isinstance(values, str):
            values = {"name": values}
        if not isinstance(values, Mapping):
            raise ConfigError(f"{where}{name} must be a table of settings; got {_show(values)}")
        sections[name] = dict(values)
    named = sections["task"].pop("name", None)
    if named is not None and not isinstance(named, str):
        raise ConfigError(f"{where}task.name must be a task name; got {_show(named)}")
    if named is not None and task is not None and named != task:
        raise ConfigError(f"{where}the configuration is for task {_toml(named)}, not {_toml(task)}")
    classes = _section_classes(task if task is not None else named)
    for name, values in sections.items():
        if name not in classes:
            continue
        for key, value in values.items():
            try:
                values[key] = _check_value(name, classes[name], key, value)
            except ConfigError as error:
                raise ConfigError(f"{where}{error}") from None
    return named, sections


def _check_value(section: str, cls: type, key: str, value: Any) -> Any:
    types_ = _field_types(cls)
    if key not in types_:
        raise ConfigError(_unknown_key(section, key, cls))
    return _coerce(value, types_[key], f"{section}.{key}")


def _assemble(task: str, sections: Mapping[str, Mapping[str, Any]]) -> RunConfig:
    """The RunConfig of checked section values (missing keys take their defaults)."""
    task_cls = _task_config_class(task)
    try:
        task_config = task_cls(**sections["task"])
    except ConfigError:
        raise
    except ValueError as error:  # the task's own check of its settings (its message names the task)
        raise ConfigError(one_line(str(error))) from None
    _check_types(task_config, "task")
    train = TrainConfig(**sections["train"])
    curriculum_task_configs(train, task_config)  # every stage's settings checked before the run starts
    return RunConfig(task=task, model=ModelConfig(**sections["model"]), task_config=task_config, train=train)


def _check_types(instance: Any, section: str) -> None:
    """Check every field of a section against its annotation, storing the coerced value (an int
    given for a float is stored as a float)."""
    for name, hint in _field_types(type(instance)).items():
        value = getattr(instance, name)
        coerced = _coerce(value, hint, f"{section}.{name}")
        if coerced is not value:
            object.__setattr__(instance, name, coerced)


# ---- values and their types ---------------------------------------------------------------------

def _coerce(value: Any, hint: Any, key: str) -> Any:
    """``value`` as the annotation ``hint`` wants it, or a ConfigError naming ``key``."""
    converted = _convert(value, hint)
    if converted is _BAD:
        raise ConfigError(f"{key} must be {_describe(hint)}; got {_show(value)}")
    return converted


_BAD = object()


def _convert(value: Any, hint: Any) -> Any:  # noqa: C901 - one branch per kind of annotation
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return value
    if hint is type(None) or hint is None:
        return None if value is None else _BAD
    if origin is Union or origin is types.UnionType:
        for arg in args:
            converted = _convert(value, arg)
            if converted is not _BAD:
                return converted
        return _BAD
    if origin is Literal:
        return value if any(type(value) is type(choice) and value == choice for choice in args) else _BAD
    if hint is bool:
        return value if isinstance(value, bool) else _BAD
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _BAD
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _BAD
        return value if type(value) is float else float(value)
    if hint is str:
        return value if isinstance(value, str) else _BAD
    if hint is list or origin is list:
        if not isinstance(value, (list, tuple)):
            return _BAD
        items = [_convert(item, args[0]) for item in value] if args else list(value)
        return _BAD if any(item is _BAD for item in items) else items
    if hint is tuple or origin is tuple:
        if not isinstance(value, (list, tuple)):
            return _BAD
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        elif args and len(args) != len(value):
            return _BAD
        items = tuple(_convert(item, arg) for item, arg in zip(value, args)) if args else tuple(value)
        return _BAD if any(item is _BAD for item in items) else items
    if hint is dict or origin is dict:
        if not isinstance(value, Mapping) or not _is_plain(value):
            return _BAD
        if args:
            items = {_convert(k, args[0]): _convert(v, args[1]) for k, v in value.items()}
            if any(k is _BAD or v is _BAD for k, v in items.items()):
                return _BAD
            return items
        return value if type(value) is dict else dict(value)
    if isinstance(hint, type):
        return value if isinstance(value, hint) else _BAD
    raise TypeError(f"unsupported annotation {hint!r} in a configuration section")


def _is_plain(value: Any) -> bool:
    """Whether ``value`` is made of TOML / JSON values only (tables with string keys)."""
    if isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(item) for item in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _accepts(hint: Any, kind: Any) -> bool:
    """Whether the annotation ``hint`` has ``kind`` (str, list[str], NoneType) among its alternatives."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        return any(_accepts(arg, kind) for arg in typing.get_args(hint))
    if kind is type(None):
        return hint is type(None) or hint is None
    if kind == list[str]:
        return typing.get_origin(hint) is list and typing.get_args(hint) == (str,)
    return hint is kind


_PLURALS = {int: "integers", float: "numbers", str: "strings", bool: "booleans", dict: "tables"}


def _describe(hint: Any) -> str:
    """``int | None`` -> "an integer or none", for error messages."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        return " or ".join(_describe(arg) for arg in args)
    if origin is Literal:
        return "one of " + ", ".join(_toml(choice) for choice in args)
    if hint is type(None) or hint is None:
        return "none"
    simple = {bool: "true or false", int: "an integer", float: "a number", str: "a string", list: "a list",
              tuple: "a list", dict: "a table"}
    if hint in simple:
        return simple[hint]
    if origin in (list, tuple) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return f"a list of {len(args)} values ({', '.join(_describe(arg) for arg in args)})"
        return f"a list of {_PLURALS.get(args[0], 'values')}"
    if origin is dict:
        return "a table"
    return f"a {getattr(hint, '__name__', hint)}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    kinds = {int: "an integer", float: "a float", str: "a string", list: "a list", tuple: "a list",
             dict: "a table", type(None): "none"}
    for cls, name in kinds.items():
        if isinstance(value, cls):
            return name
    return f"a {type(value).__name__}"


def _show(value: Any) -> str:
    """A value as written in TOML, with its kind: ``1.5 (a float)``."""
    return f"{_toml(value)} ({_kind(value)})"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml(value: Any) -> str:
    """``value`` as a TOML literal (None as ``none``, which TOML lacks)."""
    if value is None:
        return _NONE_WORD
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # repr of a float is a TOML float: 0.0003, 1e-10, 1e+16, inf, nan
    if isinstance(value, str):
        return '"' + "".join(_escape(char) for char in value) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{key if isinstance(key, str) and _BARE_KEY.fullmatch(key) else _toml(str(key))} = {_toml(v)}"
                 for key, v in value.items())
        return "{" + ", ".join(items) + "}"
    return repr(value)


def _escape(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if char < " " or char == "\x7f":  # TOML basic strings forbid raw control characters
        return f"\\u{ord(char):04x}"
    return char


def _plain(value: Any) -> Any:
    """Tuples as lists, all the way down, so that a dict equals its JSON round trip."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
