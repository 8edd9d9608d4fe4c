"""`rnnlab reproduce`: the registry, the report and results.json, skipped data runs, the shipped data,
resume, exit codes, quick targets, evaluations of trained runs at other settings.

Every run here trains two or three steps (the hidden ``--steps`` cap), or none (runs.train replaced by a
stand-in), so no target is expected: tests about something else take the quick targets away
(``_no_quick_targets``), and those about targets give the stand-ins the values they judge.
"""

import dataclasses
import inspect
import json
import re
from pathlib import Path

import pytest

import rnnlab
from rnnlab import cli, reproduce, runs
from rnnlab.config import apply_overrides, build_config
from rnnlab.memory import NTM
from rnnlab.runs import compose_config
from rnnlab.reproduce import Evaluation, Run, applications, long_time_lags, ntm, runner

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def _only(monkeypatch, module, *names):
    """Make ``module``'s experiment run only the runs ``names``."""
    chosen = [run for run in module.EXPERIMENT.runs if run.name in names]
    assert [run.name for run in chosen] == list(names)
    monkeypatch.setattr(module, "EXPERIMENT", dataclasses.replace(module.EXPERIMENT, runs=chosen))


def _no_quick_targets(monkeypatch, module):
    """Take the quick targets off ``module``'s runs and evaluations: a run of two steps meets none."""
    plain = [dataclasses.replace(run, quick_target=None, evaluations=[
        dataclasses.replace(evaluation, quick_target=None) for evaluation in run.evaluations])
        for run in module.EXPERIMENT.runs]
    monkeypatch.setattr(module, "EXPERIMENT", dataclasses.replace(module.EXPERIMENT, runs=plain))


def _no_shipped_data(monkeypatch, tmp_path):
    """As on an install without the repository's data/ folder."""
    monkeypatch.setattr(runner, "SHIPPED_DATA", tmp_path / "no-such-folder")


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
    assert reproduce.available() == ["long_time_lags", "applications", "ntm", "gradients", "learning", "lstm1997",
                                     "recursive", "compressor", "gate_variants", "translation"]
    assert reproduce.get("long_time_lags") is long_time_lags.EXPERIMENT
    assert [run.name for run in reproduce.get("applications").runs] == [
        "char_lm", "sentiment", "seq_image_rows", "seq_image_pixels", "reverse", "addition", "number_words",
        "elman_words"]
    assert reproduce.get("ntm") is ntm.EXPERIMENT
    assert [run.name for run in ntm.EXPERIMENT.runs] == [
        f"{task}, {model}" for task in ("copy", "repeat copy", "associative recall", "ngrams", "priority sort")
        for model in ("NTM", "LSTM")]
    with pytest.raises(ValueError, match="unknown experiment 'nope'; available: long_time_lags, applications, ntm, "
                                         "gradients, learning, lstm1997, recursive, compressor, gate_variants, translation"):
        reproduce.get("nope")


NTM_SLOTS = inspect.signature(NTM).parameters["memory_slots"].default  # the NTM's default memory

# runs whose quick budget shows nothing that a target could judge (each says why beside its Run)
QUICK_REPORTED = {"seq_image_pixels", "repeat copy, LSTM", "associative recall, LSTM"}


@pytest.mark.parametrize("run", [run for name in reproduce.available() for run in reproduce.get(name).runs],
                         ids=lambda run: run.name)
