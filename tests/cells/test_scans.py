"""Hand-written backward passes against autograd (gradcheck, float64)."""

import pytest
import torch

from rnnlab.cells import gru_scan, gru_v3_scan
from rnnlab.cells.gru_scan import GRUScan
from rnnlab.cells.gru_v3_scan import GRUv3Scan

T, B, H = 5, 3, 4


@pytest.fixture(params=[None, 2], ids=["one chunk", "chunks of 2 steps"], autouse=True)
def backward_chunk(request, monkeypatch):
    """Run every check with the backward sweep in one chunk and in several (T = 5: 2 + 2 + 1)."""
    if request.param is not None:
        for module in (gru_scan, gru_v3_scan):
            monkeypatch.setattr(module, "chunk_steps", lambda batch, width: request.param)


def _leaf(*shape):
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


I = 2


@pytest.mark.parametrize("with_bias", [True, False])
def test_gru_scan_gradcheck(with_bias):
    torch.manual_seed(0)
    inputs = (_leaf(T, B, I), _leaf(3 * H, I), _leaf(3 * H) if with_bias else None, _leaf(B, H), _leaf(3 * H, H),
              _leaf(3 * H) if with_bias else None)
    assert torch.autograd.gradcheck(GRUScan.apply, inputs)


def test_gru_scan_skips_the_input_gradient_when_not_needed():
    torch.manual_seed(0)
    x = torch.randn(T, B, I, dtype=torch.float64)  # no grad wanted
    params = [_leaf(3 * H, I), _leaf(3 * H), _leaf(B, H), _leaf(3 * H, H), _leaf(3 * H)]
    GRUScan.apply(x, *params).sum().backward()
    assert x.grad is None and all(p.grad is not None for p in params)


# (rows of weight_ih, entries of bias or None, rows of weight_hh), in units of H
@pytest.mark.parametrize("ih, bias, hh", [(3, 3, 3), (3, None, 3), (1, 3, 3), (1, 1, 3), (1, 3, 1), (1, None, 1)],
                         ids=["gru_v3", "gru_v3 no bias", "gru1", "gru2", "gru3", "gru3 no bias"])
def test_gru_v3_scan_gradcheck(ih, bias, hh):
    torch.manual_seed(0)
    inputs = (_leaf(T, B, I), _leaf(ih * H, I), _leaf(bias * H) if bias else None, _leaf(B, H), _leaf(hh * H, H))
    assert torch.autograd.gradcheck(GRUv3Scan.apply, inputs)


def test_gru_scan_single_step():
    torch.manual_seed(0)
    inputs = (_leaf(1, B, I), _leaf(3 * H, I), _leaf(3 * H), _leaf(B, H), _leaf(3 * H, H), _leaf(3 * H))
    assert torch.autograd.gradcheck(GRUScan.apply, inputs)


@pytest.mark.parametrize("cell", ["gru", "gru_v3"])
def test_a_second_derivative_is_refused_not_silently_wrong(cell):
    import rnnlab

    layer = rnnlab.Recurrent(cell, I, H, dtype=torch.float64)
    x = _leaf(T, B, I)
    y, _ = layer(x)
    (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="twice|once_differentiable|does not require grad"):
        torch.autograd.grad(grad.sum(), layer.cells[0].weight_hh)
