"""Fuzzing the configuration (issue 10): a ``--set`` string or a TOML file, arbitrary or nearly
right, gives a value (a RunConfig) or a ``ConfigError`` whose message is one line, never another
exception.  The command line over the same kinds of input is tests/test_fuzz_cli.py.

Inputs, from the wildest to the nearly right:

* any text as an override, and any bytes as a config file (invalid UTF-8 included);
* near misses: a section (real or not), a separator, a key (a field of some section, or any
  text) and a TOML-ish value (literals, near-literals, quoted unicode, arrays, inline tables);
* plausible settings: a real key of the task's sections with a value of its field's type, in
  range or not, so that a good share of the inputs pass the parser and meet the range checks;
* any of these with line breaks, ``=``, quotes or brackets spliced in;
* valid TOML documents of random and real sections, keys and values (dates and times too),
  written by the small writer below, independent of rnnlab's.

Real tasks, not fakes: a synthetic one (adding), the two text-file tasks (char_lm, sentiment)
and an NTM task (copy), so that every kind of annotation of a task's Config is met.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import re

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from rnnlab import tasks
from rnnlab.config import (CLIPS, DEVICES, OPTIMIZERS, SCHEDULES, SECTIONS, ConfigError, ModelConfig, RunConfig,
                           TrainConfig, build_config, model_names, parse_override)

TASKS = ("adding", "char_lm", "sentiment", "copy")
LINE_BREAKS = re.compile(r"[\n\r]")
WORDS = sorted({*OPTIMIZERS, *SCHEDULES, *CLIPS, *DEVICES, *model_names(), *TASKS, "float32", "float64", "last",
                "mean", "max", "state", "input", "both", "pixels", "rows", "unit", "standard", "data/a.txt", ""})
FILE_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_one_line(message: str) -> None:
    assert message.strip(), "an empty message"
    assert not LINE_BREAKS.search(message), f"not one line: {message!r}"


def outcome(function, *args, **kwargs):
    """``function``'s result, or the message of its ConfigError, checked to be one line (none of
    the functions tested returns a str, so a str is an error); any other exception propagates."""
    try:
        result = function(*args, **kwargs)
    except ConfigError as error:
        assert_one_line(str(error))
        event(f"{function.__name__}: ConfigError")
        return str(error)
    event(f"{function.__name__}: a value")
    return result


def section_fields(section: str, task: str) -> dict:
    """{key: default} of ``section`` of ``task``'s configuration."""
    cls = {"model": ModelConfig, "train": TrainConfig}.get(section) or tasks.get(task).Config
    return {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
            for f in dataclasses.fields(cls)}


KEYS = sorted({key for task in TASKS for section in SECTIONS for key in section_fields(section, task)} | {"name"})


# ---- TOML literals, written here ----------------------------------------------------------------

def _basic_string(text: str) -> str:
    """``text`` as a TOML basic string: quote, backslash and control characters escaped."""
    escaped = "".join(f"\\u{ord(c):04x}" if c < " " or c == "\x7f" else "\\" + c if c in '"\\' else c
                      for c in text)
    return f'"{escaped}"'


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _basic_string(key)


def _toml_value(value) -> str:
    """``value`` as a TOML literal (inline tables and arrays for the containers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _basic_string(value)
    if isinstance(value, (datetime.date, datetime.time)):  # a datetime is a date
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(data: dict) -> str:
    """The TOML document of ``data``: its plain values at the top, then a [table] for each dict."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += [f"[{_toml_key(name)}]", *(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


# ---- values -------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
UNBROKEN_TEXT = TEXT.filter(lambda text: not LINE_BREAKS.search(text))
TOML_SCALARS = st.one_of(
    st.integers(0, 300), st.integers(-2**63, 2**63 - 1), st.floats(), st.floats(0, 1), st.booleans(),
    st.sampled_from(WORDS), TEXT, st.dates(), st.times(),
    st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: (st.lists(inner, max_size=3)
                   | st.dictionaries(st.sampled_from(KEYS + ["until"]) | UNBROKEN_TEXT, inner, max_size=3)),
    max_leaves=6)


def plausible(task: str, section: str, key: str):
    """Values of the type of ``section.key`` (None for a field that may be none), in range or not."""
    default = section_fields(section, task)[key]
    if key == "curriculum":
        stage = st.fixed_dictionaries({
            "until": st.integers(0, 10_000),
            "task": st.dictionaries(st.sampled_from(sorted(section_fields("task", task))), st.integers(0, 50),
                                    max_size=2)})
        return st.lists(stage, max_size=2)
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(0, 300) | st.integers(-2**63, 2**63 - 1)
    if isinstance(default, float):
        return st.floats(0, 1) | st.floats()
    if isinstance(default, str):
        return st.sampled_from(WORDS) | TEXT
    if default is None:
        return st.none() | st.integers(0, 300) | st.floats(0, 100)
    if isinstance(default, dict):
        return st.dictionaries(UNBROKEN_TEXT, st.integers(0, 10) | st.sampled_from(WORDS), max_size=2)
    if isinstance(default, list):
        return st.lists(TEXT, max_size=2)
    return TOML_VALUES