def test_every_run_and_evaluation_has_valid_full_and_quick_settings(run):
    full = compose_config(run.task, model=run.model, overrides=run.settings(quick=False, data=Path("d"),
                                                                            fashion=Path("f")))[0]
    if not run.in_quick:  # a run of the full budget only (a seed of a battery): --quick leaves it out
        assert not run.quick and run.quick_target is None
        return
    quick = compose_config(run.task, model=run.model, overrides=run.settings(quick=True, data=Path("d"),
                                                                             fashion=Path("f")))[0]
    assert run.metric in ("mse", "accuracy", "nats_per_char", "exact_match", "onset_ratio", "bit_errors_per_sequence",
                          "bits_per_sequence", "excess_bits_per_sequence")
    assert quick.train.steps <= 1500 and quick.train.max_minutes <= 1.0  # quick means quick
    assert quick.train.eval_every < quick.train.steps  # a learning curve, not one point
    assert run.quick_target is not None or run.name in QUICK_REPORTED, "quick mode judges what it can"
    if run.quick_target is not None and run.target is not None:  # the quick target lies on the same side
        assert run.quick_target[0].strip("=") == run.target[0].strip("=")
    if run.model == "ntm":  # quick mode gives the NTM a smaller memory, and changes nothing else of the network
        assert quick.model.options == {**full.model.options, "memory_slots": 32}
        assert dataclasses.replace(full.model, options=quick.model.options) == quick.model
    else:
        assert full.model == quick.model  # quick mode never changes the network
    for config in (full, quick):  # the training settings, with any curriculum
        if not run.sources:
            runs.build_curriculum(config, runs.build_task(config))
    configs = [full, quick]
    for evaluation in run.evaluations:  # each evaluation is a valid setting of the trained run
        configs += [apply_overrides(full, evaluation.settings(quick=False)),
                    apply_overrides(quick, evaluation.settings(quick=True))]
    for config in configs:
        if not run.sources:  # a task that reads files is built when they are there
            runs.build_task(config)
        if run.model == "ntm" and hasattr(config.task_config, "max_length"):  # the sequence fits in the memory
            assert config.task_config.max_length <= config.model.options.get("memory_slots", NTM_SLOTS)


