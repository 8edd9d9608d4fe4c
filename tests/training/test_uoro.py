"""train.algorithm = "uoro": the rank-one estimate is unbiased (and the check would catch a biased one);
online updates; reproducible and resumable draws; flat memory; what it refuses."""

import dataclasses

import pytest
import torch

from rnnlab.training.algorithms import uoro
from rnnlab.training.trainer import TrainingError

from sensitivity_runs import SHAKESPEARE
from sensitivity_runs import applied as _applied
from sensitivity_runs import relative as _relative
from sensitivity_runs import trainer as _trainer


def _gradient(trainer, batch) -> torch.Tensor:
    """The gradient the trainer's algorithm computes on ``batch``, flat, without applying it."""
    seen = []

    def update(loss):
        seen.append(torch.cat([torch.zeros_like(p).flatten() if p.grad is None else p.grad.flatten()
                               for p in trainer.model.parameters()]))
        trainer.optimizer.zero_grad(set_to_none=True)

    trainer.algorithm.train_batch(batch, update)
    assert len(seen) == 1
    return seen[0]


def _copies(batch, kind: str, copies: int):
    """A batch of ``copies`` copies of ``batch``'s first sequence: the same sequence, independent draws."""
    def first(t, dim):
        return None if t is None else t.narrow(dim, 0, 1).expand(*[copies if d == dim else -1 for d in range(t.dim())])

    return dataclasses.replace(batch, inputs=first(batch.inputs, 1), lengths=first(batch.lengths, 0),
                               targets=first(batch.targets, 0 if kind == "last" else 1))


DRAWS = 2000  # UORO estimates of one sequence's gradient: CALLS batches of COPIES copies
COPIES = 40
CALLS = DRAWS // COPIES
CASES = [  # (task, overrides): one output at the end of padded sequences; one at every step
    ("adding", ["task.length=11"]),
    ("elman_xor", ["task.length=6"]),
]


def _z_scores(tmp_path, task, overrides) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """UORO's mean over DRAWS draws against the exact gradient (RTRL's, equal to BPTT's) of one sequence, a tiny
    float64 Elman network -> (z of the random coordinates, their mean and exact values at the others).

    The standard error of each coordinate's mean comes from the spread of the CALLS batch means (each the
    mean of COPIES independent draws: the batch's copies get their own signs)."""
    settings = ["model.hidden_size=3", *overrides]
    estimator = _trainer(tmp_path, task, "elman_tanh", "uoro", *settings, name="uoro")
    exact = _trainer(tmp_path, task, "elman_tanh", "rtrl", *settings, name="rtrl")
    batch = _copies(estimator._training_batch(), estimator.kind, COPIES)
    truth = _gradient(exact, batch)
    means = []
    for call in range(CALLS):
        estimator.state.step = call  # the draws of step `call` (sensitivity.batch_generator)
        means.append(_gradient(estimator, batch))
    means = torch.stack(means)  # (CALLS, P)
    mean, standard_error = means.mean(0), means.std(0) / CALLS**0.5
    random = standard_error > 1e-12 * truth.abs().max()  # the readout's gradient is exact, draw after draw
    assert int(random.sum()) >= 15  # every weight of the recurrent layer: W_ih, W_hh, both biases
    z = (mean[random] - truth[random]) / standard_error[random]
    return z, mean[~random], truth[~random]


@pytest.mark.parametrize("task, overrides", CASES, ids=[c[0] for c in CASES])
def test_the_mean_of_many_draws_is_the_exact_gradient(tmp_path, task, overrides):
    z, mean, truth = _z_scores(tmp_path, task, overrides)
    assert float(z.abs().max()) < 4.5  # every coordinate within 4.5 standard errors
    k = z.numel()
    assert float((z**2).sum()) < k + 5 * (2 * k) ** 0.5  # and together: χ² with k degrees of freedom
    assert torch.allclose(mean, truth, rtol=1e-10, atol=1e-14)  # the readout's gradient, exact


def test_the_check_catches_a_biased_estimator(tmp_path, monkeypatch):
    """One random sign shared by every unit (E[ν] = 0 still, but E[ννᵀ] = 11ᵀ, not I): biased, and caught."""
    draw = uoro.random_signs
    monkeypatch.setattr(uoro, "random_signs", lambda shape, generator, **kw:
                        draw((*shape[:-1], 1), generator, **kw).expand(shape))
    z, _, _ = _z_scores(tmp_path, *CASES[0])
    assert float(z.abs().max()) > 20


def test_any_positive_scalings_keep_it_unbiased(tmp_path, monkeypatch):
    """ρ₀ = ρ₁ = 1 instead of the variance-minimising ones: more variance, no bias."""
    monkeypatch.setattr(uoro, "variance_minimising_scalings", lambda row, *rest: (torch.ones_like(row),) * 2)
    z, _, _ = _z_scores(tmp_path, *CASES[0])
    assert float(z.abs().max()) < 4.5


