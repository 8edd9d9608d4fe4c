"""Trainer: learns, resumes bit for bit, truncated BPTT, NaN guard — on a small task of its own."""

import math
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from rnnlab.models import SequenceClassifier
from rnnlab.tasks import Batch as TaskBatch
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


def _trainer(tmp_path, task=None, seed=0, curriculum=(), **settings):
    torch.manual_seed(seed)
    model = SequenceClassifier("gru", 1, 8, 2)
    base = dict(steps=30, batch_size=16, lr=1e-2, eval_every=10, eval_size=64, checkpoint_every=10, log_every=5,
                seed=seed)
    base.update(settings)
    return Trainer(model, task or SignOfSum(), TrainConfig(**base), tmp_path, log=lambda _: None,
                   progress_bar=False, curriculum=curriculum)


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


def _spy_on_updates(trainer) -> list:
    """The gradients each of the trainer's updates applies (it zeroes them afterwards), one list per update."""
    seen, update = [], trainer._update

    def spying(loss):
        seen.append([p.grad.clone() if p.grad is not None else None for p in trainer.model.parameters()])
        return update(loss)

    trainer._update = spying
    return seen


def test_truncated_bptt_equals_full_bptt_when_k_covers_the_sequence(tmp_path):
    def grads(k):
        trainer = _trainer(tmp_path / str(k), tbptt=k)
        seen = _spy_on_updates(trainer)
        trainer.train_step()
        assert len(seen) == 1  # one update per batch
        return seen[0]

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


def _infinite_gradient_at(trainer, steps: set[int]) -> None:
    """From the training steps ``steps`` on (1-based) the readout bias's gradient is ±inf, the loss unchanged
    and finite: the n-gram run's failure (a finite cost whose gradient overflowed)."""
    task = trainer.task
    trainer.model.readout.bias.register_hook(lambda g: g * float("inf") if task.calls in steps else g)


def test_a_finite_loss_with_an_infinite_gradient_is_skipped_then_stops_the_run(tmp_path):
    trainer = _trainer(tmp_path, steps=12, max_bad_steps=3)
    _infinite_gradient_at(trainer, {3})
    first = [trainer.train_step() for _ in range(2)]
    before = [p.detach().clone() for p in trainer.model.parameters()]
    third = trainer.train_step()
    assert math.isfinite(third["loss"]) and third["grad_norm"] == math.inf  # the branch: loss fine, gradient not
    assert third["skipped_steps"] == 1 and all(r["skipped_steps"] == 0 for r in first)
    for old, new in zip(before, trainer.model.parameters()):
        assert torch.equal(old, new)  # nothing applied
    assert all(s["step"] == 2 for s in trainer.optimizer.state.values())  # nor counted by Adam
    assert all(p.grad is None for p in trainer.model.parameters())  # the poisoned gradient is gone
    fourth = trainer.train_step()
    assert math.isfinite(fourth["grad_norm"]) and fourth["skipped_steps"] == 1  # the run went on
    assert not torch.equal(before[0], trainer.model.recurrent.cells[0].weight_ih)
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())

    doomed = _trainer(tmp_path / "doomed", steps=30, max_bad_steps=3)
    _infinite_gradient_at(doomed, {11, 12, 13})
    with pytest.raises(TrainingError, match="3 steps in a row had a non-finite loss or gradient"):
        doomed.fit()
    assert ckpt.steps(tmp_path / "doomed" / "checkpoints") == [10]  # the last good checkpoint is kept


# ---- N→N: truncated BPTT with a loss per chunk, the state carried across the batches of a stream --------