# ---- --set strings ------------------------------------------------------------------------------

NEAR_LITERALS = st.sampled_from([
    "true", "false", "True", "none", "None", "null", "inf", "-inf", "+inf", "nan", "-nan", "1e400", "-1e400",
    "0x1F", "0o17", "0b101", "1_000", "1__0", "01", "+0", "-0.0", "1.", ".5", "1e", "9223372036854775808",
    "-9223372036854775809", "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "1979-05-27 07:32:00.999+01:00",
    "[]", "{}", "[1, 2", "[1,,2]", "{a = }", "{a = 1, a = 2}", '"', "'", '"""', "'''", "''", '""', "=", "==",
    "a=b", "[[1]]", "[{}]", "{until = 1, task = {}}", "[{until = 5, task = {length = 3}}]", "lstm", "gru",
    "adam", "cosine", "cpu", "cuda:0", "data/a.txt", '["a.txt", "b.txt"]', "#", "# comment", "1 # comment",
    "\\", "\\u0000", "é", "\u2028", "\U0001f600", "\x00", "\x7f", "", " ",
])
SCALAR_TEXTS = st.one_of(
    NEAR_LITERALS, st.integers().map(str), st.floats().map(repr), TEXT.map(_basic_string),
    st.text(max_size=8).map(lambda text: f"'{text}'"),  # a TOML literal string, valid or not
    st.text(max_size=8),
)
VALUE_TEXTS = st.recursive(
    SCALAR_TEXTS,
    lambda inner: (st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]")
                   | st.dictionaries(st.sampled_from(KEYS + ["until", "a b", '"q"']), inner, max_size=3)
                   .map(lambda table: "{" + ", ".join(f"{k} = {v}" for k, v in table.items()) + "}")),
    max_leaves=6)


@st.composite
def spliced(draw, texts):
    """A text of ``texts`` with a few troublesome characters put in at one place."""
    text = draw(texts)
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.text("\n\r\t =.#[]{}\"'\\\x00\u2028é", min_size=1, max_size=3)) + text[at:]


NEAR_MISSES = st.builds(
    lambda section, dot, key, equals, value: f"{section}{dot}{key}{equals}{value}",
    st.sampled_from([*SECTIONS, "", " train", "Train", "trian", "model.options"]) | st.text(max_size=6),
    st.sampled_from([".", ".", ".", "", "..", " . "]),
    st.sampled_from(KEYS) | st.text(max_size=8),
    st.sampled_from(["=", "=", "=", " = ", "==", ":", ""]),
    VALUE_TEXTS)


@st.composite
def plausible_override(draw, task: str) -> str:
    """``section.key=value`` with a real key of ``task`` and a value of its type, written as TOML,
    as ``none``, or (a string) as bare text."""
    section = draw(st.sampled_from(SECTIONS))
    key = draw(st.sampled_from(sorted(section_fields(section, task))))
    value = draw(plausible(task, section, key))
    if value is None:
        return f"{section}.{key}=none"
    bare = isinstance(value, str) and draw(st.booleans())
    return f"{section}.{key}={value if bare else _toml_value(value)}"


def overrides(task: str):
    texts = st.one_of(st.text(), NEAR_MISSES, plausible_override(task), plausible_override(task))
    return texts | spliced(texts)


TASK_AND_OVERRIDE = st.sampled_from(TASKS).flatmap(lambda task: st.tuples(st.just(task), overrides(task)))
TASK_AND_OVERRIDES = st.sampled_from(TASKS).flatmap(
    lambda task: st.tuples(st.just(task), st.lists(overrides(task), min_size=1, max_size=4)))


@settings(max_examples=400, deadline=None)
@given(TASK_AND_OVERRIDE.filter(lambda pair: not LINE_BREAKS.search(pair[1])))
def test_an_override_is_a_value_or_a_one_line_config_error(task_and_text):
    task, text = task_and_text
    parsed = outcome(parse_override, text, task)
    if not isinstance(parsed, str):
        section, key, _ = parsed
        assert key in section_fields(section, task)
    config = outcome(build_config, task, overrides=[text])
    if isinstance(parsed, str):
        assert config == parsed  # build_config reports the override's own error
    else:
        assert isinstance(config, str) or config.task == task


@settings(max_examples=200, deadline=None)
@given(TASK_AND_OVERRIDES)
def test_overrides_never_raise_anything_but_a_config_error(task_and_texts):
    """Line breaks included; that their messages are one line is the test below."""
    task, texts = task_and_texts
    for text in texts:
        try:
            parse_override(text, task)
        except ConfigError:
            event("parse_override: ConfigError")
    try:
        config = build_config(task, overrides=texts)
    except ConfigError:
        event("build_config: ConfigError")
        return
    event("build_config: a value")
    assert config.task == task
    written = json.dumps(config.to_dict())  # what RUN_DIR/config.json holds
    assert json.dumps(RunConfig.from_dict(json.loads(written)).to_dict()) == written