def test_the_scalings_balance_the_two_factors():
    """ρ₀ = √(‖θ̃‖/‖J s̃‖), ρ₁ = √(‖νᵀK‖/‖ν‖): after scaling, each pair of factors has equal norms."""
    row, forward, backward, signs = (torch.tensor([v], dtype=torch.float64) for v in (8.0, 2.0, 9.0, 4.0))
    rho0, rho1 = uoro.variance_minimising_scalings(row, forward, backward, signs)
    assert float(rho0) == pytest.approx(2.0, rel=1e-7) and float(rho1) == pytest.approx(1.5, rel=1e-7)
    assert float(rho0 * forward) == pytest.approx(float(row / rho0), rel=1e-7)
    assert float(rho1 * signs) == pytest.approx(float(backward / rho1), rel=1e-7)
    zero = torch.zeros(1, dtype=torch.float64)  # the first step: s̃ = θ̃ = 0, and no 0/0
    assert float(uoro.variance_minimising_scalings(zero, zero, backward, signs)[0]) == 1.0


def test_the_signs_are_plus_and_minus_one_with_no_preference():
    signs = uoro.random_signs((1000, 8), torch.Generator().manual_seed(0), dtype=torch.float64, device="cpu")
    assert set(signs.unique().tolist()) == {-1.0, 1.0}
    assert abs(float(signs.mean())) < 0.05


def test_online_uoro_updates_after_every_step_with_a_loss(tmp_path):
    trainer = _trainer(tmp_path, "elman_xor", "elman_tanh", "uoro", "task.length=9", "train.online=true")
    seen = _applied(trainer)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train_step()
    assert len(seen) == 9
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    # its first update is the gradient of the first step's loss alone (s̃_0 θ̃_0 = M_0 = 0, exactly)
    first = _trainer(tmp_path, "elman_xor", "elman_tanh", "bptt", "task.length=9", "train.tbptt=1", name="first")
    batch = first._training_batch()
    outputs, _ = first.model(batch.inputs[:1])
    (first.task.loss(outputs, batch.steps(0, 1)) / 9).backward()
    assert _relative(seen[0], [p.grad for p in first.model.parameters()]) < 1e-10


def test_the_draws_follow_the_seed_and_the_step(tmp_path):
    def gradient(seed, step, name):
        trainer = _trainer(tmp_path, "adding", "elman_tanh", "uoro", "task.length=12", f"train.seed={seed}",
                           name=name)
        batch = trainer._training_batch()
        torch.manual_seed(step + 100)  # the global generator plays no part
        trainer.state.step = step
        return _gradient(trainer, batch)

    assert torch.equal(gradient(0, 3, "a"), gradient(0, 3, "b"))
    assert not torch.equal(gradient(0, 3, "c"), gradient(0, 4, "d"))
    assert not torch.equal(gradient(0, 3, "e"), gradient(1, 3, "f"))  # (another seed: other weights too)


def test_a_resumed_run_ends_where_the_uninterrupted_one_does(tmp_path):
    """The signs are drawn from (train.seed, step): nothing to checkpoint, and the same draws after a resume."""
    settings = ["task.length=12", "train.online=true", "train.eval_every=100"]
    straight = _trainer(tmp_path, "adding", "elman_tanh", "uoro", *settings, "train.steps=4", name="straight")
    straight.fit()
    first = _trainer(tmp_path, "adding", "elman_tanh", "uoro", *settings, "train.steps=2", name="resumed")
    first.fit()
    second = _trainer(tmp_path, "adding", "elman_tanh", "uoro", *settings, "train.steps=4", name="resumed")
    assert second.resume() and second.state.step == 2
    second.fit()
    for a, b in zip(straight.model.parameters(), second.model.parameters()):
        assert torch.equal(a, b)


def test_the_estimate_does_not_grow_with_the_sequence(tmp_path):
    """Memory independent of T: s̃ (B, n) and θ̃ (B, P) per parameter, whatever the length."""
    sizes = {}
    for length in (12, 48):
        trainer = _trainer(tmp_path, "adding", "lstm", "uoro", f"task.length={length}", name=str(length))
        kept, advance = [], trainer.algorithm.advance

        def spying(*args):
            carried, state = advance(*args)
            kept.append(sorted(t.numel() for t in carried.values()))
            return carried, state

        trainer.algorithm.advance = spying
        trainer.train_step()
        sizes[length] = max(kept)
    # B · n (h and c) for s̃, B · P for W_ih, W_hh, b_ih, b_hh
    assert sizes[12] == sizes[48] == sorted([3 * 8, 3 * 4 * 4 * 2, 3 * 4 * 4 * 4, 3 * 16, 3 * 16])


@pytest.mark.parametrize("task, model, overrides, message", [
    ("copy", "ntm", [], "needs exactly one rnnlab.Recurrent stack"),
    ("reverse", "gru", [], "task reverse decodes its outputs"),
    ("adding", "gru", ["model.num_layers=2"], "must be one layer, one direction"),
    ("adding", "gru", ["model.bidirectional=true"], "must be one layer, one direction"),
    ("adding", "gru", ["train.tbptt=5"], "train.tbptt does not apply"),
    ("char_lm", "gru", [f"task.path={SHAKESPEARE}"], "token inputs .an input embedding. are not supported yet"),
    ("adding", "gru", ["model.pooling=mean"], "model.pooling = 'mean'"),
])
def test_combinations_that_make_no_sense_are_refused_in_one_line(tmp_path, task, model, overrides, message):
    with pytest.raises(TrainingError, match=f"train.algorithm = 'uoro': .*{message}"):
        _trainer(tmp_path, task, model, "uoro", *overrides)
