"""TensorBoard event files: the logged records as scalars; a clear error without the package."""

import json
import shutil

import pytest
import torch

from rnnlab import runs, tasks
from rnnlab.config import ConfigError, TrainConfig, build_config
from rnnlab.models import SequenceClassifier
from rnnlab.training import checkpoint as ckpt
from rnnlab.training import tensorboard
from rnnlab.training.trainer import Trainer

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def _trainer(run_dir, **settings):
    torch.manual_seed(0)
    task = tasks.create("adding", tasks.AddingTask.Config(length=12))
    base = dict(steps=20, batch_size=8, eval_every=10, eval_size=32, checkpoint_every=10, log_every=5)
    return Trainer(SequenceClassifier("gru", 2, 8, 1), task, TrainConfig(**{**base, **settings}), run_dir,
                   log=lambda _: None, progress_bar=False)


def _scalars(run_dir):
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_records_become_scalars_under_train_and_eval(tmp_path):
    trainer = _trainer(tmp_path, steps=20, tensorboard=True)
    trainer.fit()
    scalars = _scalars(tmp_path)
    assert {"train/loss", "train/grad_norm", "train/lr", "train/mse", "eval/mse", "eval/accuracy"} <= set(scalars)
    assert [step for step, _ in scalars["train/loss"]] == [5, 10, 15, 20]  # log_every = 5
    assert [step for step, _ in scalars["eval/mse"]] == [10, 20]  # eval_every = 10
    logged = {r["step"]: r for r in map(json.loads, (tmp_path / "metrics.jsonl").read_text().splitlines())}
    for step, value in scalars["train/loss"]:
        assert value == pytest.approx(logged[step]["loss"], rel=1e-6)


def test_no_event_files_unless_asked(tmp_path):
    _trainer(tmp_path, steps=10).fit()
    assert not (tmp_path / "tensorboard").exists()


def test_resumed_run_purges_the_points_after_its_checkpoint(tmp_path):
    _trainer(tmp_path, steps=30, tensorboard=True).fit()
    shutil.rmtree(ckpt.step_dir(tmp_path / "checkpoints", 30))  # as if killed after logging step 30
    second = _trainer(tmp_path, steps=30, tensorboard=True)
    assert second.resume() and second.state.step == 20
    second.fit()  # logs steps 25 and 30 again
    steps = [step for step, _ in _scalars(tmp_path)["train/loss"]]
    assert steps == [5, 10, 15, 20, 25, 30]


def test_missing_package_is_a_config_error_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(tensorboard, "available", lambda: False)
    config = build_config("adding", model="elman_tanh", overrides=["train.tensorboard=true", "task.length=12"],
                          steps=2)
    with pytest.raises(ConfigError, match=r"train.tensorboard needs the tensorboard package \(pip install"):
        runs.train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
