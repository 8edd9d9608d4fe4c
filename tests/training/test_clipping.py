"""Clipping by norm and by value against hand-computed cases."""

import math

import pytest
import torch

from rnnlab.training.clipping import clip_gradients


def _params(*grads):
    params = []
    for g in grads:
        p = torch.zeros(len(g), requires_grad=True)
        p.grad = torch.tensor(g, dtype=torch.float32)
        params.append(p)
    return params


def test_clip_by_norm_scales_all_gradients_by_one_global_factor():
    a, b = _params([3.0, 0.0], [0.0, 4.0])  # global norm 5
    assert clip_gradients([a, b], "norm", max_norm=1.0) == pytest.approx(5.0)
    assert torch.allclose(a.grad, torch.tensor([0.6, 0.0]), atol=1e-6)
    assert torch.allclose(b.grad, torch.tensor([0.0, 0.8]), atol=1e-6)


def test_clip_by_norm_leaves_small_gradients_alone():
    (a,) = _params([0.3, 0.4])
    assert clip_gradients([a], "norm", max_norm=1.0) == pytest.approx(0.5)
    assert torch.allclose(a.grad, torch.tensor([0.3, 0.4]))


def test_clip_by_value_clamps_each_entry():
    a, b = _params([3.0, -7.0], [0.5, 2.0])
    norm = clip_gradients([a, b], "value", max_value=2.5)
    assert norm == pytest.approx(math.sqrt(9 + 49 + 0.25 + 4))  # before clipping
    assert torch.equal(a.grad, torch.tensor([2.5, -2.5])) and torch.equal(b.grad, torch.tensor([0.5, 2.0]))


def test_none_reports_the_norm_and_changes_nothing():
    (a,) = _params([6.0, 8.0])
    assert clip_gradients([a], "none") == pytest.approx(10.0)
    assert torch.equal(a.grad, torch.tensor([6.0, 8.0]))


def test_non_finite_norm_is_reported_and_parameters_without_grad_are_skipped():
    (a,) = _params([float("inf"), 1.0])
    b = torch.zeros(2, requires_grad=True)  # no .grad
    assert math.isinf(clip_gradients([a, b], "value", max_value=1.0))
    assert clip_gradients([b], "norm") == 0.0


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "l1"}, "clip mode must be one of norm, value, none; got 'l1'"),
    ({"mode": "norm", "max_norm": 0.0}, "max_norm must be positive; got 0.0"),
    ({"mode": "value", "max_value": -1.0}, "max_value must be positive; got -1.0"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        clip_gradients(_params([1.0]), **kwargs)
