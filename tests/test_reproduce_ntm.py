"""reproduce/ntm.py's measurement: the priority-sort NTM's placement (Figure 17) from a trained run."""

import json

from rnnlab import cli
from rnnlab.reproduce import ntm, runner

PNG = b"\x89PNG"


def _row(run_dir, value):
    return {"run": "priority sort, NTM", "evaluation": None, "run_dir": str(run_dir), "value": value}


def _measure(folder, rows, steps=None):
    return ntm.measure(runner.Measuring(folder=folder, quick=False, steps=steps, rows=tuple(rows),
                                        log=lambda line: None))


def test_measure_draws_the_placement_of_a_trained_priority_sort_ntm(tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "priority_sort", "--model", "ntm", "--steps", "2", "--out", str(run),
                     "--set", "task.items=6", "--set", "task.outputs=4", "--set", "model.hidden_size=16",
                     "--set", 'model.options={read_heads = 2, write_heads = 2, memory_slots = 16, '
                              'memory_init = "learned"}', "--set", "train.eval_size=8"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    row, reads = _measure(tmp_path / "out", [_row(run, summary["bits_per_sequence"])], steps=2)
    assert row["measured"] and row["metric"] == "Spearman rho" and -1.0 <= row["value"] <= 1.0
    assert -1.0 <= row["read_order_rho"] <= 1.0
    assert reads["metric"] == "fraction of answer steps" and 0.0 <= reads["value"] <= 1.0
    assert row["pictures"] == ["priority_sort_placement.png"]
    assert (tmp_path / "out" / "priority_sort_placement.png").read_bytes()[:4] == PNG


def test_measure_says_why_there_is_no_placement(tmp_path):
    [row] = _measure(tmp_path, [_row(tmp_path / "none", None)])
    assert row["skipped"] and row["value"] is None and row["note"] == "the priority-sort NTM has not finished"
    assert _measure(tmp_path, []) == []  # priority sort not among the runs: nothing to measure


def test_the_lstm_baseline_trains_under_its_ntm_budget():
    """Issue 16: the same caps on steps and minutes for the NTM and its LSTM, task by task."""
    runs = {run.name: run for run in ntm.EXPERIMENT.runs}
    for task in ("copy", "repeat copy", "associative recall", "ngrams", "priority sort"):
        caps = [[s for s in runs[f"{task}, {model}"].settings(quick=False)
                 if s.startswith(("train.steps=", "train.max_minutes="))] for model in ("NTM", "LSTM")]
        assert caps[0] == caps[1] and len(caps[0]) >= 2, task