def test_quick_run_writes_the_report_and_a_second_run_reuses_it(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    # two steps miss the quick targets: a real failure, exit code 1
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "[1/3] long_time_lags: adding, LSTM (adding, lstm; 2 steps or 0.75 min, quick)" in captured.err
    assert "| adding, LSTM | lstm | mse |" in captured.out
    op, bound = long_time_lags.EXPERIMENT.runs[0].quick_target
    assert f"(quick target {op} {bound:g}; full < 0.01) after 2 steps" in captured.err
    assert f"failed: long_time_lags: adding, LSTM: mse" in captured.err
    assert f"misses the quick target {op} {bound:g}" in captured.err

    results = _results(out, "long_time_lags")
    assert [r["run"] for r in results] == ["adding, LSTM", "temporal order, LSTM", "adding, Elman (tanh)"]
    for r in results:
        assert set(reproduce.RESULT_KEYS) <= set(r)
        assert r["steps"] == 2 and r["quick"] is True and r["skipped"] is False
        assert (Path(r["run_dir"]) / "summary.json").is_file() and Path(r["run_dir"]).parent.name == "quick"
    assert results[0]["target"] == ["<", 0.01] and results[0]["quick_target"] == [op, bound]
    assert results[0]["met"] is False  # judged by the quick target
    assert results[2]["target"] is None and results[2]["quick_target"] == ["<", 0.05]  # reported in full mode

    report = (out / "report.md").read_text()
    assert "## Long time lags (Hochreiter & Schmidhuber 1997)" in report
    assert "| run | model | metric | value | quick target | met | full target | steps | minutes |" in report
    assert re.search(rf"\| adding, LSTM \| lstm \| mse \| [0-9.e-]+ \| {op} {bound:g} \| \*\*no\*\* \| < 0.01 \| 2 \|",
                     report)
    assert re.search(r"\| adding, Elman \(tanh\) \| elman_tanh \| mse \| [0-9.e-]+ \| < 0.05 \| \*\*no\*\* "
                     r"\| reported \| 2 \|", report)
    assert "Quick budget: judged on quick targets" in report
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
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 1
    assert "finished before" in capsys.readouterr().err
    again = _results(out, "long_time_lags")
    assert [r["value"] for r in again] == [r["value"] for r in results]
    assert sorted(p.name for p in (Path(results[0]["run_dir"]) / "checkpoints").iterdir()) == checkpoints


def test_a_longer_budget_continues_the_run(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, long_time_lags, "adding, Elman (tanh)")
    _no_quick_targets(monkeypatch, long_time_lags)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 0
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "3", "--out", str(out)]) == 0
    [result] = _results(out, "long_time_lags")
    records = [json.loads(line) for line in (Path(result["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
    assert result["steps"] == 3 and [r["step"] for r in records] == [1, 2, 3]


def test_a_longer_budget_leaves_a_run_that_stopped_at_its_target_as_it_is(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, long_time_lags, "adding, Elman (tanh)")
    _no_quick_targets(monkeypatch, long_time_lags)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 0
    [result] = _results(out, "long_time_lags")
    summary_file = Path(result["run_dir"]) / "summary.json"
    summary = json.loads(summary_file.read_text())
    summary_file.write_text(json.dumps({**summary, "stopped": "target"}))  # as if its stop_when had been met

    def no_training(*args, **kwargs):
        raise AssertionError("a run that stopped at its target was trained on")

    monkeypatch.setattr(runs, "train", no_training)
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "3", "--out", str(out)]) == 0
    [again] = _results(out, "long_time_lags")
    assert again["steps"] == 2 and "finished before" in capsys.readouterr().err


def test_a_run_directory_with_other_settings_is_an_error_not_overwritten(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, long_time_lags, "adding, Elman (tanh)")
    _no_quick_targets(monkeypatch, long_time_lags)
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
    assert "| < 0.01 | **no** |" in report and reproduce.QUICK_NOTE not in report and "quick target" not in report
    assert "failed: long_time_lags: adding, LSTM: mse" in capsys.readouterr().err


def test_data_runs_without_data_are_skipped_and_say_which_option(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, applications, "char_lm", "seq_image_rows", "elman_words")
    _no_quick_targets(monkeypatch, applications)
    _no_shipped_data(monkeypatch, tmp_path)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "applications", "--quick", "--steps", "2", "--out", str(out)]) == 0
    results = {r["run"]: r for r in _results(out, "applications")}
    assert results["char_lm"]["skipped"] and results["seq_image_rows"]["skipped"]
    assert results["char_lm"]["value"] is None and results["elman_words"]["steps"] == 2
    report = (out / "report.md").read_text()
    assert "| char_lm | lstm | nats_per_char | skipped |" in report
    assert "- char_lm: skipped, needs --data DIR" in report
    assert "- seq_image_rows: skipped, needs --fashion DIR (the Fashion-MNIST IDX files; Debian's " \
           "dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist), not given" in report
    assert "the repository's own" not in report
    assert "applications/quick/elman_words/plots/elman_words_errors.png" in IMAGE.findall(report)
    assert "char_lm: skipped" in capsys.readouterr().err


def test_data_runs_read_the_given_directory(tmp_path, monkeypatch):
    _only(monkeypatch, applications, "char_lm", "sentiment")
    _no_quick_targets(monkeypatch, applications)
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


def _summaries(monkeypatch, **values):
    """runs.train replaced: a summary with ``values`` (metric -> value); returns the configs it was given."""
    configs = []

    def train(config, run_dir, **kwargs):
        configs.append(config)
        return {"step": 5, "skipped_steps": 0, "seconds": 6.0, **values}

    monkeypatch.setattr(runs, "train", train)
    return configs