class Delay:
    """Stream of random bits; the target at each step is the bit 2 steps back.  N→N, two classes.

    ``stream_batch`` serves piece ``index`` of B parallel streams, so a model whose state carries
    from one piece to the next can answer the first 2 steps of a piece too."""

    output_kind, stream = "every", True
    main_metric, main_metric_goal = "accuracy", "max"
    input_size, output_size, delay, piece = 1, 2, 2, 6

    def _stream(self, batch_size, seed, steps):
        return torch.randint(0, 2, (steps, batch_size), generator=torch.Generator().manual_seed(seed))

    def _batch(self, bits, start, stop):
        targets = torch.zeros_like(bits[start:stop])
        shifted = bits[max(start - self.delay, 0) : stop - self.delay]
        targets[targets.shape[0] - shifted.shape[0]:] = shifted
        return TaskBatch(bits[start:stop].unsqueeze(-1).float(), targets, None)

    def sample(self, batch_size, generator):
        bits = torch.randint(0, 2, (3 * self.piece, batch_size), generator=generator)
        return self._batch(bits, 0, 3 * self.piece)

    def stream_batch(self, batch_size, index, seed):
        bits = self._stream(batch_size, seed, (index + 1) * self.piece)
        return self._batch(bits, index * self.piece, (index + 1) * self.piece)

    def eval_set(self, size, seed):
        bits = self._stream(size, seed, 4 * self.piece)
        return [self._batch(bits, 0, 4 * self.piece)]

    def loss(self, outputs, batch):
        return F.cross_entropy(outputs.flatten(0, 1), batch.targets.flatten())

    def metrics(self, outputs, batch):
        return {"loss": self.loss(outputs, batch).item(), "count": batch.targets.shape[1],
                "accuracy": (outputs.argmax(-1) == batch.targets).float().mean().item()}


def _tagger_trainer(run_dir, seed=0, **settings):
    from rnnlab.models import SequenceTagger

    torch.manual_seed(seed)
    base = dict(steps=30, batch_size=16, lr=1e-2, eval_every=10, eval_size=64, checkpoint_every=10, log_every=5)
    return Trainer(SequenceTagger("gru", 1, 8, 2), Delay(), TrainConfig(**{**base, **settings}), run_dir,
                   log=lambda _: None, progress_bar=False)


def test_truncated_bptt_per_step_outputs_equals_full_bptt_when_k_covers_the_sequence(tmp_path):
    def step(k):
        trainer = _tagger_trainer(tmp_path / str(k), tbptt=k)
        seen = _spy_on_updates(trainer)
        record = trainer.train_step()
        return record["loss"], seen[0]

    (full_loss, full), (covering_loss, covering), (cut_loss, cut) = step(None), step(18), step(4)
    assert covering_loss == full_loss and all(torch.equal(a, b) for a, b in zip(full, covering))
    # chunks of 4 steps: the same forward pass (the state is carried), so the same loss, as each chunk's
    # loss is weighted by its share of the steps; but the gradient stops at the chunk boundaries
    assert cut_loss == pytest.approx(full_loss, rel=1e-6)
    assert any(not torch.allclose(a, b) for a, b in zip(full, cut))


def test_carry_state_feeds_each_batch_the_detached_final_state_of_the_previous_one(tmp_path):
    trainer = _tagger_trainer(tmp_path, carry_state=True)
    seen = []
    original = trainer.model.forward

    def spy(x, lengths=None, state=None):
        seen.append(state)
        outputs, final = original(x, lengths, state)
        seen.append(final)
        return outputs, final

    trainer.model.forward = spy
    trainer.train_step()
    trainer.train_step()
    first_initial, first_final, second_initial, _ = seen
    assert first_initial is None
    assert torch.equal(second_initial, first_final) and not second_initial.requires_grad


