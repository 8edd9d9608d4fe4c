"""Fuzzing the command line (issue 10): ``rnnlab train TASK`` with any ``--set`` strings, flags and
``--config`` file, and ``rnnlab eval RUN_DIR`` and ``rnnlab train TASK --resume`` with any ``--set``
strings or a damaged RUN_DIR/config.json, either go on to the run or stop with exit code 2 and one
line on stderr, never a traceback.

Nothing trains: ``runs.train`` is replaced by a stub that records the configuration it is given
(so "goes on to the run" is exit code 0 with that configuration), and for ``eval`` neither the
run's task nor its model is built (stubs of ``runs.build_task`` and ``runs.build_model`` stop the
command with a RunError: one line, exit 2).
tests/test_fuzz_config.py fuzzes the same parsers without the command line, with more kinds of input.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from rnnlab import cli, runs
from rnnlab.config import SECTIONS, build_config

TASKS = ("adding", "char_lm", "sentiment", "copy")
KEYS = ["steps", "lr", "batch_size", "tbptt", "seed", "device", "curriculum", "name", "hidden_size", "options",
        "dropout", "length", "path", "seq_length", "validation_fraction", "bits", "max_length", "lrr", ""]
ERROR = re.compile(r"rnnlab( train| eval)?: error: ")
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

VALUE_TEXTS = st.one_of(
    st.sampled_from(["5", "0", "-1", "1.5", "3e-4", "1e400", "nan", "inf", "true", "none", "lstm", "ntm", "gru",
                     "cpu", "cuda", '"a.txt"', '["a.txt", "b.txt"]', "[]", "{}", "{a = 1}", "[{until = 5, task = {}}]",
                     "[1, 2", '"', "'", "1979-05-27", "é", "\u2028", "=", ""]),
    st.integers().map(str), st.floats().map(repr), st.text(max_size=8))
STRUCTURED = st.builds(lambda section, key, value: f"{section}.{key}={value}",
                       st.sampled_from([*SECTIONS, "", "trian"]), st.sampled_from(KEYS), VALUE_TEXTS)


@st.composite
def spliced(draw, texts):
    """A text of ``texts`` with a few troublesome characters put in at one place."""
    text = draw(texts)
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.text("\n\r\t =.-\"'\\\x00é", min_size=1, max_size=3)) + text[at:]


VALID = st.sampled_from(["train.steps=5", "train.lr=3e-4", "train.tbptt=none", "train.tbptt=20", "model.name=gru",
                         "model.hidden_size=8", " train.device = cpu ", "model.options={}", "train.curriculum=[]",
                         "train.seed=3", "train.clip=value", "model.dropout=0.5", "train.max_minutes=1.5"])
OVERRIDES = st.one_of(st.text(), STRUCTURED, STRUCTURED, VALID, VALID)
OVERRIDES = OVERRIDES | spliced(OVERRIDES)


@pytest.fixture
def trained(monkeypatch):
    """The configurations ``rnnlab train`` went on to train with (runs.train is a stub)."""
    configs = []

    def train(config, run_dir, **options):
        configs.append(config)
        return {"steps": config.train.steps}

    monkeypatch.setattr(runs, "train", train)
    return configs


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``rnnlab ARGV``."""
    capsys.readouterr()
    try:
        code = cli.main(argv)
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_ran_or_one_line_error(code: int, out: str, err: str, trained: list) -> None:
    """Exit 0 after one (stub) run, or exit 2 with one line on stderr and nothing on stdout."""
    if code == 0:
        event("exit 0: trained")
        assert len(trained) == 1 and out == json.dumps({"steps": trained[0].train.steps}) + "\n"
        assert err.startswith("run directory: ") and err.count("\n") == 1
    else:
        event("exit 2: one line")
        assert code == 2 and out == "" and not trained
        assert ERROR.match(err) and err.endswith("\n") and err.count("\n") == 1, err
        assert "Traceback" not in err
    trained.clear()


@settings(max_examples=300, **SETTINGS)
@given(task=st.sampled_from(TASKS), texts=st.lists(OVERRIDES, min_size=1, max_size=3), joined=st.booleans(),
       steps=st.none() | st.integers(1, 100) | st.integers(-5, 2**64),
       seed=st.none() | st.integers(0, 100) | st.integers(-1, 2**64),
       model=st.none() | st.sampled_from(["gru", "ntm", "elman_tanh", "lstm", "GRU", ""]) | st.text(max_size=5))
