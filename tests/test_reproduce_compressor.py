"""`rnnlab reproduce compressor` (issue 14): the runs compose with the same budget for every model, the seeds
are counted, and the quick mode runs end to end."""

import json

import pytest

from rnnlab import cli, reproduce
from rnnlab.reproduce import compressor, runner


def test_registered_with_the_issues_acceptance():
    assert reproduce.get("compressor") is compressor.EXPERIMENT
    seeds = {(model, lag): n for model, lag, n, _ in compressor.PLANS}
    assert seeds[("history_compressor", 20)] >= 10 and seeds[("elman_tanh", 20)] >= 10  # issue 14: of 10 seeds
    assert compressor.SUCCESS == 0.8 and compressor.SOLVED == 0.99
    assert {lag for _, lag, _, _ in compressor.PLANS} == {20, 100, 1000}  # the very deep variant


@pytest.mark.parametrize("quick", [False, True])
def test_every_model_has_the_same_budget_at_a_lag(quick):
    budgets = {}
    for run in compressor.EXPERIMENT.runs:
        if run.in_quick or not quick:
            config = runner._configure(run, run.settings(quick=quick), None)
            task = config.to_dict()["task"]
            budget = (config.train.steps, config.train.batch_size, task["blocks"], config.train.stop_when)
            budgets.setdefault(task["lag"], set()).add(budget)
    assert all(len(found) == 1 for found in budgets.values()), budgets


def test_strings_until_success_are_steps_times_batch_times_strings(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"step": 40}))
    (tmp_path / "config.json").write_text(json.dumps({"train": {"batch_size": 8}, "task": {"blocks": 10}}))
    assert compressor._strings(tmp_path) == 3_200


def test_quick_mode_end_to_end(tmp_path):
    out = tmp_path / "out"
    cli.main(["reproduce", "compressor", "--quick", "--steps", "3", "--out", str(out)])
    rows = json.loads((out / "compressor" / "results.json").read_text())
    trained = [row for row in rows if not row.get("measured")]
    assert [row["model"] for row in trained] == ["history_compressor", "elman_tanh"]
    measured = [row for row in rows if row.get("measured")]
    solved = [row for row in measured if row["metric"] == "fraction of seeds solved"]
    assert [(row["model"], row["seeds"]) for row in solved] == [("history_compressor", 1), ("elman_tanh", 1)]
    assert all(row["value"] in (0.0, 1.0) for row in solved)