def test_resume_with_a_carried_state_continues_bit_for_bit(tmp_path):
    straight = _tagger_trainer(tmp_path / "a", carry_state=True, tbptt=4)
    straight.fit()
    first = _tagger_trainer(tmp_path / "b", steps=20, carry_state=True, tbptt=4)
    first.fit()
    second = _tagger_trainer(tmp_path / "b", seed=5, carry_state=True, tbptt=4)
    assert second.resume() and second.state.step == 20 and second.carried is not None
    second.fit()
    for a, b in zip(straight.model.parameters(), second.model.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(straight.carried, second.carried)


def test_a_curriculum_trains_each_step_on_its_stage_task_and_evaluates_on_the_run_task(tmp_path):
    stages = [(2, SignOfSum(steps=2)), (5, SignOfSum(steps=5))]
    trainer = _trainer(tmp_path, steps=7, eval_every=7, curriculum=stages)
    lengths = []
    original = trainer.model.forward

    def spy(x, **kwargs):
        lengths.append(x.shape[0])
        return original(x, **kwargs)

    trainer.model.forward = spy
    trainer.fit()
    assert lengths[:7] == [2, 2, 5, 5, 5, 8, 8]  # steps 0-1, 2-4, then the run's own task
    assert set(lengths[7:]) == {8}  # every evaluation
    assert trainer.training_task(1) is stages[0][1] and trainer.training_task(4) is stages[1][1]
    assert trainer.training_task(5) is trainer.task


def test_carry_state_is_refused_for_independent_sequences(tmp_path):
    with pytest.raises(TrainingError, match="train.carry_state carries the state from batch to batch of a stream; "
                                            "the sequences of SignOfSum are independent"):
        _trainer(tmp_path, carry_state=True)


class _Structured(torch.nn.Module):
    """A model that reads the batch's structure (here, a weight per sequence) and reports an auxiliary loss."""

    reads_structure = True

    def __init__(self):
        super().__init__()
        self.readout = torch.nn.Linear(1, 2)
        self.seen = []

    def forward(self, inputs, lengths=None, state=None, structure=None):
        from typing import NamedTuple

        class State(NamedTuple):
            auxiliary_loss: torch.Tensor

        self.seen.append(structure)
        outputs = self.readout(inputs.sum(0) * structure.weights.unsqueeze(1))  # (B, 2)
        return outputs, State(1000.0 * self.readout.weight.square().sum())


class _Weights:
    def __init__(self, weights):
        self.weights = weights

    def narrow(self, begin, end):
        return _Weights(self.weights[begin:end])

    def to(self, device):
        moved = _Weights(self.weights.to(device))
        moved.device = torch.device(device)
        return moved


class _StructuredSignOfSum(SignOfSum):
    def _make(self, batch_size, generator):
        x = torch.randn(self.steps, batch_size, 1, generator=generator)
        return TaskBatch(x, (x.sum(dim=(0, 2)) > 0).long(), None, structure=_Weights(torch.ones(batch_size)))


def test_a_model_that_reads_structure_gets_it_and_its_auxiliary_loss_is_trained_on(tmp_path):
    model = _Structured()
    initial = model.readout.weight.abs().max().item()
    trainer = Trainer(model, _StructuredSignOfSum(), TrainConfig(steps=20, batch_size=8, optimizer="sgd", lr=1e-4,
                                                                   clip="none", eval_every=20, eval_size=16,
                                                                   log_every=5),
                      tmp_path, log=lambda _: None, progress_bar=False)
    trainer.fit()
    assert model.seen and all(isinstance(s, _Weights) for s in model.seen)
    assert all(s.device == torch.device("cpu") for s in model.seen)  # moved to the model's device
    # the auxiliary loss (1000 |W|²) dominates: each SGD step shrinks the readout's weights by 20%
    assert model.readout.weight.abs().max() < 0.05 * initial


def test_a_batch_structure_is_narrowed_and_moved_with_the_batch():
    batch = TaskBatch(torch.zeros(3, 4, 1), torch.zeros(4, dtype=torch.long), None,
                      structure=_Weights(torch.arange(4.0)))
    assert batch.narrow(1, 3).structure.weights.tolist() == [1.0, 2.0]
    assert batch.to("cpu").structure.weights.tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="structure"):
        TaskBatch(torch.zeros(3, 4, 1), torch.zeros(3, 4), None, structure=_Weights(torch.ones(4))).steps(0, 1)
