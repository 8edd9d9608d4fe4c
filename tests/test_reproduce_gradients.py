"""`rnnlab reproduce gradients` (issue 11 §2): its measurements on tiny settings, checked against
independent computations; its rows, pictures and report; the runner's ``measure`` extension.

The bound test is real: the one-step factors that the experiment checks against Pascanu's γλ₁ are
recomputed here by hand (backpropagation written out with the Elman equations), and an experiment
whose measured factor exceeded the bound is shown to fail (exit code 1).
"""

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab import Recurrent, cli, reproduce, tasks
from rnnlab.analysis import recurrent_matrices, set_largest_singular_value_
from rnnlab.reproduce import gradient_measures, gradients, runner
from rnnlab.reproduce.gradient_measures import (adding_flow, cell_spectrum, count_cliffs, decay_rate,
                                                elman_sweep, held_out_batch, largest_step_ratio, train_exploding)

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
TINY = dataclasses.replace(  # the measurements at a size a test can afford
    gradients.QUICK_MEASURE, singular_values=(0.5, 1.0, 3.0), sweep_seeds=2, sweep_steps=30, sweep_batch=4,
    flow_batch=4, spectrum_sequences=1, exploding_seeds=1,
    exploding=(*gradients.QUICK_MEASURE.exploding, "task.length=12", "model.hidden_size=8"))


def test_registered_after_ntm():
    names = reproduce.available()
    assert names[names.index("ntm") + 1] == "gradients"
    assert reproduce.get("gradients") is gradients.EXPERIMENT
    assert [run.model for run in gradients.EXPERIMENT.runs] == ["elman_tanh", "lstm", "gru"]


# ---- the numbers ---------------------------------------------------------------------------------

def test_decay_rate_is_the_geometric_factor_and_skips_underflow():
    assert decay_rate(0.5 ** np.arange(40)) == pytest.approx(0.5, rel=1e-12)
    assert decay_rate(3.0 ** np.arange(10)) == pytest.approx(3.0, rel=1e-12)
    curve = 0.1 ** np.arange(50.0)
    curve[30:] = 0.0  # underflowed: left out, not a cliff to −inf
    assert decay_rate(curve) == pytest.approx(0.1, rel=1e-12)
    assert math.isnan(decay_rate([1.0, 0.0, 0.0]))


def test_largest_step_ratio_by_hand():
    per_sequence = torch.tensor([[4.0, 1.0], [2.0, 1.0], [1.0, 1.0]], dtype=torch.float64)  # (T = 3, B = 2)
    # going back one step: sequence 0 doubles twice, sequence 1 stays
    assert largest_step_ratio(per_sequence) == 2.0
    per_sequence[1:, 1] = 0.0  # underflowed norms are not divided by
    assert largest_step_ratio(per_sequence) == 2.0


def test_count_cliffs_by_hand():
    # lowest before 3.0 and 5.0 is 0.4 (bar 4: only 5.0 jumps), before 2.9 and 3.1 it is 0.3 (bar 3: 3.1 jumps)
    assert count_cliffs([1.0, 0.5, 0.4, 3.0, 5.0, 0.3, 2.9, 3.1]) == 2
    assert count_cliffs([1.0, float("nan"), float("inf"), 0.9]) == 2


def _factors_by_hand(weight_hh, outputs, readout):
    """‖∂L/∂h_{t−1}‖ / ‖∂L/∂h_t‖ and ‖diag(1 − h_t²)·W_hh‖₂ for one sequence, backpropagation written out:
    ∂L/∂h_T = v, ∂L/∂h_{t−1} = W_hhᵀ·diag(1 − h_t²)·∂L/∂h_t."""
    g = readout.clone()
    ratios, norms = [], []
    for t in range(outputs.shape[0] - 1, 0, -1):
        slope = 1 - outputs[t].square()  # φ′(a_t), tanh
        previous = weight_hh.T @ (slope * g)
        ratios.append(float(previous.norm() / g.norm()))
        norms.append(float(torch.linalg.matrix_norm(slope.unsqueeze(1) * weight_hh, ord=2)))
        g = previous
    return ratios, norms