def test_without_data_the_repository_data_is_read(tmp_path, monkeypatch, capsys):
    shipped = Path(rnnlab.__file__).resolve().parents[2] / "data"  # the clone's data/ (installed editable)
    assert runner.shipped_data() == shipped
    assert (shipped / "tinyshakespeare.txt").stat().st_size == 1_115_394
    assert all((shipped / "sentiment" / f"{name}_labelled.txt").is_file() for name in ("amazon_cells", "imdb", "yelp"))

    _only(monkeypatch, applications, "char_lm", "sentiment")
    configs = _summaries(monkeypatch, nats_per_char=1.0, accuracy=0.9)  # meets both quick targets
    out = tmp_path / "out"
    assert cli.main(["reproduce", "applications", "--quick", "--out", str(out)]) == 0
    char_lm, sentiment = configs
    assert char_lm.task_config.path == str(shipped / "tinyshakespeare.txt")
    assert sentiment.task_config.path == [str(shipped / "sentiment" / f"{name}_labelled.txt")
                                          for name in ("amazon_cells", "imdb", "yelp")]
    results = _results(out, "applications")
    assert [(r["skipped"], r["met"]) for r in results] == [(False, True), (False, True)]
    assert f"task.path={shipped}/tinyshakespeare.txt" in results[0]["settings"]
    assert f"Data: the repository's own, {shipped} (`--data DIR` to read another)." in (out / "report.md").read_text()
    assert f"data: {shipped} (the repository's data/" in capsys.readouterr().err


def test_a_file_missing_from_the_default_data_skips_its_run(tmp_path, monkeypatch):
    data = _write_data(tmp_path / "data")
    (data / "tinyshakespeare.txt").unlink()
    monkeypatch.setattr(runner, "SHIPPED_DATA", data)
    _only(monkeypatch, applications, "char_lm", "sentiment")
    configs = _summaries(monkeypatch, accuracy=0.9)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "applications", "--quick", "--out", str(out)]) == 0  # a skipped run is no failure
    char_lm, sentiment = _results(out, "applications")
    assert char_lm["skipped"] and char_lm["note"] == (
        f"needs {data.resolve()}/tinyshakespeare.txt, which is missing; give --data DIR (the directory holding "
        "tinyshakespeare.txt and sentiment/*.txt)")
    assert not sentiment["skipped"] and [config.task for config in configs] == ["sentiment"]


def test_outside_a_clone_there_is_no_default_data(tmp_path, monkeypatch):
    # a wheel in site-packages: no data/ beside src/, even if a folder called data lies where it would
    site = tmp_path / "lib" / "python3" / "site-packages"
    (site.parent / "data").mkdir(parents=True)
    monkeypatch.setattr(runner, "__file__", str(site / "rnnlab" / "reproduce" / "runner.py"))
    monkeypatch.setattr(runner, "SHIPPED_DATA", site.parent / "data")
    assert runner.shipped_data() is None
    _only(monkeypatch, applications, "char_lm")
    out = tmp_path / "out"
    assert cli.main(["reproduce", "applications", "--quick", "--out", str(out)]) == 0
    [char_lm] = _results(out, "applications")
    assert char_lm["skipped"] and char_lm["note"] == ("needs --data DIR (the directory holding tinyshakespeare.txt "
                                                      "and sentiment/*.txt), not given")


# ---- quick targets ---------------------------------------------------------------------------------

def _judged_copy(monkeypatch):
    """ntm's experiment as one run, copy with the NTM, its quick target <= 1 and one evaluation whose quick
    target is <= 5 (full targets: <= 0.1 and <= 1)."""
    copy = next(run for run in ntm.EXPERIMENT.runs if run.name == "copy, NTM")
    longer = Evaluation("length 40", ["task.min_length=40", "task.max_length=40"], ("<=", 1.0),
                        quick=["task.min_length=10", "task.max_length=10"], quick_label="length 10",
                        quick_target=("<=", 5.0))
    run = dataclasses.replace(copy, quick_target=("<=", 1), evaluations=[longer])
    monkeypatch.setattr(ntm, "EXPERIMENT", dataclasses.replace(ntm.EXPERIMENT, runs=[run]))


