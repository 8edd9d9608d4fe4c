"""The command line: `python -m rnnlab models`, `rnnlab bench` wiring, and one-line argument errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rnnlab
from rnnlab import bench, cli

SRC = Path(__file__).resolve().parents[1] / "src"


def _run_module(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_models_lists_every_cell_and_the_whole_models_with_a_description():
    result = _run_module("models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [*rnnlab.cells.available(), "ntm", "tree_rnn", "tree_lstm",
                                                   "child_sum_tree_lstm", "history_compressor"]
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


def test_bad_argument_in_a_subprocess_is_one_line_without_traceback():
    result = _run_module("bench", "--bogus")
    assert result.returncode == 2
    assert result.stderr == "rnnlab: error: unrecognized arguments: --bogus\n"
    assert result.stdout == ""


@pytest.mark.parametrize("argv, message", [
    ([], "rnnlab: error: the following arguments are required: COMMAND"),
    (["frobnicate"], "rnnlab: error: argument COMMAND: invalid choice: 'frobnicate'"),
    (["bench", "--quick=yes"], "rnnlab bench: error: argument --quick: ignored explicit argument 'yes'"),
    (["bench", "--out"], "rnnlab bench: error: argument --out: expected one argument"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(message)


def test_bench_out_must_not_be_a_file(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--out", str(target)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"rnnlab bench: error: --out {target} exists and is not a directory\n"


@pytest.fixture
def tiny_bench(monkeypatch):
    """Make `rnnlab bench` run at one tiny size with one round."""
    monkeypatch.setattr(bench, "SIZES", (bench.Size(batch=2, steps=4, input_size=2, hidden_size=3),))
    monkeypatch.setattr(bench, "QUICK_REPEATS", 1)


def test_bench_quick_writes_its_files(tiny_bench, tmp_path, capsys):
    out = tmp_path / "bench-out"
    assert cli.main(["bench", "--quick", "--out", str(out)]) == 0
    report = json.loads((out / "bench.json").read_text())
    assert report["settings"]["quick"] is True and report["settings"]["repeats"] == 1
    assert [s["steps"] for s in report["sizes"]] == [4]  # the sizes themselves, only fewer rounds
    assert all(c["peak_bytes"] is None for c in report["sizes"][0]["contenders"])  # profiled in full runs only
    printed = capsys.readouterr().out
    assert printed == (out / "bench.md").read_text() and "**Quick mode**: 1 rounds instead of 15" in printed


def test_bench_exits_1_and_names_the_failures(tiny_bench, tmp_path, capsys, monkeypatch):
    def broken(input_size, hidden_size):
        raise RuntimeError("no kernel")

    monkeypatch.setattr(bench, "default_contenders", lambda: [bench.Contender("broken", broken)])
    assert cli.main(["bench", "--quick", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "rnnlab bench: 1 contender run(s) failed:\n  B=2 T=4 I=2 H=3: broken: RuntimeError: no kernel\n" in err
