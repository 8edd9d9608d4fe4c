"""Trainer: learns, resumes bit for bit, truncated BPTT, NaN guard — on a small task of its own."""

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from rnnlab.models import SequenceClassifier
from rnnlab.training import checkpoint as ckpt
from rnnlab.config import TrainConfig
from rnnlab.training.trainer import Trainer, TrainingError


@dataclass
class Batch:
    inputs: torch.Tensor
    targets: torch.Tensor
    lengths: torch.Tensor | None = None


class SignOfSum:
    """Is the sum of T Gaussian inputs positive?  N→1, two classes; a recurrent net must integrate."""

    main_metric, main_metric_goal = "accuracy", "max"
    input_size, output_size = 1, 2

    def __init__(self, steps=8, poison_steps=()):
        self.steps, self.poison_steps, self.calls = steps, set(poison_steps), 0

    def _make(self, batch_size, generator):
        x = torch.randn(self.steps, batch_size, 1, generator=generator)
        return Batch(x, (x.sum(dim=(0, 2)) > 0).long())

    def sample(self, batch_size, generator):
        self.calls += 1  # = the training step
        batch = self._make(batch_size, generator)
        if self.calls in self.poison_steps:
            batch.inputs[0, 0, 0] = float("nan")
        return batch

    def eval_set(self, size, seed):
        return [self._make(size, torch.Generator().manual_seed(seed))]

    def loss(self, outputs, batch):
        return F.cross_entropy(outputs, batch.targets)

    def metrics(self, outputs, batch):
        return {"loss": self.loss(outputs, batch).item(),
                "accuracy": (outputs.argmax(-1) == batch.targets).float().mean().item(), "count": len(batch.targets)}


def _trainer(tmp_path, task=None, seed=0, **settings):
    torch.manual_seed(seed)
    model = SequenceClassifier("gru", 1, 8, 2)
    base = dict(steps=30, batch_size=16, lr=1e-2, eval_every=10, eval_size=64, checkpoint_every=10, log_every=5,
                seed=seed)
    base.update(settings)
    return Trainer(model, task or SignOfSum(), TrainConfig(**base), tmp_path, log=lambda _: None,
                   progress_bar=False)


def test_the_model_learns(tmp_path):
    summary = _trainer(tmp_path, steps=150, eval_size=500).fit()
    assert summary["accuracy"] >= 0.85  # chance is 0.5
    assert (tmp_path / "summary.json").exists() and (tmp_path / "metrics.jsonl").exists()
    assert ckpt.best_step(tmp_path / "checkpoints") is not None


def test_resume_continues_bit_for_bit(tmp_path):
    straight = _trainer(tmp_path / "a", steps=30)
    straight.fit()
    first = _trainer(tmp_path / "b", steps=20)
    first.fit()
    assert ckpt.steps(tmp_path / "b" / "checkpoints")[-1] == 20
    second = _trainer(tmp_path / "b", seed=123, steps=30)  # another init, replaced by the checkpoint
    assert second.resume()
    second.fit()
    for a, b in zip(straight.model.parameters(), second.model.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(straight.optimizer.state_dict()["state"].values(), second.optimizer.state_dict()["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_truncated_bptt_equals_full_bptt_when_k_covers_the_sequence(tmp_path):
    def grads(k):
        trainer = _trainer(tmp_path / str(k), tbptt=k)
        trainer.train_step()
        return [p.grad.clone() if p.grad is not None else None for p in trainer.model.parameters()]

    full, covering, cut = grads(None), grads(8), grads(3)
    for a, b in zip(full, covering):
        assert torch.equal(a, b)
    assert any(not torch.allclose(a, b) for a, b in zip(full, cut))  # chunks of 3 do cut the gradient


def test_nan_steps_are_skipped_then_stop_the_run(tmp_path):
    trainer = _trainer(tmp_path, task=SignOfSum(poison_steps={3}), steps=12, max_bad_steps=3)
    trainer.fit()
    assert trainer.state.skipped == 1  # step 3 skipped, the run went on
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())

    doomed = _trainer(tmp_path / "doomed", task=SignOfSum(poison_steps={11, 12, 13}), steps=30, max_bad_steps=3)
    with pytest.raises(TrainingError, match="3 steps in a row had a non-finite loss or gradient"):
        doomed.fit()
    assert ckpt.steps(tmp_path / "doomed" / "checkpoints") == [10]  # the last good checkpoint is kept