def test_quick_mode_is_judged_by_the_quick_targets(tmp_path, monkeypatch, capsys):
    _judged_copy(monkeypatch)
    _stand_ins(monkeypatch, value=0.5)  # the run 0.5 (full target <= 0.1 missed), its evaluation 1.5
    out = tmp_path / "out"
    assert cli.main(["reproduce", "ntm", "--quick", "--out", str(out)]) == 0
    results = _results(out, "ntm")
    assert [(r["run"], r["value"], r["target"], r["quick_target"], r["met"]) for r in results] == [
        ("copy, NTM", 0.5, ["<=", 0.1], ["<=", 1.0], True),
        ("copy, NTM at length 10", 1.5, ["<=", 1.0], ["<=", 5.0], True)]
    report = (out / "report.md").read_text()
    assert "| copy, NTM | ntm | bit_errors_per_sequence | 0.5 | <= 1 | yes | <= 0.1 | 5 | 0.10 |" in report
    assert "| copy, NTM at length 10 | ntm | bit_errors_per_sequence | 1.5 | <= 5 | yes | <= 1 | 5 | 0.10 |" in report
    err = capsys.readouterr().err
    assert "copy, NTM: bit_errors_per_sequence 0.5 (quick target <= 1; full <= 0.1) after 5 steps" in err
    assert "failed" not in err


def test_a_quick_run_that_misses_its_quick_target_fails(tmp_path, monkeypatch, capsys):
    _judged_copy(monkeypatch)
    _stand_ins(monkeypatch, value=4.5)  # the run 4.5 misses <= 1; its evaluation 5.5 misses <= 5
    out = tmp_path / "out"
    assert cli.main(["reproduce", "ntm", "--quick", "--out", str(out)]) == 1
    assert [r["met"] for r in _results(out, "ntm")] == [False, False]
    report = (out / "report.md").read_text()
    assert "| copy, NTM | ntm | bit_errors_per_sequence | 4.5 | <= 1 | **no** | <= 0.1 | 5 | 0.10 |" in report
    err = capsys.readouterr().err
    assert "failed: ntm: copy, NTM: bit_errors_per_sequence 4.5 misses the quick target <= 1" in err
    assert "failed: ntm: copy, NTM at length 10: bit_errors_per_sequence 5.5 misses the quick target <= 5" in err

    assert cli.main(["reproduce", "ntm", "--out", str(out)]) == 1  # full mode judges the full targets only
    assert [r["met"] for r in _results(out, "ntm")] == [False, False]
    assert "misses <= 0.1" in capsys.readouterr().err


