"""`rnnlab reproduce learning` (issue 12 §3): its measurements on tiny settings, checked against independent
computations; its rows, pictures and report.

The RTRL = BPTT check is real: an RTRL whose gradient is off by one part in a million makes its rows miss the
target and the command exit 1.  The memory measurement is real: BPTT's peak grows with T by what its graph
holds, RTRL's does not.
"""

import dataclasses
import json
import math
import re

import numpy as np
import pytest
import torch

from rnnlab import cli, reproduce
from rnnlab.reproduce import learning, learning_measures, runner
from rnnlab.reproduce.learning_measures import (final_accuracy, gradient_agreement, growth_per_step, guess_trials,
                                                measure_cost, online_curve, relative_difference,
                                                sequences_until_solved, steps_to_reach, window_accuracy)
from rnnlab.training.algorithms.rtrl import RTRL

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
SHORT = ("task.min_length=5", "task.max_length=6")
TINY = dataclasses.replace(  # the measurements at a size a test can afford
    learning.QUICK_MEASURE, agreement_units=3, agreement_length=6, uoro_draws=2, cost_units=(4,), time_steps=50,
    cost_steps=(50, 100), memory_units=4, long_units=(4,), online_units=4, stream_steps=64, truncations=(4, 8),
    evaluation_streams=2, evaluation_length=20, guess_seeds=2, guesses_per_step=20, guess_changes=SHORT,
    parity=SHORT, gradient_seeds=1, gradient_steps=2, gradient_check_every=1)


def test_registered_after_gradients():
    names = reproduce.available()
    assert names.index("learning") == names.index("gradients") + 1
    assert reproduce.get("learning") is learning.EXPERIMENT and learning.EXPERIMENT.runs == ()


# ---- 1. RTRL = BPTT --------------------------------------------------------------------------------

def test_relative_difference_by_hand():
    reference = {"a": torch.tensor([2.0, -4.0]), "b": torch.tensor([[1.0]])}
    assert relative_difference(reference, reference) == 0.0
    # the largest gap (0.5, in b) over the largest reference entry (4, in a)
    assert relative_difference({"a": torch.tensor([2.1, -4.0]), "b": torch.tensor([[1.5]])}, reference) == 0.125
    assert relative_difference(reference, {"a": torch.zeros(2), "b": torch.zeros(1, 1)}) == math.inf


@pytest.mark.parametrize("cell", learning.AGREEMENT_CELLS)
def test_rtrl_equals_bptt_and_uoro_averages_towards_it(cell):
    tasks = learning._agreement_tasks(TINY)
    for label, (task, options) in tasks.items():
        found = gradient_agreement(cell, task, options, algorithms=("rtrl",), batch_size=3)
        assert found.differences["rtrl"] < 1e-12 and found.gradient_norm > 0
    task, options = tasks["N→N"]
    many = gradient_agreement(cell, task, options, algorithms=("uoro",), batch_size=3, uoro_draws=64)
    assert many.draws == 64 and many.differences["uoro"] < many.single_uoro  # the mean beats one draw


def test_snap1_is_exact_where_it_should_be_and_biased_elsewhere():
    """SnAp-1 keeps each weight's influence on its own unit: exact for a network without recurrent
    connections between units (hidden_size 1), an approximation for a dense W_hh."""
    task, options = learning._agreement_tasks(TINY)["N→N"]
    one = gradient_agreement("elman_tanh", task, [*options, "model.hidden_size=1"], algorithms=("snap1",),
                             batch_size=3)
    dense = gradient_agreement("elman_tanh", task, options, algorithms=("snap1",), batch_size=3)
    assert one.differences["snap1"] < 1e-12 < 1e-3 < dense.differences["snap1"]


def _context(tmp_path, *, quick: bool, steps=None):
    return runner.Measuring(folder=tmp_path, quick=quick, steps=steps, rows=(), log=lambda line: None)


