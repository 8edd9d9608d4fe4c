"""train.algorithm: the learning algorithms behind one interface (training/algorithms/)."""

import pytest
import torch

from rnnlab import config, runs
from rnnlab.training import algorithms
from rnnlab.training.trainer import Trainer, TrainingError


def test_the_configuration_names_exactly_the_implemented_algorithms():
    assert config.ALGORITHMS == tuple(algorithms.ALGORITHMS)
    with pytest.raises(ValueError, match="unknown learning algorithm 'bpt'; available: bptt"):
        algorithms.get("bpt")


def test_bptt_refuses_online_updates_in_one_line(tmp_path):
    run = config.build_config("adding", model="elman_tanh", overrides=["train.online=true", "task.length=12"])
    task = runs.build_task(run)
    with pytest.raises(TrainingError, match="train.algorithm = 'bptt': train.online needs an online algorithm"):
        Trainer(runs.build_model(run, task), task, run.train, tmp_path / "run")


def test_an_algorithm_that_updates_at_every_step_is_guarded_update_by_update(tmp_path):
    """The interface's contract: each update(loss) is clipped, guarded and applied on its own."""
    run = config.build_config("adding", model="elman_tanh", overrides=["task.length=12", "train.batch_size=4"])
    task = runs.build_task(run)
    trainer = Trainer(runs.build_model(run, task), task, run.train, tmp_path / "run", progress_bar=False)
    weight = next(trainer.model.parameters())

    class TwoUpdates(algorithms.LearningAlgorithm):
        name = "two"

        def train_batch(self, batch, update):
            outputs, _ = self.trainer.run(batch)
            loss = self.trainer.task.loss(outputs, batch)
            loss.backward()
            update(loss.detach())  # applied
            before = weight.detach().clone()
            (weight.sum() * float("nan")).backward()
            update(loss.detach())  # a NaN gradient: skipped, the weights untouched
            assert torch.equal(weight, before)
            return outputs.detach(), loss.detach()

    trainer.algorithm = TwoUpdates(trainer)
    record = trainer.train_step()
    assert record["skipped_steps"] == 1 and trainer.state.step == 1
    assert all(p.grad is None for p in trainer.model.parameters())  # every update zeroes them