def test_quick_targets_are_checked_when_declared():
    run = ntm.EXPERIMENT.runs[0]
    with pytest.raises(ValueError, match="run copy, NTM: target operator must be one of <, <=, >=, >; got '=='"):
        dataclasses.replace(run, quick_target=("==", 1))
    with pytest.raises(ValueError, match=r"run copy, NTM: a target is \(operator, number\), e.g. \('<', 0.01\); "
                                         r"got 0.5"):
        dataclasses.replace(run, quick_target=0.5)
    with pytest.raises(ValueError, match="evaluation longer: a target is"):
        Evaluation("longer", ["task.max_length=9"], quick_target=("<", "few"))
    plain = Run("x", "adding", "lstm", [], "mse", ("<", 0.01), quick_target=("<", "0.02"))
    assert plain.quick_target == ("<", 0.02) and plain.met(0.015, quick=True) and not plain.met(0.015)
    assert Run("x", "adding", "lstm", [], "mse", None).met(0.5, quick=True) is None


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "nope"], "rnnlab reproduce: error: unknown experiment 'nope'; available: long_time_lags, "
                            "applications, ntm, gradients, learning, lstm1997, recursive, compressor, "
                            "gate_variants, translation\n"),
    (["reproduce"], "rnnlab reproduce: error: give EXPERIMENT names or --all; available: long_time_lags, "
                    "applications, ntm, gradients, learning, lstm1997, recursive, compressor, "
                    "gate_variants, translation\n"),
    (["reproduce", "--all", "applications"], "rnnlab reproduce: error: give EXPERIMENT names or --all, not both\n"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == message
    assert not (tmp_path / "reproduce-out").exists()


# ---- evaluations of trained runs at other settings ------------------------------------------------

def test_evaluations_add_rows_with_the_pictures_drawn_at_their_settings(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, ntm, "copy, NTM", "copy, LSTM")
    out = tmp_path / "out"
    # two steps miss the quick targets
    assert cli.main(["reproduce", "ntm", "--quick", "--steps", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "[1/2] ntm: copy, NTM at length 10 (task.min_length=10 task.max_length=10): bit_errors_per_sequence" in err

    results = {r["run"]: r for r in _results(out, "ntm")}
    assert list(results) == ["copy, NTM", "copy, NTM at length 10", "copy, NTM at length 20",
                             "copy, NTM at length 30", "copy, LSTM", "copy, LSTM at length 10"]
    parent, longer = results["copy, NTM"], results["copy, NTM at length 10"]
    assert "evaluation" not in parent and longer["evaluation"] == "length 10"
    assert set(reproduce.RESULT_KEYS) | {"note", "settings", "quick_changes", "pictures"} <= set(longer)
    assert {key: longer[key] for key in ("task", "model", "metric", "steps", "minutes", "run_dir", "quick")} == {
        key: parent[key] for key in ("task", "model", "metric", "steps", "minutes", "run_dir", "quick")}
    assert longer["target"] == ["<=", 1.0] and longer["quick_target"] == ["<=", 20.0] and longer["value"] > 0
    assert longer["met"] is (longer["value"] <= 20.0)  # judged by the quick target
    assert results["copy, NTM at length 20"]["target"] is None and results["copy, NTM at length 20"]["met"] is None
    assert longer["settings"] == ["task.min_length=40", "task.max_length=40"]  # those of the full evaluation
    assert longer["quick_changes"] == ["task.min_length 40 → 10", "task.max_length 40 → 10"]
    assert longer["pictures"] == ["quick/copy-ntm/plots/eval-task.min_length=10,task.max_length=10/ntm_trace.png"]
    assert "quick/copy-ntm/plots/ntm_trace.png" in parent["pictures"]  # the trace at the training lengths
    # the LSTM draws no trace; its gradient flow at the new length (rnnlab eval --plots, analysis/monitor.py)
    lstm = results["copy, LSTM at length 10"]
    assert lstm["pictures"] == ["quick/copy-lstm/plots/eval-task.min_length=10,task.max_length=10/gradient_flow.png"]
    assert lstm["value"] > 0

    report = (out / "report.md").read_text()
    assert "| copy, NTM at length 10 | ntm | bit_errors_per_sequence |" in report
    assert "- copy, NTM, evaluated at: `task.min_length=40` `task.max_length=40`" in report  # the full settings
    assert "- copy, NTM at length 10: task.min_length 40 → 10, task.max_length 40 → 10" in report
    pictures = IMAGE.findall(report)
    assert "ntm/quick/copy-ntm/plots/eval-task.min_length=30,task.max_length=30/ntm_trace.png" in pictures
    assert all((out / picture).is_file() for picture in pictures)
    section = (out / "ntm" / "report.md").read_text()
    assert all((out / "ntm" / picture).is_file() for picture in IMAGE.findall(section))

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(runs, "train", no_training)  # a finished run is evaluated again, not trained
    assert cli.main(["reproduce", "ntm", "--quick", "--steps", "2", "--out", str(out)]) == 1
    assert [r["value"] for r in _results(out, "ntm")] == [r["value"] for r in results.values()]


def _stand_ins(monkeypatch, value=3.0):
    """runs.train and runs.evaluate replaced: a summary with ``value`` for every metric, and one picture."""
    calls = []

    def train(config, run_dir, **kwargs):
        calls.append(("train", Path(run_dir).name))
        return {"step": 5, "skipped_steps": 0, "seconds": 6.0, "bit_errors_per_sequence": value,
                "bits_per_sequence": value}

    def evaluate(run_dir, overrides=(), *, log=print, plots=False):
        calls.append(("evaluate", tuple(overrides)))
        assert plots
        directory = runs.eval_plots_directory(run_dir, overrides)
        directory.mkdir(parents=True)
        (directory / "ntm_trace.png").write_bytes(b"\x89PNG")
        return {"step": 5, "skipped_steps": 0, "seconds": 6.0, "bit_errors_per_sequence": value + 1,
                "bits_per_sequence": value + 1}

    monkeypatch.setattr(runs, "train", train)
    monkeypatch.setattr(runs, "evaluate", evaluate)
    return calls


def test_full_mode_evaluations_are_judged_by_their_targets(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, ntm, "copy, NTM")
    calls = _stand_ins(monkeypatch, value=0.05)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "ntm", "--out", str(out)]) == 1  # length 40: 1.05 misses <= 1
    assert calls == [("train", "copy-ntm"), ("evaluate", ("task.min_length=40", "task.max_length=40")),
                     ("evaluate", ("task.min_length=80", "task.max_length=80")),
                     ("evaluate", ("task.min_length=120", "task.max_length=120"))]
    results = _results(out, "ntm")
    assert [(r["run"], r["value"], r["met"], r["steps"], r["minutes"]) for r in results] == [
        ("copy, NTM", 0.05, True, 5, 0.1), ("copy, NTM at length 40", 1.05, False, 5, 0.1),
        ("copy, NTM at length 80", 1.05, None, 5, 0.1), ("copy, NTM at length 120", 1.05, None, 5, 0.1)]
    assert results[3]["pictures"] == ["copy-ntm/plots/eval-task.min_length=120,task.max_length=120/ntm_trace.png"]
    report = (out / "report.md").read_text()
    assert "| copy, NTM at length 40 | ntm | bit_errors_per_sequence | 1.05 | <= 1 | **no** | 5 |" in report
    assert "| copy, NTM at length 80 | ntm | bit_errors_per_sequence | 1.05 | reported |  | 5 |" in report
    assert "failed: ntm: copy, NTM at length 40: bit_errors_per_sequence 1.05 misses <= 1" in capsys.readouterr().err


def test_evaluations_of_a_failed_run_fail_and_of_a_skipped_run_are_skipped(tmp_path, monkeypatch, capsys):
    calls = _stand_ins(monkeypatch)

    def broken(config, run_dir, **kwargs):
        raise runs.RunError("the disk is full")

    monkeypatch.setattr(runs, "train", broken)
    _only(monkeypatch, ntm, "copy, NTM")
    _no_shipped_data(monkeypatch, tmp_path)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "ntm", "--quick", "--out", str(out)]) == 1
    assert calls == []  # nothing evaluated
    results = _results(out, "ntm")
    assert [(r["value"], r["skipped"]) for r in results] == [(None, False)] * 4
    assert results[1]["note"] == "error: not evaluated, the run stopped on an error"
    report = (out / "report.md").read_text()
    assert "| copy, NTM at length 10 | ntm | bit_errors_per_sequence | error |" in report
    err = capsys.readouterr().err
    assert "failed: ntm: copy, NTM: error: the disk is full" in err
    assert "failed: ntm: copy, NTM at length 30: error: not evaluated, the run stopped on an error" in err

    char_lm = next(run for run in applications.EXPERIMENT.runs if run.name == "char_lm")
    longer = dataclasses.replace(char_lm, evaluations=[Evaluation("300 characters", ["task.seq_length=300"])])
    monkeypatch.setattr(applications, "EXPERIMENT", dataclasses.replace(applications.EXPERIMENT, runs=[longer]))
    assert cli.main(["reproduce", "applications", "--quick", "--out", str(out)]) == 0
    [run, evaluation] = _results(out, "applications")
    assert evaluation["run"] == "char_lm at 300 characters" and evaluation["evaluation"] == "300 characters"
    assert evaluation["skipped"] and evaluation["note"] == run["note"] and "needs --data DIR" in run["note"]
    assert "| char_lm at 300 characters | lstm | nats_per_char | skipped |" in (out / "report.md").read_text()


