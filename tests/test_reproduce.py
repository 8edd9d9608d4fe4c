"""`rnnlab reproduce`: the registry, the report and results.json, skipped data runs, resume, exit codes.

Every run here trains two or three steps (the hidden ``--steps`` cap), so no target is expected.
"""

import dataclasses
import json
import re
from pathlib import Path

import pytest

from rnnlab import cli, reproduce, runs
from rnnlab.config import build_config
from rnnlab.reproduce import applications, long_time_lags

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def _only(monkeypatch, module, *names):
    """Make ``module``'s experiment run only the runs ``names``."""
    chosen = [run for run in module.EXPERIMENT.runs if run.name in names]
    assert [run.name for run in chosen] == list(names)
    monkeypatch.setattr(module, "EXPERIMENT", dataclasses.replace(module.EXPERIMENT, runs=chosen))


def _results(out, experiment):
    return json.loads((out / experiment / "results.json").read_text())


def _write_data(directory: Path) -> Path:
    """A tiny tinyshakespeare.txt and the three sentiment files, in their formats."""
    (directory / "sentiment").mkdir(parents=True)
    (directory / "tinyshakespeare.txt").write_text("ROMEO:\nBut soft, what light through yonder window breaks?\n" * 60)
    for name in ("amazon_cells_labelled", "imdb_labelled", "yelp_labelled"):
        lines = [f"{'good great fine' if i % 2 else 'bad awful poor'} item {i}\t{i % 2}" for i in range(40)]
        (directory / "sentiment" / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return directory


def test_registry_lists_the_experiments():
    assert reproduce.available() == ["long_time_lags", "applications"]
    assert reproduce.get("long_time_lags") is long_time_lags.EXPERIMENT
    assert [run.name for run in reproduce.get("applications").runs] == [
        "char_lm", "sentiment", "seq_image_rows", "seq_image_pixels", "reverse", "addition", "number_words",
        "elman_words"]
    with pytest.raises(ValueError, match="unknown experiment 'nope'; available: long_time_lags, applications"):
        reproduce.get("nope")


@pytest.mark.parametrize("run", [run for name in reproduce.available() for run in reproduce.get(name).runs],
                         ids=lambda run: run.name)
def test_every_run_has_valid_full_and_quick_settings(run):
    full = build_config(run.task, model=run.model, overrides=run.settings(quick=False, data=Path("d"),
                                                                           fashion=Path("f")))
    quick = build_config(run.task, model=run.model, overrides=run.settings(quick=True, data=Path("d"),
                                                                           fashion=Path("f")))
    assert run.metric in ("mse", "accuracy", "nats_per_char", "exact_match", "onset_ratio")
    assert quick.train.steps <= 1500 and quick.train.max_minutes <= 1.0  # quick means quick
    assert quick.train.eval_every < quick.train.steps  # a learning curve, not one point
    assert full.model == quick.model  # quick mode never changes the network


def test_quick_run_writes_the_report_and_a_second_run_reuses_it(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "[1/3] long_time_lags: adding, LSTM (adding, lstm; 2 steps or 0.75 min, quick)" in captured.err
    assert "| adding, LSTM | lstm | mse |" in captured.out

    results = _results(out, "long_time_lags")
    assert [r["run"] for r in results] == ["adding, LSTM", "temporal order, LSTM", "adding, Elman (tanh)"]
    for r in results:
        assert set(reproduce.RESULT_KEYS) <= set(r)
        assert r["steps"] == 2 and r["quick"] is True and r["skipped"] is False
        assert (Path(r["run_dir"]) / "summary.json").is_file() and Path(r["run_dir"]).parent.name == "quick"
    assert results[0]["target"] == ["<", 0.01] and results[2]["target"] is None and results[2]["met"] is None

    report = (out / "report.md").read_text()
    assert "## Long time lags (Hochreiter & Schmidhuber 1997)" in report
    assert "| run | model | metric | value | target | met | steps | minutes |" in report
    assert "| adding, Elman (tanh) | elman_tanh | mse |" in report and "| reported |" in report
    assert "Quick budget: targets not expected" in report
    assert "task.length 100 → 30" in report  # what quick mode changes is in the report
    pictures = IMAGE.findall(report)
    assert "long_time_lags/quick/adding-lstm/plots/mse.png" in pictures
    assert len(pictures) == 3 and all((out / picture).is_file() for picture in pictures)
    section = (out / "long_time_lags" / "report.md").read_text()
    assert all((out / "long_time_lags" / picture).is_file() for picture in IMAGE.findall(section))

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    checkpoints = sorted(p.name for p in (Path(results[0]["run_dir"]) / "checkpoints").iterdir())
    monkeypatch.setattr(runs, "train", no_training)
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 0
    assert "finished before" in capsys.readouterr().err
    again = _results(out, "long_time_lags")
    assert [r["value"] for r in again] == [r["value"] for r in results]
    assert sorted(p.name for p in (Path(results[0]["run_dir"]) / "checkpoints").iterdir()) == checkpoints


def test_a_longer_budget_continues_the_run(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, long_time_lags, "adding, Elman (tanh)")
    out = tmp_path / "out"
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 0
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "3", "--out", str(out)]) == 0
    [result] = _results(out, "long_time_lags")
    records = [json.loads(line) for line in (Path(result["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
    assert result["steps"] == 3 and [r["step"] for r in records] == [1, 2, 3]


def test_a_run_directory_with_other_settings_is_an_error_not_overwritten(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, long_time_lags, "adding, Elman (tanh)")
    out = tmp_path / "out"
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 0
    config_file = out / "long_time_lags" / "quick" / "adding-elman_tanh" / "config.json"
    config = json.loads(config_file.read_text())
    config["model"]["hidden_size"] = 7
    config_file.write_text(json.dumps(config))
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 1
    [result] = _results(out, "long_time_lags")
    assert result["value"] is None and "holds a run with other settings (model.hidden_size" in result["note"]
    assert json.loads(config_file.read_text())["model"]["hidden_size"] == 7
    assert "| adding, Elman (tanh) | elman_tanh | mse | error |" in (out / "report.md").read_text()


def test_full_mode_exits_1_when_a_target_is_missed(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, long_time_lags, "adding, LSTM")
    out = tmp_path / "out"
    assert cli.main(["reproduce", "long_time_lags", "--steps", "2", "--out", str(out)]) == 1
    [result] = _results(out, "long_time_lags")
    assert result["met"] is False and result["quick"] is False
    assert Path(result["run_dir"]) == out / "long_time_lags" / "adding-lstm"  # full runs live apart from quick ones
    report = (out / "report.md").read_text()
    assert "| < 0.01 | **no** |" in report and "targets not expected" not in report
    assert "failed: long_time_lags: adding, LSTM: mse" in capsys.readouterr().err


def test_data_runs_without_data_are_skipped_and_say_which_option(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, applications, "char_lm", "seq_image_rows", "elman_words")
    out = tmp_path / "out"
    assert cli.main(["reproduce", "applications", "--quick", "--steps", "2", "--out", str(out)]) == 0
    results = {r["run"]: r for r in _results(out, "applications")}
    assert results["char_lm"]["skipped"] and results["seq_image_rows"]["skipped"]
    assert results["char_lm"]["value"] is None and results["elman_words"]["steps"] == 2
    report = (out / "report.md").read_text()
    assert "| char_lm | lstm | nats_per_char | skipped |" in report
    assert "- char_lm: skipped, needs --data DIR" in report
    assert "- seq_image_rows: skipped, needs --fashion DIR" in report
    assert "applications/quick/elman_words/plots/elman_words_errors.png" in IMAGE.findall(report)
    assert "char_lm: skipped" in capsys.readouterr().err


def test_data_runs_read_the_given_directory(tmp_path, monkeypatch):
    _only(monkeypatch, applications, "char_lm", "sentiment")
    data, out = _write_data(tmp_path / "data"), tmp_path / "out"
    assert cli.main(["reproduce", "applications", "--quick", "--steps", "2", "--out", str(out),
                     "--data", str(data)]) == 0
    results = _results(out, "applications")
    assert [(r["skipped"], r["steps"]) for r in results] == [(False, 2), (False, 2)]
    assert str((data / "tinyshakespeare.txt").resolve()) in " ".join(results[0]["settings"])

    (data / "tinyshakespeare.txt").unlink()
    assert cli.main(["reproduce", "applications", "--quick", "--steps", "2", "--out", str(out),
                     "--data", str(data)]) == 0
    char_lm = _results(out, "applications")[0]
    assert char_lm["skipped"] and "tinyshakespeare.txt, which is missing; give --data DIR" in char_lm["note"]


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "nope"], "rnnlab reproduce: error: unknown experiment 'nope'; available: long_time_lags, "
                            "applications\n"),
    (["reproduce"], "rnnlab reproduce: error: give EXPERIMENT names or --all; available: long_time_lags, "
                    "applications\n"),
    (["reproduce", "--all", "applications"], "rnnlab reproduce: error: give EXPERIMENT names or --all, not both\n"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message
    assert not (tmp_path / "reproduce-out").exists()
