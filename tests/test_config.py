"""The run configuration (rnnlab.config): defaults written out, the TOML file < --set < flags
order, TOML-literal overrides, and one-line errors that name the key (STYLE.md: "an unknown
key answered with the list of valid keys").

The tasks that config.py knows (``register_task``) are replaced by two small fake tasks, so
that these tests do not depend on the real tasks: ``count`` (``length: int = 100``, checked in ``__post_init__``) and
``text`` (a ``str | list[str]`` path and the other annotation kinds).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlab
import rnnlab.config
from rnnlab.config import (ALGORITHMS, CLIPS, DEVICES, OPTIMIZERS, SCHEDULES, ConfigError, ModelConfig, RunConfig,
                           TrainConfig, apply_overrides, build_config, format_override, parse_override)


@dataclass
class CountConfig:
    """A task like the adding problem."""

    length: int = 100
    tolerance: float = 0.04

    def __post_init__(self) -> None:
        if self.length < 2:
            raise ValueError(f"count task: length must be an int >= 2; got {self.length}")


@dataclass
class TextConfig:
    """A file-based task."""

    path: str | list[str] = "corpus.txt"
    vocab: list[str] = field(default_factory=list)
    window: int | None = None
    shape: tuple[int, int] = (2, 3)


FAKE_TASKS = {"count": CountConfig, "text": TextConfig}


@pytest.fixture(autouse=True)
def fake_tasks(monkeypatch):
    """rnnlab.config knows a task only through register_task: here the two fakes, and no real task."""
    monkeypatch.setattr(rnnlab.config, "_TASK_CONFIGS", {})
    for name, cls in FAKE_TASKS.items():
        rnnlab.config.register_task(name, cls)


TRAIN_KEYS = ", ".join(f"train.{f.name}" for f in sorted(dataclasses.fields(TrainConfig), key=lambda f: f.name))


def _error(**kwargs) -> str:
    """The message of the ConfigError that build_config raises, checked to be one line."""
    with pytest.raises(ConfigError) as error:
        build_config(**{"task": "count", **kwargs})
    message = str(error.value)
    assert "\n" not in message
    return message


# ---- defaults and round trips -------------------------------------------------------------------

def test_to_dict_writes_out_every_default_and_round_trips_through_json():
    config = build_config("count")
    data = config.to_dict()
    assert list(data) == ["task", "model", "train"]
    assert data["task"] == {"name": "count", "length": 100, "tolerance": 0.04}
    assert data["model"] == {"name": "lstm", "hidden_size": 128, "num_layers": 1, "dropout": 0.0,
                             "bidirectional": False, "options": {}, "dtype": "float32", "embedding_size": None,
                             "pooling": "last", "input_shortcut": False, "tie_weights": False, "context": "state",
                             "transform_context": False, "attention": False, "teacher_forcing": 1.0}
    assert set(data["train"]) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert {key: data["train"][key] for key in ("max_minutes", "clip_norm", "tbptt", "carry_state",
                                                "keep_checkpoints", "seed", "device")} == {
        "max_minutes": None, "clip_norm": 1.0, "tbptt": None, "carry_state": False, "keep_checkpoints": 3,
        "seed": 0, "device": "cpu"}
    text = json.dumps(data)
    assert json.loads(text) == data
    assert RunConfig.from_dict(json.loads(text)) == config


def test_a_non_default_config_round_trips_with_tuples_lists_and_options():
    config = build_config("text", overrides=['task.path=["a.txt", "b.txt"]', "task.window=7",
                                             "model.options={proj_size = 4, mode = \"fast\"}", "train.tbptt=20"])
    data = json.loads(json.dumps(config.to_dict()))
    assert data["task"]["shape"] == [2, 3]  # JSON has no tuples
    back = RunConfig.from_dict(data)
    assert back == config
    assert back.task_config.shape == (2, 3)
    assert back.model.options == {"proj_size": 4, "mode": "fast"}


def test_from_dict_fills_in_missing_keys_with_defaults():
    config = RunConfig.from_dict({"task": {"name": "count", "length": 7}, "train": {"lr": 0.5}})
    assert config == build_config("count", overrides=["task.length=7", "train.lr=0.5"])


def test_sections_check_themselves_when_built_directly():
    assert TrainConfig(lr=1).lr == 1.0 and type(TrainConfig(lr=1).lr) is float
    with pytest.raises(ConfigError, match=r"^train\.steps must be an integer >= 1; got 0$"):
        dataclasses.replace(TrainConfig(), steps=0)
    with pytest.raises(ConfigError, match=r"^model\.hidden_size must be an integer; got 1\.5 \(a float\)$"):
        ModelConfig(hidden_size=1.5)


# ---- precedence and override values -------------------------------------------------------------

def test_file_then_overrides_in_order_then_flags(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('task = "count"\n'
                    "[model]\nhidden_size = 64\nname = \"gru\"\n"
                    "[train]\nlr = 0.1\nsteps = 5\nseed = 3\ntbptt = 50\n")
    config = build_config("count", config_file=path, model="gru1", device="auto", steps=9,
                          overrides=["train.lr=0.2", "train.steps=7", "task.length=60", "task.length=70",
                                     "train.tbptt=none"])
    assert config.model == ModelConfig(name="gru1", hidden_size=64)  # flag > file; file > default
    assert config.task_config == CountConfig(length=70)  # the last override wins
    assert config.train == TrainConfig(lr=0.2, steps=9, seed=3, tbptt=None, device="auto")


def test_task_named_inside_the_task_table(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[task]\nname = "count"\nlength = 12\n')
    assert build_config("count", config_file=path).task_config == CountConfig(length=12)


@pytest.mark.parametrize("text, expected", [
    ('task.path=["a.txt","b.txt"]', ["a.txt", "b.txt"]),  # a TOML list literal
    ("task.path=data/a.txt", "data/a.txt"),  # bare text for a str field
    ("task.path='C:\\data'", "C:\\data"),  # a TOML literal string
    ("task.path=2024", "2024"),  # a number is text for a str field
    ("task.vocab=data/a.txt", ["data/a.txt"]),  # bare text for a list[str] field: one element
    ("task.window=none", None),
    ("task.window=12", 12),
    ("task.shape=[4, 5]", (4, 5)),
])
def test_override_values(text, expected):
    section, key, value = parse_override(text, "text")
    assert (section, key) == tuple(text.split("=")[0].split("."))
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text, expected", [
    ("train.lr=3e-4", ("train", "lr", 3e-4)),
    (" train.lr = 1 ", ("train", "lr", 1.0)),  # an int for a float field is stored as a float
    ("train.device=auto", ("train", "device", "auto")),
    ("model.name=gru1", ("model", "name", "gru1")),
    ("train.carry_state=true", ("train", "carry_state", True)),
    ("train.max_minutes=none", ("train", "max_minutes", None)),
])
def test_override_of_the_model_and_train_sections(text, expected):
    assert parse_override(text) == expected
    assert type(parse_override(text)[2]) is type(expected[2])


def test_apply_overrides_to_a_loaded_config():
    config = build_config("count", overrides=["train.lr=0.5"])
    changed = apply_overrides(config, ["train.eval_size=20", "task.length=9"])
    assert changed == dataclasses.replace(config, train=TrainConfig(lr=0.5, eval_size=20),
                                          task_config=CountConfig(length=9))
    with pytest.raises(ConfigError, match=r"^unknown key task\.lenght; valid keys: task\.length, task\.tolerance$"):
        apply_overrides(config, ["task.lenght=9"])


# ---- errors: one line, naming the key and the value ---------------------------------------------

@pytest.mark.parametrize("override, message", [
    ("train.lrr=1", f"unknown key train.lrr; valid keys: {TRAIN_KEYS}"),
    ("task.lenght=1", "unknown key task.lenght; valid keys: task.length, task.tolerance"),
    ("optim.lr=1", "unknown section optim in optim.lr; valid sections: model, task, train"),
    ("train.steps=abc", "train.steps must be an integer; got abc"),
    ("train.steps=1.5", "train.steps must be an integer; got 1.5 (a float)"),
    ("train.steps=true", "train.steps must be an integer; got true (a boolean)"),
    ('train.lr="fast"', 'train.lr must be a number; got "fast" (a string)'),
    ("train.lr=fast", "train.lr must be a number; got fast"),
    ("train.carry_state=1", "train.carry_state must be true or false; got 1 (an integer)"),
    ("train.carry_state=yes", "train.carry_state must be true or false; got yes"),
    ("task.length=none", "task.length must be an integer; got none"),
    ("train.lr=0", "train.lr must be a finite number > 0; got 0.0"),
    ("train.lr=nan", "train.lr must be a finite number > 0; got nan"),
    ("train.batch_size=0", "train.batch_size must be an integer >= 1; got 0"),
    ("train.tbptt=0", "train.tbptt must be an integer >= 1 or none; got 0"),
    ("train.max_minutes=-1", "train.max_minutes must be a finite number > 0 or none; got -1.0"),
    ("train.momentum=1", "train.momentum must be a number in [0, 1); got 1.0"),
    ("train.schedule_gamma=0", "train.schedule_gamma must be a number in (0, 1]; got 0.0"),
    ("train.seed=-1", "train.seed must be an integer in [0, 2**63); got -1"),
    ("model.dropout=1.5", "model.dropout must be a number in [0, 1); got 1.5"),
    ("model.options=3", "model.options must be a table; got 3 (an integer)"),
    ("train.optimizer=adamw", 'train.optimizer must be one of adam, sgd, rmsprop, rmsprop_centered; got "adamw"'),
    ("train.schedule=linear", 'train.schedule must be one of constant, step, cosine, plateau; got "linear"'),
    ("train.clip=both", 'train.clip must be one of norm, value, none; got "both"'),
    ("train.device=tpu", 'train.device must be one of cpu, cuda, auto; got "tpu"'),
    ("task.length=1", "count task: length must be an int >= 2; got 1"),
    ("task.name=text", "task.name cannot be overridden; the task is the TASK argument"),
    ("train.lr", "malformed override 'train.lr'; expected section.key=value, e.g. train.lr=3e-4"),
    ("lr=3e-4", "malformed override 'lr=3e-4'; expected section.key=value, e.g. train.lr=3e-4 "
                "(did you mean train.lr?)"),
    ("=3", "malformed override '=3'; expected section.key=value, e.g. train.lr=3e-4"),
])
def test_bad_override_is_one_line_naming_key_and_value(override, message):
    assert _error(overrides=[override]) == message


@pytest.mark.parametrize("override, message", [
    ("task.path=[1, 2]", "task.path must be a string or a list of strings; got [1, 2] (a list)"),
    ("task.vocab=[true]", "task.vocab must be a list of strings; got [true] (a list)"),
    ("task.shape=[1, 2, 3]", "task.shape must be a list of 2 values (an integer, an integer); got [1, 2, 3] (a list)"),
    ("task.window=1.0", "task.window must be an integer or none; got 1.0 (a float)"),
])
def test_bad_list_and_union_values(override, message):
    assert _error(task="text", overrides=[override]) == message


def test_unknown_model_lists_the_cells_and_the_whole_models():
    names = ", ".join([*rnnlab.cells.available(), "ntm", "tree_rnn", "tree_lstm", "child_sum_tree_lstm",
                       "history_compressor"])
    assert _error(model="lstmm") == f'model.name must be one of {names}; got "lstmm"'


def test_unknown_task_lists_the_tasks():
    assert _error(task="nope") == "unknown task 'nope'; available tasks: count, text"
    with pytest.raises(ConfigError, match=r"^unknown task 'nope'; available tasks: count, text$"):
        parse_override("task.length=3", "nope")


def test_bad_flag_values_are_named_by_their_key():
    assert _error(steps=0) == "train.steps must be an integer >= 1; got 0"
    assert _error(device="gpu") == 'train.device must be one of cpu, cuda, auto; got "gpu"'


@pytest.mark.parametrize("text, message", [
    ("[train]\nlrr = 1\n", f"unknown key train.lrr; valid keys: {TRAIN_KEYS}"),
    ("[optim]\nlr = 1\n", "unknown section optim; valid sections: model, task, train"),
    ("model = 3\n", "model must be a table of settings; got 3 (an integer)"),
    ("[train]\nsteps = 2.0\n", "train.steps must be an integer; got 2.0 (a float)"),
    ('task = "text"\n', 'the configuration is for task "text", not "count"'),
    ('[task]\nname = "text"\n', 'the configuration is for task "text", not "count"'),
])
def test_bad_config_file_names_the_file(tmp_path, text, message):
    path = tmp_path / "run.toml"
    path.write_text(text)
    assert _error(config_file=path) == f"{path}: {message}"


def test_missing_config_file(tmp_path):
    path = tmp_path / "absent.toml"
    assert _error(config_file=path) == f"cannot read config file {path}: No such file or directory"
    assert _error(config_file=tmp_path) == f"cannot read config file {tmp_path}: Is a directory"


def test_invalid_toml_gives_the_parser_message_on_one_line(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[train]\nlr = \n")
    message = _error(config_file=path)
    assert message.startswith(f"invalid TOML in {path}: ") and "line 2" in message


def test_from_dict_errors():
    with pytest.raises(ConfigError, match=r"^task\.name is missing; the configuration must name its task$"):
        RunConfig.from_dict({"train": {}})
    with pytest.raises(ConfigError, match=r"^unknown key model\.size; valid keys: model\.attention, model\.bidirectional, "):
        RunConfig.from_dict({"task": {"name": "count"}, "model": {"size": 3}})
    with pytest.raises(ConfigError, match=r"^train\.tbptt must be an integer or none; got \"8\" \(a string\)$"):
        RunConfig.from_dict({"task": {"name": "count"}, "train": {"tbptt": "8"}})


# ---- properties ---------------------------------------------------------------------------------

_POSITIVE = st.floats(min_value=0.0, exclude_min=True, allow_infinity=False)
_COUNT = st.integers(min_value=1, max_value=2**40)

# A strategy of valid values for every TrainConfig field (checked to cover them all below).
TRAIN_VALUES = {
    "steps": _COUNT, "max_minutes": st.none() | _POSITIVE, "batch_size": _COUNT,
    "optimizer": st.sampled_from(OPTIMIZERS), "lr": _POSITIVE,
    "momentum": st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    "weight_decay": st.floats(min_value=0.0, allow_infinity=False),
    "schedule": st.sampled_from(SCHEDULES), "schedule_step": _COUNT,
    "schedule_gamma": st.floats(min_value=0.0, max_value=1.0, exclude_min=True),
    "clip": st.sampled_from(CLIPS), "clip_norm": _POSITIVE, "clip_value": _POSITIVE,
    "tbptt": st.none() | _COUNT, "carry_state": st.booleans(), "eval_every": _COUNT, "eval_size": _COUNT,
    "checkpoint_every": _COUNT, "keep_checkpoints": _COUNT, "max_bad_steps": _COUNT, "log_every": _COUNT,
    "patience": st.none() | _COUNT,
    "stop_when": st.none() | st.builds(lambda metric, op, value: f"{metric} {op} {value!r}",
                                       st.sampled_from(["accuracy", "mse", "bit_errors_per_sequence"]),
                                       st.sampled_from(["<", "<=", ">=", ">"]),
                                       st.floats(allow_nan=False, allow_infinity=False)),
    "tensorboard": st.booleans(),
    "gradient_flow": st.booleans(),
    "algorithm": st.sampled_from(ALGORITHMS),
    "online": st.just(False),
    "guesses": st.integers(1, 10**6),
    "guess_range": st.floats(1e-3, 1e3),
    "seed": st.integers(min_value=0, max_value=2**63 - 1), "device": st.sampled_from(DEVICES),
    "curriculum": st.lists(st.fixed_dictionaries({"task": st.fixed_dictionaries(
        {}, optional={"length": st.integers(min_value=2), "tolerance": st.floats(allow_nan=False, allow_infinity=False)})}),
        max_size=3).map(lambda stages: [{"until": 10 * (i + 1), **stage} for i, stage in enumerate(stages)]),
}


# ---- curriculum: stages of task settings --------------------------------------------------------

def test_a_curriculum_is_read_from_an_override_and_its_settings_are_coerced():
    config = build_config("count", overrides=["train.curriculum=[{until=50, task={length=5, tolerance=1}}, "
                                              "{until=80, task={length=20}}]"])
    assert config.train.curriculum == [{"until": 50, "task": {"length": 5, "tolerance": 1}},
                                       {"until": 80, "task": {"length": 20}}]
    stages = rnnlab.config.curriculum_task_configs(config.train, config.task_config)
    assert stages == [(50, CountConfig(length=5, tolerance=1.0)), (80, CountConfig(length=20))]
    assert type(stages[0][1].tolerance) is float
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("stages, message", [
    ("[{until=5}]", "train.curriculum[0] must be a table {until = STEP, task = {SETTING = VALUE, ...}}; "
                    "got {until = 5}"),
    ("[{until=5, task=3}]", "train.curriculum[0] must be a table {until = STEP, task = {SETTING = VALUE, ...}}; "
                            "got {until = 5, task = 3}"),
    ("[{until=5, task={}, lr=1}]", "train.curriculum[0] must be a table {until = STEP, task = {SETTING = VALUE, "
                                   "...}}; got {until = 5, task = {}, lr = 1}"),
    ("[{until=0, task={}}]", "train.curriculum[0].until must be an integer > 0 (the stages' steps increase); got 0"),
    ("[{until=9, task={}}, {until=9, task={}}]",
     "train.curriculum[1].until must be an integer > 9 (the stages' steps increase); got 9"),
    ("[{until=2.5, task={}}]", "train.curriculum[0].until must be an integer > 0 (the stages' steps increase); "
                               "got 2.5"),
    ('[{until=5, task={name="text"}}]',
     "train.curriculum[0].task cannot change the task's name; it changes the task's settings"),
    ("[{until=5, task={lenght=3}}]",
     "train.curriculum[0].task: unknown key task.lenght; valid keys: task.length, task.tolerance"),
    ('[{until=5, task={length="3"}}]', 'train.curriculum[0].task: task.length must be an integer; got "3" (a string)'),
    ("[{until=5, task={length=1}}]", "train.curriculum[0].task: count task: length must be an int >= 2; got 1"),
    ("[3]", "train.curriculum must be a list of tables; got [3] (a list)"),
])
def test_bad_curriculum_stages_are_one_line_naming_the_stage(stages, message):
    assert _error(overrides=[f"train.curriculum={stages}"]) == message


def test_a_curriculum_cannot_change_the_stream_of_a_carried_state():
    assert _error(overrides=["train.carry_state=true", "train.curriculum=[{until=5, task={}}]"]) == \
        "train.carry_state must be false with a train.curriculum (a stream has one setting); got true"


def test_the_property_below_covers_every_train_field():
    assert set(TRAIN_VALUES) == {f.name for f in dataclasses.fields(TrainConfig)}


@settings(max_examples=100, deadline=None)
@given(st.fixed_dictionaries(TRAIN_VALUES).filter(lambda values: not (values["carry_state"] and values["curriculum"])))
def test_every_train_value_round_trips_through_a_set_override(values):
    config = dataclasses.replace(build_config("count"), train=TrainConfig(**values))
    written = config.to_dict()["train"]
    overrides = [format_override(f"train.{key}", value) for key, value in written.items()]
    for text, (key, value) in zip(overrides, written.items()):
        parsed = parse_override(text, "count")
        assert parsed == ("train", key, value) and type(parsed[2]) is type(value), text
    assert build_config("count", overrides=overrides) == config


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",))) | st.lists(st.text(max_size=5), max_size=3))
def test_any_path_round_trips_through_a_set_override(path):
    assert parse_override(format_override("task.path", path), "text") == ("task", "path", path)


@settings(max_examples=50, deadline=None)
@given(st.floats(allow_nan=False))
def test_any_float_is_written_as_a_toml_float(number):
    value = parse_override(format_override("task.tolerance", number), "count")[2]
    assert value == number and math.copysign(1.0, value) == math.copysign(1.0, number)