def test_a_run_may_leave_its_evaluations_out_of_quick_mode(tmp_path, monkeypatch, capsys):
    calls = _stand_ins(monkeypatch)
    _no_quick_targets(monkeypatch, ntm)
    copy = next(run for run in ntm.EXPERIMENT.runs if run.name == "copy, LSTM")
    monkeypatch.setattr(ntm, "EXPERIMENT", dataclasses.replace(
        ntm.EXPERIMENT, runs=[dataclasses.replace(copy, quick_evaluations=False)]))
    out = tmp_path / "out"
    assert cli.main(["reproduce", "ntm", "--quick", "--out", str(out)]) == 0
    assert calls == [("train", "copy-lstm")]
    [_, evaluation] = _results(out, "ntm")
    assert evaluation["skipped"] and evaluation["note"] == "not evaluated in quick mode" and evaluation["value"] is None
    assert cli.main(["reproduce", "ntm", "--out", str(out)]) == 0  # full mode evaluates
    assert calls[-1] == ("evaluate", ("task.min_length=40", "task.max_length=40"))


def test_evaluations_are_checked_when_declared():
    with pytest.raises(ValueError, match=r"evaluation longer: overrides must be task\.\* settings \(or "
                                         r"train\.eval_size, the held-out set's size\); got 'train.lr=1'"):
        Evaluation("longer", ["train.lr=1"])
    with pytest.raises(ValueError, match="target operator must be one of"):
        Evaluation("longer", ["task.max_length=9"], ("==", 1))
    run = ntm.EXPERIMENT.runs[0]
    with pytest.raises(ValueError, match="evaluation labels must differ"):
        dataclasses.replace(run, evaluations=[Evaluation("a", ["task.max_length=9"]), Evaluation("a", [])])
    assert Evaluation("a", ["task.max_length=9"]).settings(quick=True) == ["task.max_length=9"]  # no quick: the same


