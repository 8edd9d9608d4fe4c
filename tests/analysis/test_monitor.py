"""train.gradient_flow and rnnlab eval --plots: the gradient flow of a run, logged and drawn."""

import json

import pytest
import torch

from rnnlab import cli
from rnnlab.analysis import gradient_flow, monitor
from rnnlab import tasks

TINY = ["--set", "model.hidden_size=6", "--set", "task.length=12", "--set", "train.eval_every=3",
        "--set", "train.eval_size=16", "--set", "train.batch_size=4", "--set", "train.log_every=1"]


def test_a_run_logs_the_flow_at_every_evaluation_and_eval_draws_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "adding", "--model", "elman_tanh", "--steps", "6", "--out", str(run), *TINY,
                     "--set", "train.gradient_flow=true"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evaluated = [r for r in records if "eval_mse" in r]
    assert [r["step"] for r in evaluated] == [3, 6]
    for r in evaluated:
        assert r["gradient_flow_ratio"] > 0 and r["gradient_flow_lag_1"] > 0 and r["gradient_flow_lag_10"] > 0
        assert "gradient_flow_lag_100" not in r  # longer than the sequences
    assert all("gradient_flow_ratio" not in r for r in records if "eval_mse" not in r)
    assert (run / "plots" / "gradient_flow.png").is_file()
    assert cli.main(["eval", str(run), "--plots", "--set", "task.length=20"]) == 0
    assert (run / "plots" / "eval-task.length=20" / "gradient_flow.png").is_file()


def test_the_logged_ratio_is_gradient_flow_on_the_first_held_out_batch():
    torch.manual_seed(0)
    task = tasks.create("adding", tasks.AddingTask.Config(length=15))
    from rnnlab.models import SequenceClassifier

    model = SequenceClassifier("lstm", task.input_size, 5, task.output_size)
    batch = task.eval_set(8, seed=2)[0]
    figures = monitor.GradientFlowMonitor(task)(model, batch)
    flow = gradient_flow(model, (batch.inputs,), lambda result: task.loss(result[0], batch), lengths=batch.lengths)
    assert figures["gradient_flow_ratio"] == pytest.approx(flow.ratio())
    assert figures["gradient_flow_lag_10"] == pytest.approx(float(flow.by_lag()[10]))


@pytest.mark.parametrize("argv, message", [
    (["copy", "--model", "ntm"], "train.gradient_flow cannot be measured: the model NTM has no rnnlab.Recurrent"),
    (["reverse", "--model", "gru"], "train.gradient_flow cannot be measured: task reverse's outputs are decoded"),
])
def test_models_and_tasks_it_cannot_measure_are_refused_in_one_line(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", *argv, "--steps", "1", "--out", str(tmp_path / "run"), "--set", "train.gradient_flow=true"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()