def test_an_rtrl_off_by_one_part_in_a_million_fails_the_experiment(tmp_path, monkeypatch):
    honest = RTRL.through_state

    def off(self, step, carried, grad_state):
        return {name: g * (1 + 1e-6) for name, g in honest(self, step, carried, grad_state).items()}

    monkeypatch.setattr(RTRL, "through_state", off)
    monkeypatch.setattr(learning, "AGREEMENT_CELLS", ("elman_tanh",))
    rows = learning._agreement_rows(_context(tmp_path, quick=True), dataclasses.replace(TINY, uoro_draws=1))
    judged = [row for row in rows if row["run"].startswith("RTRL = BPTT")]
    assert [row["met"] for row in judged] == [False, False] and all(row["value"] > 1e-8 for row in judged)
    assert any("RTRL = BPTT, elman_tanh, N→1: max relative difference" in line and "misses the quick target <= 1e-08"
               in line for line in runner.failed(rows))


# ---- 2. cost -------------------------------------------------------------------------------------

def test_memory_grows_with_t_under_bptt_and_not_under_rtrl():
    """n = 8, as in the experiment's grid (at n = 4 RTRL's tiny per-step tensors make glibc's heap grow within the
    batch by ~1.4 KB a step, all of it free and returned by malloc_trim after the batch: not memory RTRL keeps)."""
    short, long = measure_cost("bptt", 8, 50), measure_cost("bptt", 8, 10_000)
    flat_short, flat_long = measure_cost("rtrl", 8, 50), measure_cost("rtrl", 8, 10_000)
    # BPTT must keep at least the states of the 9,950 more steps: n float32 numbers each (its kernel keeps about
    # 0.74 KB a step here; autograd through torch's fused RNN kernel, which elman_tanh ran on before, ~2 KB).
    assert long.peak_bytes - short.peak_bytes > (10_000 - 50) * 8 * 4
    assert abs(flat_long.peak_bytes - flat_short.peak_bytes) < 1e6
    assert growth_per_step([flat_short, flat_long]) < learning.FLAT * growth_per_step([short, long])
    assert all(c.seconds_per_step > 0 for c in (short, long, flat_short, flat_long))
    assert (long.steps, long.units, long.algorithm) == (10_000, 8, "bptt")
    # P = n² + n·1 + 2n for an Elman layer of n units reading one input
    assert flat_long.parameters == 8 * 8 + 8 + 16 and flat_long.kept_floats == 8 * flat_long.parameters


def test_cost_grid_and_the_fitted_numbers():
    grid = learning.cost_grid(learning.FULL_MEASURE)
    assert len(grid) == 4 * 4 * 3 == len(set(grid)) and ("rtrl", 64, 10_000) in grid  # every n at every T
    quick = learning.cost_grid(learning.QUICK_MEASURE)
    assert ("uoro", 8, 10_000) in quick and ("uoro", 32, 100) in quick and ("uoro", 32, 10_000) not in quick
    costs = [learning_measures.Cost("rtrl", n, 100, 1e-3 * (n / 8) ** 3, 100 * n, 0, 0) for n in (8, 16, 32)]
    assert learning_measures.exponent(costs) == pytest.approx(3.0)
    lines = [learning_measures.Cost("bptt", 8, T, 1e-4, 5000 * T + 7, 0, 0) for T in (100, 1000, 10_000)]
    assert growth_per_step(lines) == pytest.approx(5000.0)


# ---- 3. online learning --------------------------------------------------------------------------

def test_window_and_final_accuracy_and_steps_to_reach_by_hand():
    correct = np.array([np.nan, np.nan, 0, 1, 0, 1, 1, 1, 1, 1])
    ends, values = window_accuracy(correct, 4)
    assert ends.tolist() == [4, 8, 12] and values.tolist() == [0.5, 0.75, 1.0]
    assert final_accuracy(correct, 0.5) == 1.0 and final_accuracy(correct, 0.8) == 0.75  # steps 5–9; 2–9
    assert steps_to_reach(correct, 3, 1.0) == 8 and steps_to_reach(correct, 3, 2.0) is None