@pytest.mark.parametrize("singular_value", [0.5, 0.9, 1.0, 3.0])
def test_sweep_factors_equal_backpropagation_by_hand_and_never_exceed_the_bound(singular_value):
    hidden, steps, inputs, seed = 6, 25, 3, 4
    (result,) = elman_sweep([singular_value], [seed], hidden_size=hidden, steps=steps, batch_size=1,
                            input_size=inputs)
    # the same layer, input and readout as elman_sweep draws them
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layer = Recurrent("elman_tanh", inputs, hidden).to(torch.float64)
    data = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, 1, inputs, generator=data, dtype=torch.float64)
    readout = torch.randn(hidden, generator=data, dtype=torch.float64)
    readout = readout / readout.norm()
    (weight,) = recurrent_matrices(layer).values()
    set_largest_singular_value_(weight, singular_value)
    with torch.no_grad():
        outputs = layer(x)[0][:, 0]  # (T, H)
        ratios, norms = _factors_by_hand(weight.detach(), outputs, readout)
    assert result.largest_ratio == pytest.approx(max(ratios), rel=1e-9)
    assert result.by_lag[1:] == pytest.approx(np.cumprod(ratios), rel=1e-9)
    assert result.spectral_radius <= singular_value + 1e-12
    # each step's factor is at most ‖diag(φ′)W_hh‖₂ ≤ γλ₁: the chain of the bound, checked link by link
    assert all(r <= n * (1 + 1e-12) for r, n in zip(ratios, norms))
    assert max(norms) <= singular_value * (1 + 1e-12)
    assert result.largest_ratio <= result.bound


def test_sweep_shows_both_regimes():
    results = elman_sweep([0.5, 10.0], [0, 1], hidden_size=16, steps=60, batch_size=4, input_size=4)
    small = [r for r in results if r.singular_value == 0.5]
    large = [r for r in results if r.singular_value == 10.0]
    assert all(r.rate < r.bound < 1 and not r.grows for r in small)
    assert all(r.grows for r in large)  # chaotic: the error grows with the lag
    assert all(r.mean_slope < s.mean_slope for r in large for s in small)  # and tanh saturates


def test_a_measured_factor_above_the_bound_fails_the_experiment(tmp_path, monkeypatch, capsys):
    """The check is real: were a factor to exceed γλ₁, the row misses its target and the command exits 1."""
    honest = elman_sweep

    def violating(*args, **kwargs):
        results = honest(*args, **kwargs)
        return [dataclasses.replace(r, largest_ratio=1.5 * r.bound, rate=min(1.5 * r.bound, 2.0)) for r in results]

    monkeypatch.setattr(gradients, "elman_sweep", violating)
    rows = gradients._sweep_rows(_context(tmp_path, quick=False), TINY)
    worst = next(row for row in rows if "largest one-step factor" in row["run"])
    assert worst["value"] == pytest.approx(1.5) and worst["met"] is False
    assert [row["met"] for row in rows if row.get("bound", 2) <= 1 and row["metric"].startswith("factor")] == [
        False, False]
    assert any("largest one-step factor ÷ γλ₁: max ratio ÷ bound 1.5 misses <= 1" in line
               for line in runner.failed(rows))


def _context(tmp_path, *, quick: bool, rows=(), steps=None):
    return runner.Measuring(folder=tmp_path, quick=quick, steps=steps, rows=tuple(rows), log=lambda line: None)


def test_sweep_rows_have_the_keys_and_their_pictures(tmp_path):
    rows = gradients._sweep_rows(_context(tmp_path, quick=True), TINY)
    names = [row["run"] for row in rows]
    assert names[0] == "untrained Elman, every λ₁: largest one-step factor ÷ γλ₁"
    assert "untrained Elman, λ₁ = 3: seeds whose error grows with the lag" in names
    for row in rows:
        assert set(reproduce.RESULT_KEYS) <= set(row) and row["measured"] and row["quick"]
        assert row["met"] is not False and row["note"] is None
    judged = [row for row in rows if row["metric"] == "factor per step (fit)" and row["target"] is not None]
    assert [row["singular_value"] for row in judged] == [0.5, 1.0]  # the bound is judged where γλ₁ ≤ 1
    assert all(row["target"] == ["<=", row["bound"]] for row in judged)
    assert rows[0]["pictures"] == ["quick/gradients_elman_lags.png", "quick/gradients_elman_rates.png"]
    assert all((tmp_path / picture).stat().st_size > 10_000 for picture in rows[0]["pictures"])
    json.dumps(rows)  # results.json can hold them


def _adding(length=12):
    return tasks.create("adding", tasks.get("adding").Config(length=length))


def test_adding_flow_of_an_lstm_keeps_the_error_an_elman_loses(tmp_path):
    from rnnlab.models import SequenceClassifier

    task = _adding(length=40)
    batch = held_out_batch(task, 6)
    torch.manual_seed(0)
    elman = SequenceClassifier("elman_tanh", 2, 16, 1)
    lstm = SequenceClassifier("lstm", 2, 16, 1, forget_bias=5.0, input_bias=-3.0)
    flows = {name: adding_flow(model, task, batch) for name, model in (("elman", elman), ("lstm", lstm))}
    assert flows["lstm"].ratio > 1e3 * flows["elman"].ratio
    for flow in flows.values():
        assert flow.by_lag.shape == (int(batch.lengths.min()),)
        assert 0 < flow.first_marked and 0 < flow.marked
        # X1 lies among the first ten steps, X2 nearer the end: X1 gets the least (the Elman's error vanishes)
    assert flows["elman"].first_marked < flows["elman"].marked
    assert next(elman.parameters()).dtype == torch.float32  # measured on a copy