@example(task="adding", texts=["train.steps=1\nx"], joined=False, steps=None, seed=None, model=None)
@example(task="adding", texts=["a\nb.c=1"], joined=True, steps=None, seed=None, model=None)
def test_train_with_any_set_strings_and_flags_runs_or_exits_2_with_one_line(tmp_path, capsys, trained, task, texts,
                                                                          joined, steps, seed, model):
    argv = ["train", task, "--out", str(tmp_path / "run")]
    for text in texts:
        argv += [f"--set={text}"] if joined else ["--set", text]
    argv += [] if steps is None else ["--steps", str(steps)]
    argv += [] if seed is None else ["--seed", str(seed)]
    argv += [] if model is None else [f"--model={model}"]
    assert_ran_or_one_line_error(*run(argv, capsys), trained)


@settings(max_examples=150, **SETTINGS)
@given(task=st.sampled_from(TASKS),
       content=st.binary(max_size=100) | st.lists(
           st.sampled_from(["[model]", "[train]", "[task]", "[other]", 'task = "adding"', 'name = "copy"',
                            "\xff"]) | STRUCTURED.map(lambda text: text.split(".", 1)[-1].replace("=", " = ", 1)),
           max_size=6).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")))
@example(task="adding", content=b'"a\\nb" = 1\n')  # a key with a line break: one line all the same
@example(task="adding", content=b"[train]\nsteps = 5\n\xff")  # not UTF-8
def test_train_with_any_config_file_runs_or_exits_2_with_one_line(tmp_path, capsys, trained, task, content):
    path = tmp_path / "run.toml"
    path.write_bytes(content)
    assert_ran_or_one_line_error(*run(["train", task, "--config", str(path), "--out", str(tmp_path / "run")],
                                     capsys), trained)


def _run_directory(path, task: str):
    """A directory holding only the config.json of a run of ``task`` (no checkpoint)."""
    path.mkdir(exist_ok=True)
    (path / "config.json").write_text(json.dumps(build_config(task, steps=10).to_dict()))
    return path


@settings(max_examples=150, **SETTINGS)
@given(task=st.sampled_from(TASKS), texts=st.lists(OVERRIDES, max_size=3))
def test_eval_and_resume_with_any_set_strings_exit_2_with_one_line_or_go_on(tmp_path, capsys, trained, monkeypatch,
                                                                            task, texts):
    run_dir = _run_directory(tmp_path / "run", task)
    built = []

    def build(config, *task):
        built.append(config)
        raise runs.RunError("stub: stopped before building the task")

    monkeypatch.setattr(runs, "build_task", build)
    monkeypatch.setattr(runs, "build_model", build)  # nothing as large as model.hidden_size=10**9 is built
    sets = [arg for text in texts for arg in ("--set", text)]
    code, out, err = run(["eval", str(run_dir), *sets], capsys)
    assert (code, out) == (2, "") and ERROR.match(err) and err.count("\n") == 1, err
    assert ("stub: stopped" in err) == bool(built)
    event("eval: " + ("overrides accepted" if built else "overrides refused"))
    code, out, err = run(["train", task, "--resume", "--out", str(run_dir), *sets], capsys)
    assert_ran_or_one_line_error(code, out, err, trained)


@settings(max_examples=50, **SETTINGS)
@given(content=st.binary(max_size=50) | st.sampled_from([b"[1]", b"{}", b'{"task": {"name": "nope"}}', b"null"]))
@example(content=b'{"task": ')  # a JSONDecodeError was a traceback
@example(content=b"\xff")  # and so was a UnicodeDecodeError
def test_eval_and_resume_of_a_damaged_config_json_exit_2_with_one_line(tmp_path, capsys, trained, content):
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "config.json").write_bytes(content)
    code, out, err = run(["eval", str(run_dir)], capsys)
    assert (code, out) == (2, "") and ERROR.match(err) and err.count("\n") == 1, err
    assert_ran_or_one_line_error(*run(["train", "adding", "--resume", "--out", str(run_dir)], capsys), trained)
