"""Early stopping (train.stop_when, train.patience), summary.json's "stopped" and "best", and the best
checkpoint for `rnnlab eval --checkpoint best`."""

import json

import pytest

from rnnlab import cli
from rnnlab.config import ConfigError, TrainConfig, stop_target

TINY = ["--model", "gru", "--set", "model.hidden_size=8", "--set", "task.length=20", "--set", "train.eval_every=2",
        "--set", "train.eval_size=40", "--set", "train.batch_size=4", "--set", "train.log_every=1"]


def _train(run, *extra, steps=12):
    return cli.main(["train", "adding", *TINY, "--steps", str(steps), "--out", str(run), *extra])


def _summary(run):
    return json.loads((run / "summary.json").read_text())


@pytest.mark.parametrize("text, parsed", [("accuracy >= 0.99", ("accuracy", ">=", 0.99)),
                                          ("  mse<1e-3 ", ("mse", "<", 1e-3)),
                                          ("bit_errors_per_sequence <= 0", ("bit_errors_per_sequence", "<=", 0.0))])
def test_a_stop_target_is_a_metric_an_operator_and_a_number(text, parsed):
    assert tuple(stop_target(text)) == parsed


@pytest.mark.parametrize("text", ["accuracy => 0.9", "accuracy", ">= 0.9", "accuracy >= nan", "accuracy >= inf",
                                  "accuracy >= 0.9 and mse < 1", "1x >= 2"])
def test_a_malformed_stop_target_is_a_one_line_config_error(text):
    with pytest.raises(ConfigError, match=r"^train\.stop_when must be a metric, one of <, <=, >=, > and a finite "
                                          r"number, e\.g\. \"accuracy >= 0\.99\", or none; got "):
        TrainConfig(stop_when=text)


def test_a_reached_target_stops_the_run_at_that_evaluation(tmp_path):
    run = tmp_path / "run"
    assert _train(run, "--set", 'train.stop_when="accuracy >= 0"') == 0
    summary = _summary(run)
    assert summary["stopped"] == "target" and summary["step"] == 2
    assert summary["best"]["step"] == 2 and summary["best"]["mse"] == summary["mse"]
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    # resumed without the target, it trains on to its budget
    assert _train(run, "--resume", "--set", "train.stop_when=none") == 0
    assert _summary(run)["stopped"] == "steps" and _summary(run)["step"] == 12


def test_patience_stops_after_that_many_evaluations_without_improvement(tmp_path):
    run = tmp_path / "run"  # a learning rate too small to change the held-out mse in its 6 printed digits
    assert _train(run, "--set", "train.patience=2", "--set", "train.lr=1e-30", "--set", "train.clip=none") == 0
    summary = _summary(run)
    assert summary["stopped"] == "patience" and summary["step"] == 6 and summary["best"]["step"] == 2


def test_the_budget_is_named_when_it_ends_the_run(tmp_path):
    assert _train(tmp_path / "a", steps=3) == 0 and _summary(tmp_path / "a")["stopped"] == "steps"
    assert _train(tmp_path / "b", "--set", "train.max_minutes=1e-6", steps=1000) == 0
    assert _summary(tmp_path / "b")["stopped"] == "minutes"


def test_a_stop_target_on_a_metric_the_task_does_not_measure_is_refused_before_anything_is_written(tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        _train(run, "--set", 'train.stop_when="bit_errors_per_sequence <= 0.01"')
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "train.stop_when names 'bit_errors_per_sequence', which task adding does not measure; its metrics: " \
           "loss, mse, accuracy" in err and err.count("\n") == 1
    assert not run.exists()


def test_eval_reads_the_best_checkpoint_or_a_step_on_request(tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(run, "--set", "train.checkpoint_every=2", "--set", "train.keep_checkpoints=1") == 0
    best = _summary(run)["best"]
    capsys.readouterr()
    assert cli.main(["eval", str(run), "--json", "--checkpoint", "best"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["step"] == best["step"] and evaluated["mse"] == pytest.approx(best["mse"])
    assert cli.main(["eval", str(run), "--checkpoint", "12"]) == 0
    assert "best.step" in capsys.readouterr().out  # the table flattens the best evaluation
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["eval", str(run), "--checkpoint", "7"])
    assert exit_info.value.code == 2
    kept = sorted({12, best["step"]})
    assert f"has no checkpoint of step 7; it keeps steps: {', '.join(map(str, kept))}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["eval", str(run), "--checkpoint", "newest"])
    assert "must be latest, best or a step number; got 'newest'" in capsys.readouterr().err