def test_an_evaluation_may_read_another_metric_than_its_run(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, long_time_lags, "adding, Elman (tanh)")
    _no_quick_targets(monkeypatch, long_time_lags)
    [run] = long_time_lags.EXPERIMENT.runs
    evaluations = (Evaluation("longer", ["task.length=40"], metric="accuracy"),
                   Evaluation("nothing", ["task.length=40"], metric="bits_per_char"))
    monkeypatch.setattr(long_time_lags, "EXPERIMENT", dataclasses.replace(
        long_time_lags.EXPERIMENT, runs=[dataclasses.replace(run, evaluations=evaluations)]))
    out = tmp_path / "out"
    assert cli.main(["reproduce", "long_time_lags", "--quick", "--steps", "2", "--out", str(out)]) == 1
    results = {r["run"]: r for r in _results(out, "long_time_lags")}
    longer, nothing = results["adding, Elman (tanh) at longer"], results["adding, Elman (tanh) at nothing"]
    assert longer["metric"] == "accuracy" and 0.0 <= longer["value"] <= 1.0
    assert results["adding, Elman (tanh)"]["metric"] == "mse"
    assert nothing["value"] is None and nothing["note"].startswith("error: the evaluation gives no bits_per_char")


def test_a_second_run_reads_the_evaluations_of_finished_runs_back(tmp_path, monkeypatch, capsys):
    _only(monkeypatch, ntm, "copy, LSTM")
    out = tmp_path / "out"
    cli.main(["reproduce", "ntm", "--quick", "--steps", "2", "--out", str(out)])
    first = {r["run"]: r for r in _results(out, "ntm")}

    def no_evaluation(*args, **kwargs):
        raise AssertionError("a finished run's evaluation was scored again")

    monkeypatch.setattr(runs, "evaluate", no_evaluation)
    cli.main(["reproduce", "ntm", "--quick", "--steps", "2", "--out", str(out)])
    again = {r["run"]: r for r in _results(out, "ntm")}
    longer = again["copy, LSTM at length 10"]
    assert longer["value"] == first["copy, LSTM at length 10"]["value"] and longer["pictures"]
    monkeypatch.undo()
    _only(monkeypatch, ntm, "copy, LSTM")
    cli.main(["reproduce", "ntm", "--quick", "--steps", "3", "--out", str(out)])  # trained on: scored again
    assert {r["run"]: r for r in _results(out, "ntm")}["copy, LSTM at length 10"]["steps"] == 3
