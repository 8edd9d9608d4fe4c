"""`rnnlab reproduce lstm1997` (issue 13): the battery's runs compose, the quick mode runs end to end, and the
measurement reads runs back into success rates and sequences until success, checked on runs written by hand."""

import json

import pytest

from rnnlab import cli, reproduce
from rnnlab.reproduce import lstm1997, runner


def test_registered_with_every_problem_of_the_paper():
    assert reproduce.get("lstm1997") is lstm1997.EXPERIMENT
    keys = [problem.key for problem in lstm1997.PROBLEMS]
    assert keys == ["reber", "reber-continual", "2a", "2b", "2c-100", "2c-1000", "3a", "3b", "3c", "3a-1000",
                    "adding-100", "adding-500", "adding-1000", "multiplication", "6a", "6b", "delayed_xor"]
    directories = [run.directory for run in lstm1997.EXPERIMENT.runs]
    assert len(set(directories)) == len(directories)
    # the acceptance: lstm1997 on the embedded Reber grammar in >= 90% of >= 10 seeds, a 1000-step lag in
    # >= 3 of 5 seeds
    reber = lstm1997.PROBLEMS[0]
    assert reber.success == 0.9 and reber.plans["bptt"].seeds >= 10
    # continual embedded Reber: with the forget gate >= 80% of seeds, without it the failure (Gers et al. 2000)
    continual = next(p for p in lstm1997.PROBLEMS if p.key == "reber-continual")
    assert continual.plans["forget"].target == (">=", 0.8) and continual.plans["bptt"].target == ("<=", 0.2)
    assert continual.test[1] == ("task.strings_per_stream=10000", "train.eval_size=16")
    tests = [e for r in lstm1997.EXPERIMENT.runs if r.directory.startswith("reber-continual") for e in r.evaluations]
    assert tests and all(e.metric == "stream_accuracy" for e in tests)  # the test's own figure, not accuracy
    long = next(p for p in lstm1997.PROBLEMS if p.key == "3a-1000")
    assert long.success == 0.6 and long.plans["bptt"].seeds == 5 and "task.min_length=1000" in long.task_settings


@pytest.mark.parametrize("quick", [False, True])
def test_every_run_composes_a_valid_configuration(quick):
    runs = [run for run in lstm1997.EXPERIMENT.runs if run.in_quick or not quick]
    assert runs
    for run in runs:
        config = runner._configure(run, run.settings(quick=quick), None)
        assert config.train.stop_when is not None
        if run.model == "lstm1997" and "1997 rule" in run.name:
            assert config.train.algorithm == "lstm_truncated"
            assert config.train.optimizer == ("sgd" if "SGD" in run.name else "adam")


def test_quick_mode_leaves_out_the_full_budget_runs(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["reproduce", "lstm1997", "--quick", "--steps", "2", "--out", str(out)])
    assert code == 1  # two steps solve nothing: the quick targets are missed, and said so
    rows = json.loads((out / "lstm1997" / "results.json").read_text())
    trained = [row for row in rows if not row.get("measured")]
    assert len(trained) == sum(run.in_quick for run in lstm1997.EXPERIMENT.runs) == 2
    measured = [row for row in rows if row.get("measured")]
    assert {row["problem"] for row in measured} == {"2c-100", "adding-100"}
    assert all(row["seeds"] == 1 and row["value"] == 0.0 for row in measured)
    assert any(path.endswith("curves-adding-100.png") for row in measured for path in row["pictures"])
    for row in measured:
        for path in row["pictures"]:
            assert (out / "lstm1997" / path).is_file()


def _fake_run(folder, name, *, batch, stopped, step, accuracy):
    run_dir = folder / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"train": {"batch_size": batch}}))
    (run_dir / "summary.json").write_text(json.dumps({"step": step, "stopped": stopped, "accuracy": accuracy}))
    records = [{"step": s, "eval_accuracy": accuracy * s / step} for s in range(100, step + 1, 100)]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return {"run_dir": str(run_dir), "skipped": False, "value": accuracy, "run": name}


def test_the_measurement_counts_seeds_and_sequences_by_hand(tmp_path, monkeypatch):
    problem = lstm1997.Problem("toy", "Toy", "reber", (), "accuracy >= 1.0", cells=2, block_size=1, options="",
                               plans={"bptt": lstm1997.Plan((), 4), "lstm": lstm1997.Plan((), 2)},
                               paper="–", paper_sequences=1_000, success=0.5)
    monkeypatch.setattr(lstm1997, "PROBLEMS", (problem,))
    folder = tmp_path / "lstm1997"
    rows = [_fake_run(folder, "toy-bptt-s0", batch=16, stopped="target", step=300, accuracy=1.0),
            _fake_run(folder, "toy-bptt-s1", batch=16, stopped="target", step=500, accuracy=1.0),
            _fake_run(folder, "toy-bptt-s2", batch=16, stopped="steps", step=900, accuracy=0.5),
            _fake_run(folder, "toy-bptt-s3", batch=16, stopped="target", step=100, accuracy=1.0),
            _fake_run(folder, "toy-lstm-s0", batch=32, stopped="steps", step=400, accuracy=0.9)]
    # toy-lstm-s1 never ran: it is not counted
    monkeypatch.setattr(lstm1997, "_first_solved", lambda *args: None)  # no checkpoint to draw the cells from
    measured = lstm1997.measure(runner.Measuring(folder, False, None, tuple(rows), log=lambda line: None))
    bptt, lstm = measured
    assert bptt["value"] == 0.75 and bptt["solved"] == 3 and bptt["seeds"] == 4
    assert (bptt["median_sequences"], bptt["min_sequences"], bptt["max_sequences"]) == (4_800, 1_600, 8_000)
    assert bptt["met"] is True and bptt["target"] == [">=", 0.5]  # lstm1997 rows are judged by the acceptance
    assert lstm["value"] == 0.0 and lstm["seeds"] == 1 and lstm["median_sequences"] is None
    assert lstm["target"] is None and lstm["met"] is None  # today's LSTM is reported beside
    assert (folder / "curves-toy.png").is_file()


def test_a_test_at_other_settings_must_pass_too(tmp_path, monkeypatch):
    """With ``test``, a run that met its stopping rule counts as solved only if its test row meets the test's
    criterion (continual Reber: trained on streams of 100 strings, judged on streams of 1,000)."""
    problem = lstm1997.Problem("toy", "Toy", "reber", (), "accuracy >= 1.0", cells=2, block_size=1, options="",
                               plans={"forget": lstm1997.Plan((), 2, target=(">=", 0.8))}, paper="–",
                               paper_sequences=None, test=("long", ("task.strings_per_stream=1000",),
                                                           "strings_before_error >= 1000"))
    monkeypatch.setattr(lstm1997, "PROBLEMS", (problem,))
    monkeypatch.setattr(lstm1997, "_first_solved", lambda *args: None)
    folder = tmp_path / "lstm1997"
    rows = []
    for seed, reached in ((0, 1000.0), (1, 218.0)):
        row = _fake_run(folder, f"toy-forget-s{seed}", batch=32, stopped="target", step=500, accuracy=1.0)
        rows += [row, {**row, "run": f"toy s{seed} at long", "evaluation": "long", "value": reached}]
    (measured,) = lstm1997.measure(runner.Measuring(folder, False, None, tuple(rows), log=lambda line: None))
    assert measured["value"] == 0.5 and measured["solved"] == 1 and measured["met"] is False  # 0.5 < 0.8
