"""train.algorithm = "rtrl": real-time recurrent learning equals BPTT; online updates; what it refuses."""


import pytest
import torch

from rnnlab.training.trainer import TrainingError

from sensitivity_runs import SHAKESPEARE
from sensitivity_runs import applied as _applied
from sensitivity_runs import relative as _relative
from sensitivity_runs import trainer as _trainer


CASES = [  # (task, overrides): one output at the end of padded sequences; one at every step
    ("adding", ["task.length=12"]),
    ("elman_xor", ["task.length=9"]),
]


@pytest.mark.parametrize("cell", ["fully_recurrent", "elman_tanh", "lstm", "gru", "gru_v3"])
@pytest.mark.parametrize("task, overrides", CASES, ids=[c[0] for c in CASES])
def test_rtrl_gradient_equals_bptt_gradient(tmp_path, cell, task, overrides):
    gradients = {}
    for algorithm in ("bptt", "rtrl"):
        trainer = _trainer(tmp_path, task, cell, algorithm, *overrides, name=algorithm)
        seen = _applied(trainer)
        record = trainer.train_step()
        assert len(seen) == 1
        gradients[algorithm] = (seen[0], record["loss"])
    assert _relative(gradients["rtrl"][0], gradients["bptt"][0]) < 1e-8
    assert gradients["rtrl"][1] == pytest.approx(gradients["bptt"][1], rel=1e-12)


def test_two_runs_differing_only_in_the_algorithm_end_with_the_same_parameters(tmp_path):
    ends = []
    for algorithm in ("bptt", "rtrl"):
        trainer = _trainer(tmp_path, "adding", "elman_tanh", algorithm, "task.length=12", "train.steps=4",
                           name=algorithm)
        trainer.fit()
        ends.append([p.detach().clone() for p in trainer.model.parameters()])
    assert _relative(ends[1], ends[0]) < 1e-10


def test_online_rtrl_updates_after_every_step_with_a_loss(tmp_path):
    trainer = _trainer(tmp_path, "elman_xor", "elman_tanh", "rtrl", "task.length=9", "train.online=true")
    seen = _applied(trainer)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train_step()
    assert len(seen) == 9
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    # its first update is the gradient of the first step's loss alone
    first = _trainer(tmp_path, "elman_xor", "elman_tanh", "bptt", "task.length=9", "train.tbptt=1", name="first")
    batch = first._training_batch()
    outputs, _ = first.model(batch.inputs[:1])
    (first.task.loss(outputs, batch.steps(0, 1)) / 9).backward()
    assert _relative(seen[0], [p.grad for p in first.model.parameters()]) < 1e-10


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
    with pytest.raises(TrainingError, match=message):
        _trainer(tmp_path, task, model, "rtrl", *overrides)


def test_sensitivities_do_not_grow_with_the_sequence(tmp_path, monkeypatch):
    """Memory independent of T: the largest tensor RTRL keeps is (B, n, P), whatever the length."""
    from rnnlab.training.algorithms import rtrl

    sizes = {}
    for length in (12, 48):
        trainer = _trainer(tmp_path, "adding", "lstm", "rtrl", f"task.length={length}", name=str(length))
        peak = []
        original = torch.bmm
        monkeypatch.setattr(rtrl.torch, "bmm", lambda a, b: peak.append(b.numel()) or original(a, b))
        trainer.train_step()
        monkeypatch.undo()
        sizes[length] = max(peak)
    assert sizes[12] == sizes[48] == 3 * 8 * (4 * 4 * 4)  # B · n (h and c) · P of weight_hh, the largest


@pytest.mark.parametrize("cell, options", [("elman_tanh", []), ("elman_relu", []), ("fully_recurrent", []),
                                           ("fully_recurrent", ['model.options={nonlinearity="tanh", visible=2}'])])
@pytest.mark.parametrize("task, overrides", CASES, ids=[c[0] for c in CASES])
def test_the_affine_fast_path_equals_the_general_path(tmp_path, monkeypatch, cell, options, task, overrides):
    from rnnlab.training.algorithms import rtrl, sensitivity

    def general(*args, **kwargs):
        raise AssertionError("the general path ran")

    gradients = []
    for fast in (True, False):
        with monkeypatch.context() as patch:
            patch.setattr(rtrl.RTRL, "fast_path", fast)
            if fast:
                patch.setattr(sensitivity.OneStep, "jacobians", general)
            trainer = _trainer(tmp_path, task, cell, "rtrl", *overrides, *options, name=str(fast))
            seen = _applied(trainer)
            trainer.train_step()
        gradients.append(seen[0])
    assert _relative(gradients[0], gradients[1]) < 1e-10
