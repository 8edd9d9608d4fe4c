"""`rnnlab train` / `rnnlab eval`: the run-directory contract and one-line errors."""

import json

import pytest
import torch

from rnnlab import cli

TINY = ["--set", "model.hidden_size=8", "--set", "task.length=20", "--set", "train.eval_every=3",
        "--set", "train.eval_size=40", "--set", "train.checkpoint_every=3", "--set", "train.log_every=1",
        "--set", "train.batch_size=4"]


def _train(tmp_path, *extra, steps=6, out="run"):
    return cli.main(["train", "adding", "--model", "gru", "--steps", str(steps), "--out", str(tmp_path / out),
                     *TINY, *extra])


def test_train_writes_the_run_directory_and_eval_repeats_its_summary(tmp_path, capsys):
    assert _train(tmp_path) == 0
    run = tmp_path / "run"
    config = json.loads((run / "config.json").read_text())
    assert config["task"]["name"] == "adding" and config["task"]["length"] == 20
    assert config["model"]["name"] == "gru" and config["train"]["steps"] == 6
    assert "clip_norm" in config["train"] and "first_marker_window" in config["task"]  # every default written
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4, 5, 6]
    for key in ("step", "loss", "lr", "grad_norm", "seconds", "train_mse"):
        assert key in lines[0]
    assert "eval_mse" in lines[2]  # evaluated at step 3
    assert sorted(p.name for p in (run / "plots").iterdir()) == ["grad_norm.png", "loss.png", "mse.png"]
    assert all((run / "plots" / name).read_bytes()[:4] == b"\x89PNG" for name in ("loss.png", "mse.png"))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 6 and {"mse", "accuracy", "loss"} <= set(summary)
    capsys.readouterr()
    assert cli.main(["eval", str(run), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert set(evaluated) == set(summary) and evaluated["mse"] == pytest.approx(summary["mse"])
    assert cli.main(["eval", str(run), "--json", "--set", "task.length=40"]) == 0  # generalisation settings
    assert json.loads(capsys.readouterr().out)["mse"] != pytest.approx(summary["mse"])


def test_resume_continues_a_finished_run_to_more_steps(tmp_path, capsys):
    assert _train(tmp_path, steps=3) == 0
    assert cli.main(["train", "adding", "--out", str(tmp_path / "run"), "--resume", "--set", "train.steps=6"]) == 0
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_tensorboard_flag_writes_event_files_and_is_kept_on_resume(tmp_path):
    pytest.importorskip("tensorboard")
    assert _train(tmp_path, "--tensorboard", steps=3) == 0
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text())["train"]["tensorboard"] is True
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert cli.main(["train", "adding", "--out", str(run), "--resume", "--set", "train.steps=6"]) == 0
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 2  # the second session's file


@pytest.mark.parametrize("argv, message", [
    (["train", "adding", "--set", "train.lrr=1"], "rnnlab train: error: unknown key train.lrr; valid keys: "),
    (["train", "addin"], "rnnlab train: error: unknown task 'addin'; available tasks: adding, temporal_order, char_lm, "),
    (["train", "adding", "--model", "gru4"], "rnnlab train: error: "),
    (["train", "adding", "--set", "task.length=5"], "rnnlab train: error: adding task: length must be an int >= 11"),
    (["train", "adding", "--config", "missing.toml"], "rnnlab train: error: "),
    (["eval", "nowhere"], "rnnlab eval: error: nowhere holds no run (no config.json)"),
    (["train", "adding", "--set", "train.curriculum=[{until=5, task={length=5}}]"],
     "rnnlab train: error: train.curriculum[0].task: adding task: length must be an int >= 11"),
    (["train", "copy", "--set", "train.curriculum=[{until=5, task={bits=4}}]"],
     "rnnlab train: error: train.curriculum[0].task changes the task's input_size from 9 to 5; a stage may "
     "change only what the model does not depend on (lengths, counts)"),
    (["train", "adding", "--model", "tree_lstm"],
     "rnnlab train: error: model tree_lstm reads parse trees; task adding has none (tree tasks: listops, "),
    (["train", "listops", "--model", "tree_rnn", "--set", "task.form=nary"],
     "rnnlab train: error: model tree_rnn combines two children a node; task listops's trees have more"),
])
def test_errors_are_one_line_exit_2_and_write_nothing(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_an_existing_run_is_not_overwritten_without_resume(tmp_path, capsys):
    assert _train(tmp_path, steps=3) == 0
    with pytest.raises(SystemExit) as exit_info:
        _train(tmp_path, steps=3)
    assert exit_info.value.code == 2
    assert "exists and is not empty; give --resume" in capsys.readouterr().err


def test_resume_refuses_to_change_the_model_or_the_task(tmp_path, capsys):
    assert _train(tmp_path, steps=3) == 0
    capsys.readouterr()
    run = str(tmp_path / "run")
    for argv, message in ((["train", "adding", "--out", run, "--resume", "--set", "model.hidden_size=16"],
                           f"--resume keeps the run's model and task: model.hidden_size is 8 in {run}, not 16; "
                           f"only train.* settings may change"),
                          (["train", "adding", "--out", run, "--resume", "--model", "lstm"],
                           f'model.name is "gru" in {run}, not "lstm"'),
                          (["train", "temporal_order", "--out", run, "--resume"],
                           f"--resume: {run} is a run of task adding, not temporal_order")):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_the_same_command_with_resume_added_continues_the_run(tmp_path, capsys):
    """Every setting of the first command repeated at its recorded value is accepted; train.* may change."""
    assert _train(tmp_path, steps=3) == 0
    assert _train(tmp_path, "--resume", steps=3) == 0  # the same command, --resume added: nothing left to do
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["step"] == 3
    assert _train(tmp_path, "--resume", "--set", "train.lr=3e-4", steps=5) == 0  # a longer budget, another lr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["lr"] == 3e-4
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["step"] == 5


def test_resume_without_out_finds_the_default_run_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "adding", "--model", "gru", "--seed", "3", *TINY]
    assert cli.main([*argv, "--steps", "2"]) == 0
    assert cli.main([*argv, "--steps", "4", "--resume"]) == 0
    assert json.loads((tmp_path / "runs" / "adding-gru-seed3" / "summary.json").read_text())["step"] == 4


def test_a_run_killed_between_checkpoints_resumes_to_bit_identical_parameters(tmp_path):
    """SIGKILL a real `rnnlab train` process after its first checkpoint, resume it, and compare the final
    parameters with those of an uninterrupted run of the same seed."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from rnnlab.training import checkpoint as ckpt

    args = ["train", "adding", "--model", "gru", "--steps", "400", "--set", "model.hidden_size=8",
            "--set", "task.length=20", "--set", "train.batch_size=4", "--set", "train.eval_every=200",
            "--set", "train.eval_size=20", "--set", "train.checkpoint_every=100", "--set", "train.log_every=50"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    victim_dir, straight_dir = tmp_path / "victim", tmp_path / "straight"
    victim = subprocess.Popen([sys.executable, "-m", "rnnlab", *args, "--out", str(victim_dir)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (victim_dir / "checkpoints" / "step-00000100").exists():
        assert victim.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    assert not (victim_dir / "summary.json").exists()  # killed mid-run, between checkpoints

    assert cli.main([*args, "--out", str(victim_dir), "--resume"]) == 0  # the same command, --resume added
    subprocess.run([sys.executable, "-m", "rnnlab", *args, "--out", str(straight_dir)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resumed = ckpt.load_latest(victim_dir / "checkpoints")
    straight = ckpt.load_latest(straight_dir / "checkpoints")
    assert resumed.step == straight.step == 400
    model_keys = [k for k in straight.tensors if k.startswith("model.")]
    assert model_keys and all(torch.equal(resumed.tensors[k], straight.tensors[k]) for k in model_keys)
    logged = [json.loads(line)["step"] for line in (victim_dir / "metrics.jsonl").read_text().splitlines()]
    assert logged == list(range(50, 401, 50))  # no step logged twice or lost


def test_the_same_command_twice_gives_identical_metrics(tmp_path):
    assert _train(tmp_path, out="a") == 0 and _train(tmp_path, out="b") == 0

    def without_time(name):
        records = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert without_time("a") == without_time("b")


def test_a_setting_the_task_cannot_use_stops_before_training(tmp_path, capsys):
    assert _train(tmp_path, "--set", "train.carry_state=true") == 1
    assert "train.carry_state carries the state from batch to batch of a stream" in capsys.readouterr().err


def test_a_curriculum_run_records_its_stages_and_resumes_into_the_next(tmp_path):
    stages = "train.curriculum=[{until=3, task={length=12}}, {until=5, task={length=15}}]"
    assert _train(tmp_path, "--set", stages, steps=4) == 0
    run = tmp_path / "run"
    saved = json.loads((run / "config.json").read_text())["train"]["curriculum"]
    assert saved == [{"until": 3, "task": {"length": 12}}, {"until": 5, "task": {"length": 15}}]
    assert cli.main(["train", "adding", "--out", str(run), "--resume", "--set", "train.steps=7"]) == 0
    assert json.loads((run / "summary.json").read_text())["step"] == 7


@pytest.mark.parametrize("model, form", [("tree_lstm", "left"), ("child_sum_tree_lstm", "nary"), ("lstm", "left")])
def test_a_tree_task_trains_a_recursive_net_or_a_sequence_baseline_on_the_same_examples(tmp_path, capsys, model,
                                                                                        form):
    tiny = ["--set", "model.hidden_size=8", "--set", "task.max_depth=3", "--set", f"task.form={form}",
            "--set", "train.eval_every=2", "--set", "train.eval_size=20", "--set", "train.batch_size=4"]
    run = tmp_path / "run"
    assert cli.main(["train", "listops", "--model", model, "--steps", "2", "--out", str(run), *tiny]) == 0
    assert cli.main(["train", "listops", "--model", model, "--steps", "4", "--out", str(run), *tiny, "--resume"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 4 and 0.0 <= summary["accuracy"] <= 1.0
    capsys.readouterr()
    assert cli.main(["eval", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(summary["accuracy"])