def test_adding_flow_marked_steps_by_hand():
    from rnnlab.analysis import gradient_flow
    from rnnlab.models import SequenceClassifier

    task = _adding()
    batch = held_out_batch(task, 3)
    torch.manual_seed(1)
    model = SequenceClassifier("gru", 2, 8, 1).to(torch.float64)
    flow = adding_flow(model, task, batch)
    batch64 = dataclasses.replace(batch, inputs=batch.inputs.double(), targets=batch.targets.double())
    per = gradient_flow(model, batch64.inputs, lambda r: task.loss(r[0], batch64), lengths=batch.lengths).per_sequence
    logs = []
    for b in range(3):
        last = per[int(batch.lengths[b]) - 1, b]
        marks = torch.nonzero(batch.inputs[:, b, 1] == 1.0).flatten()
        logs += [math.log(per[int(t), b] / last) for t in marks]
    assert flow.marked == pytest.approx(math.exp(sum(logs) / len(logs)), rel=1e-9)


def test_cell_spectrum_of_the_lstm_is_its_state_of_h_and_c():
    from rnnlab.models import SequenceClassifier

    task = _adding()
    batch = held_out_batch(task, 3)
    torch.manual_seed(0)
    model = SequenceClassifier("lstm", 2, 5, 1, forget_bias=5.0)
    spectrum = cell_spectrum(model, batch, steps=10, sequences=2)
    assert spectrum.state_size == 10 and spectrum.singular_values.shape == (10 * 2 * 10,)
    assert spectrum.largest.shape == (20,) and np.all(spectrum.largest >= spectrum.singular_values.reshape(20, 10).T)
    torch.manual_seed(0)
    elman = cell_spectrum(SequenceClassifier("elman_tanh", 2, 5, 1), batch, steps=10, sequences=2)
    assert elman.state_size == 5
    # forget gates near 1: the carousel does not shrink; the Elman network's product does
    assert elman.top_exponent < 0 < spectrum.top_exponent


def _exploding_config(tmp_path, clip, **changes):
    settings = dataclasses.replace(TINY, **changes)
    return gradients._exploding_config(settings, clip, seed=0, steps=None)


def test_train_exploding_counts_non_finite_steps_and_reuses_a_finished_run(tmp_path):
    config = _exploding_config(tmp_path, "none")
    run_dir = tmp_path / "run"
    outcome = train_exploding(config, run_dir, singular_value=3.0)
    assert outcome.steps == config.train.steps == 100 and outcome.clip == "none" and outcome.seed == 0
    assert (run_dir / "config.json").is_file() and (run_dir / gradient_measures.OUTCOME).is_file()
    steps, losses, norms = gradient_measures.learning_curve(run_dir)
    assert list(steps) == list(range(1, 101)) and outcome.first_loss == losses[0]
    assert outcome.largest_grad_norm == np.max(norms)
    written = (run_dir / "metrics.jsonl").stat().st_mtime_ns
    assert train_exploding(config, run_dir, singular_value=3.0) == outcome  # read again, not trained again
    saved = json.loads((run_dir / gradient_measures.OUTCOME).read_text())
    del saved["made_by"]["config"]["train"]["tensorboard"]  # as written before rnnlab had the setting: its default
    (run_dir / gradient_measures.OUTCOME).write_text(json.dumps(saved))
    assert train_exploding(config, run_dir, singular_value=3.0) == outcome
    assert (run_dir / "metrics.jsonl").stat().st_mtime_ns == written
    again = train_exploding(config, run_dir, singular_value=2.0)  # another start: trained afresh
    assert (run_dir / "metrics.jsonl").stat().st_mtime_ns != written and again.first_loss != outcome.first_loss


def test_a_run_that_overflows_is_counted_as_diverged(tmp_path):
    """lr 1e6 without clipping: the weights overflow within a few steps; the Trainer skips the NaN/Inf steps and
    stops after max_bad_steps of them, which train_exploding reports instead of raising."""
    config = _exploding_config(tmp_path, "none")
    from rnnlab.config import apply_overrides

    config = apply_overrides(config, ["train.lr=1e6", "train.max_bad_steps=3"])
    outcome = train_exploding(config, tmp_path / "run", singular_value=3.0)
    assert outcome.diverged and outcome.stopped == "non-finite" and outcome.final_mse is None
    assert outcome.skipped == 3 and outcome.cliffs >= 3