def test_online_curves_of_an_online_learner_and_of_truncated_bptt():
    options = ("task.delay=2", "model.hidden_size=4", "train.batch_size=2", "train.lr=0.01")
    online = online_curve("RTRL", "elman_tanh", [*options, "train.algorithm=rtrl"], stream_steps=24, truncation=None,
                          evaluation_streams=2, evaluation_length=10)
    truncated = online_curve("k = 4", "elman_tanh", options, stream_steps=24, truncation=4, evaluation_streams=2,
                             evaluation_length=10)
    for result in (online, truncated):
        assert result.correct.shape == (24,) and np.isnan(result.correct[:2]).all()
        assert not np.isnan(result.correct[2:]).any() and 0 <= result.held_out_accuracy <= 1
    assert online.updates == 24 and truncated.updates == 6  # every step; every piece
    with pytest.raises(ValueError, match="whole number of pieces of 5"):
        online_curve("k = 5", "elman_tanh", options, stream_steps=24, truncation=5, evaluation_streams=1,
                     evaluation_length=10)


def test_the_online_learners(tmp_path):
    labels = [label for label, _, _ in learning.online_learners(learning.FULL_MEASURE)]
    assert labels == ["RTRL", "UORO", "SnAp-1", "truncated BPTT, k = 2", "truncated BPTT, k = 4",
                      "truncated BPTT, k = 8", "truncated BPTT, k = 16"]


# ---- 4. guessing ---------------------------------------------------------------------------------

def test_guessing_counts_trials_and_scores_the_solution_on_a_fresh_set():
    task, model, options = learning._guess_settings("latch", dataclasses.replace(TINY, guesses_per_step=10))
    found = guess_trials(task, model, [*options, "train.eval_size=16"], seed=0, max_trials=500)
    assert found.solved and 1 <= found.trials <= 500 and found.test_accuracy is not None
    again = guess_trials(task, model, [*options, "train.eval_size=16"], seed=0, max_trials=500)
    assert again.trials == found.trials  # seeded
    none = guess_trials(task, model, [*options, "train.guess_range=0.001"], seed=0, max_trials=30)
    assert not none.solved and none.trials == 30 and none.test_accuracy is None


def test_sequences_until_solved_counts_batches():
    found = sequences_until_solved("latch", "elman_tanh", [*SHORT, "model.hidden_size=2", "train.batch_size=8",
                                                           "train.eval_size=8"], seed=0, max_steps=3, check_every=2)
    assert found.steps in (2, 3) and found.sequences == 8 * found.steps and 0 <= found.held_out_accuracy <= 1


# ---- the whole experiment ------------------------------------------------------------------------

def test_quick_smoke_run_writes_rows_pictures_and_report(tmp_path, monkeypatch, capsys):
    """The whole command with tiny measurements: every row has the keys, every picture exists, RTRL = BPTT is
    met; a stream of 32 steps cannot meet the online target, which is the expected failure (exit 1)."""
    monkeypatch.setattr(learning, "QUICK_MEASURE", TINY)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "learning", "--quick", "--steps", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    failures = [line for line in err.splitlines() if "failed:" in line]
    allowed = ("online", "seeds solved", "peak memory growth")
    assert failures and all(any(word in line for word in allowed) for line in failures), failures
    rows = json.loads((out / "learning" / "results.json").read_text())
    for row in rows:
        assert set(reproduce.RESULT_KEYS) <= set(row) and row["measured"] and row["quick"]
        assert all((out / "learning" / picture).is_file() for picture in row["pictures"])
    names = [row["run"] for row in rows]
    assert [row["met"] for row in rows if row["run"].startswith("RTRL = BPTT")] == [True] * 8
    for expected in ("UORO (mean of 2) vs BPTT, lstm, N→N", "cost, RTRL, n = 4, T = 100",
                     "cost, UORO: peak memory growth per step, n = 4, T = 50–100",
                     "online: the best online learner's accuracy (RTRL, UORO, SnAp-1)",
                     "online, truncated BPTT, k = 4: accuracy over the last 10%",
                     "guessing, parity: seeds solved", "BPTT, LSTM, 8 cells, latch: median training sequences until solved"):
        assert expected in names
    pictured = {p.split("/")[-1] for row in rows for p in row["pictures"]}
    assert pictured == {"learning_cost.png", "learning_online.png", "learning_guessing.png"}
    online = next(row for row in rows if row["run"] == "online, RTRL: accuracy over the last 10%")
    assert online["stream_steps"] == 32 and online["curve"] and online["updates"] == 32
    report = (out / "report.md").read_text()
    assert "## Learning algorithms: RTRL, UORO, SnAp-1, truncated BPTT and weight guessing" in report
    assert all((out / picture).is_file() for picture in IMAGE.findall(report))