@settings(max_examples=100, deadline=None)
@given(TASK_AND_OVERRIDE)
@example(("adding", "train.steps=1\nx"))  # train.steps must be an integer; got 1\nx
@example(("adding", "a\nb.c=1"))  # unknown section a\nb in a\nb.c; ...
@example(("adding", "train.lr\nx=1"))  # unknown key train.lr\nx; ...
@example(("adding", 'train.curriculum=[{until = 1, task = {x = "\n"}}]'))  # ...; got [{until = 1, task = {x = "\n"}}]
def test_an_override_with_a_line_break_is_a_one_line_config_error(task_and_text):
    task, text = task_and_text
    outcome(parse_override, text, task)
    outcome(build_config, task, overrides=[text])


# ---- TOML files ---------------------------------------------------------------------------------

def one_in(draw, n: int) -> bool:
    """True once in ``n`` draws (st.integers would favour its bounds)."""
    return draw(st.sampled_from(range(n))) == 1


@st.composite
def toml_data(draw, task: str, names=st.sampled_from(KEYS) | UNBROKEN_TEXT) -> dict:
    """A dict for a TOML document of ``task``: mostly the real sections with real keys and values of
    their types, sometimes other ``names`` and any values."""
    data = {}
    sections = draw(st.lists(st.sampled_from(SECTIONS), max_size=3, unique=True))
    if one_in(draw, 8):
        sections.append(draw(names))
    for section in sections:
        if one_in(draw, 16):  # a section that is not a table
            data[section] = draw(TOML_SCALARS)
            continue
        fields = sorted(section_fields(section, task)) if section in SECTIONS else []
        table = {}
        for key in draw(st.lists(st.sampled_from(fields) if fields else names, max_size=3, unique=True)):
            value = draw(plausible(task, section, key) if fields else TOML_VALUES)
            if value is not None:  # TOML has no null
                table[key] = value
        if one_in(draw, 8):
            table[draw(names)] = draw(TOML_VALUES)
        data[section] = table
    if draw(st.booleans()):  # the task's name, at the top or in [task]; mostly the right one
        name = draw(TEXT) if one_in(draw, 8) else draw(st.sampled_from(TASKS)) if one_in(draw, 8) else task
        if isinstance(data.get("task"), dict):
            data["task"]["name"] = name
        else:
            data.setdefault("task", name)
    return data


def _write(tmp_path, content: bytes):
    path = tmp_path / "run.toml"
    path.write_bytes(content)
    return path


@settings(max_examples=200, **FILE_SETTINGS)
@given(st.sampled_from(TASKS), st.binary(max_size=200) | st.text(max_size=100).map(str.encode))
def test_any_bytes_as_a_config_file_are_a_config_or_a_one_line_error(tmp_path, task, content):
    path = _write(tmp_path, content)
    config = outcome(build_config, task, config_file=path)
    assert isinstance(config, RunConfig) or str(path) in config


@settings(max_examples=100, **FILE_SETTINGS)
@given(st.sampled_from(TASKS), st.binary(max_size=60),
       st.sampled_from([b"\xff", b"\xc3", b"\xc3(", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]),
       st.binary(max_size=10))
def test_invalid_utf8_in_a_config_file_is_one_line_naming_the_file(tmp_path, task, before, bad, after):
    path = _write(tmp_path, before + bad + after)
    message = outcome(build_config, task, config_file=path)
    assert isinstance(message, str) and message.startswith(f"invalid TOML in {path}: ")


TASK_AND_DATA = st.sampled_from(TASKS).flatmap(lambda task: st.tuples(st.just(task), toml_data(task)))


@settings(max_examples=300, **FILE_SETTINGS)
@given(TASK_AND_DATA)
def test_a_valid_toml_document_is_a_config_or_a_one_line_error(tmp_path, task_and_data):
    task, data = task_and_data
    path = _write(tmp_path, toml_document(data).encode())
    config = outcome(build_config, task, config_file=path)
    if isinstance(config, str):
        return
    assert config.task == task
    written = json.dumps(config.to_dict())  # what RUN_DIR/config.json holds; NaN stays NaN
    assert json.dumps(RunConfig.from_dict(json.loads(written)).to_dict()) == written


@settings(max_examples=50, **FILE_SETTINGS)
@given(st.sampled_from(TASKS).flatmap(lambda task: st.tuples(st.just(task), toml_data(task, names=TEXT))))
@example(("adding", {"a\nb": {}}))  # unknown section a\nb; ...
@example(("adding", {"model": {"x\ny": 1}}))  # unknown key model.x\ny; ...
@example(("adding", {"train": {"curriculum": [{"until": 1, "task": {"a\nb": 1}}]}}))  # unknown key task.a\nb
def test_a_toml_key_with_a_line_break_is_a_one_line_config_error(tmp_path, task_and_data):
    task, data = task_and_data
    outcome(build_config, task, config_file=_write(tmp_path, toml_document(data).encode()))