def test_a_foreign_directory_is_not_removed(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    from rnnlab.runs import RunError

    with pytest.raises(RunError, match="holds something else"):
        train_exploding(_exploding_config(tmp_path, "norm"), tmp_path / "run", singular_value=3.0)
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


# ---- the runner's measure extension ----------------------------------------------------------------

def test_measured_row_is_judged_like_a_run():
    row = runner.measured_row("m", "elman_tanh", "ratio", 0.5, quick=True, target=("<=", 0.1),
                              quick_target=("<=", 1.0))
    assert row["met"] is True and row["measured"] and set(reproduce.RESULT_KEYS) <= set(row)
    assert runner.measured_row("m", "x", "ratio", 0.5, quick=False, target=("<=", 0.1))["met"] is False
    skipped = runner.measured_row("m", "x", "mse", None, quick=False, skipped=True, note="no run finished")
    assert runner.failed([skipped]) == []
    assert runner.failed([runner.measured_row("m", "x", "mse", None, quick=False, note="error: boom")]) == [
        "m: error: boom"]
    with pytest.raises(ValueError, match="measurement m: target operator"):
        runner.measured_row("m", "x", "mse", 1.0, quick=False, target=("=", 1))


def test_an_experiment_measures_after_its_runs(tmp_path):
    seen = []

    def measure(context):
        seen.append(context)
        return [runner.measured_row("twice", "none", "count", 2, quick=context.quick, target=(">=", 1),
                                    settings=["by hand"])]

    experiment = runner.Experiment("demo", "Demo", "A measurement only.", measure=measure)
    rows = runner.run_experiment(experiment, tmp_path, log=lambda line: None)
    assert [row["run"] for row in rows] == ["twice"] and seen[0].folder == tmp_path / "demo" and not seen[0].quick
    assert json.loads((tmp_path / "demo" / "results.json").read_text()) == rows
    section = (tmp_path / "demo" / "report.md").read_text()
    assert "| twice | none | count | 2 | >= 1 | yes |  |  |" in section
    assert "- twice, measured with: `by hand`" in section
    clash = runner.Experiment("demo", "Demo", "", measure=lambda context: measure(context) * 2)
    with pytest.raises(ValueError, match="measured rows must be named apart"):
        runner.run_experiment(clash, tmp_path, log=lambda line: None)


# ---- the whole experiment ------------------------------------------------------------------------

def test_quick_smoke_run_writes_rows_pictures_and_report(tmp_path, monkeypatch, capsys):
    """The whole command with two training steps per run and the tiny measurements: every row has the keys,
    every picture exists; the two steps miss the runs' quick targets (exit 1), and only those."""
    monkeypatch.setattr(gradients, "QUICK_MEASURE", TINY)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "gradients", "--quick", "--steps", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    failures = [line for line in err.splitlines() if "failed:" in line]
    assert failures and all(re.search(r"failed: gradients: adding, (Elman|LSTM|GRU): mse", line) or
                            "exploding" in line for line in failures), failures
    rows = json.loads((out / "gradients" / "results.json").read_text())
    for row in rows:
        assert set(reproduce.RESULT_KEYS) <= set(row)
        assert all((out / "gradients" / picture).is_file() for picture in row["pictures"])
    names = [row["run"] for row in rows]
    assert names[:3] == ["adding, Elman", "adding, LSTM", "adding, GRU"]
    for expected in ("adding, LSTM after training: ‖∂L/∂h_1‖/‖∂L/∂h_n‖",
                     "adding, after training: LSTM's h_1/h_n ratio ÷ the Elman's",
                     "Jacobian spectrum, GRU after training: top exponent",
                     "exploding (λ₁ = 3), clip norm: runs with NaN/Inf steps"):
        assert expected in names
    pictured = {Path(p).name for row in rows for p in row["pictures"]}
    assert {"gradients_elman_lags.png", "gradients_elman_rates.png", "gradients_adding_flow.png",
            "gradients_spectra.png", "gradients_exploding.png"} <= pictured
    report = (out / "report.md").read_text()
    assert "## Vanishing and exploding gradients (Pascanu, Mikolov & Bengio 2013)" in report
    assert all((out / picture).is_file() for picture in IMAGE.findall(report))
    ratio = next(row for row in rows if row["run"] == "adding, after training: LSTM's h_1/h_n ratio ÷ the Elman's")
    assert ratio["quick_target"] == [">=", 1e4]
