"""`rnnlab reproduce recursive` (issue 14): the runs compose, the Tree-LSTM and the LSTM are compared at equal
parameter counts, and the quick mode runs end to end with its throughput table."""

import json

import pytest

from rnnlab import cli, reproduce, runs
from rnnlab.reproduce import recursive, runner


def test_registered_with_the_issues_acceptance():
    assert reproduce.get("recursive") is recursive.EXPERIMENT
    tree = next(run for run in recursive.EXPERIMENT.runs if run.directory == "listops-tree_lstm")
    assert tree.target == (">=", 0.95) and tree.metric == "accuracy"  # issue 14: Tree-LSTM >= 95% on ListOps
    assert recursive.SPEEDUP_TARGET == 10.0


@pytest.mark.parametrize("task", ["listops", "expression_trees"])
def test_the_tree_lstm_and_the_lstm_have_equal_parameter_counts_within_one_percent(task):
    counts = {}
    for run in recursive.EXPERIMENT.runs:
        if run.task == task:
            config = runner._configure(run, run.settings(quick=False), None)
            model = runs.build_model(config, runs.build_task(config))
            counts[run.model] = sum(p.numel() for p in model.parameters())
    assert set(counts) == {"tree_lstm", "lstm"}
    assert abs(counts["lstm"] - counts["tree_lstm"]) <= 0.01 * counts["tree_lstm"]
    if task == "listops":
        assert counts == {"tree_lstm": 216_842, "lstm": 218_104}  # as the description says


@pytest.mark.parametrize("quick", [False, True])
def test_every_run_composes_a_valid_configuration(quick):
    for run in recursive.EXPERIMENT.runs:
        if run.in_quick or not quick:
            config = runner._configure(run, run.settings(quick=quick), None)
            assert config.train.batch_size == 64


def test_quick_mode_end_to_end(tmp_path):
    out = tmp_path / "out"
    cli.main(["reproduce", "recursive", "--quick", "--steps", "2", "--out", str(out)])
    rows = json.loads((out / "recursive" / "results.json").read_text())
    trained = [row for row in rows if not row.get("measured") and "evaluation" not in row]
    assert len(trained) == sum(run.in_quick for run in recursive.EXPERIMENT.runs) == 3
    depth = [row for row in rows if row.get("evaluation", "").startswith("depth") and not row["skipped"]]
    assert {row["evaluation"] for row in depth} == {"depth 5", "depth 6", "depth 8"}  # expression trees only
    assert all(any(p.endswith("tree_predictions.png") for p in row["pictures"]) for row in depth)
    measured = [row for row in rows if row.get("measured")]
    assert [row["model"] for row in measured] == ["tree_lstm", "tree_rnn", "child_sum_tree_lstm"]
    assert all(row["value"] > 0 and row["level_batching"] > 0 and row["node_loop"] > 0 for row in measured)
