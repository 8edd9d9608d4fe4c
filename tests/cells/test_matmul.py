"""The kernels' matrix products: both backends against float64 references, the rule that picks one,
and the scan kernels giving the same outputs and gradients on either."""

import pytest
import torch

import rnnlab
from rnnlab.cells import matmul

needs_onednn = pytest.mark.skipif("onednn" not in matmul.available_backends(),
                                  reason="this torch build has no oneDNN linear op")
BIG = (64, 256, 384)  # rows, inner, cols: 6.3 million multiply-adds, on oneDNN where it is the backend


@pytest.fixture(params=matmul.available_backends())
def backend(request):
    before = matmul.backend()
    matmul.set_backend(request.param)
    yield request.param
    matmul.set_backend(before)


def _operands(rows, inner, cols, transposed=False):
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(rows, inner, generator=generator)
    if transposed:
        return a, torch.randn(cols, inner, generator=generator).t()
    return a, torch.randn(inner, cols, generator=generator)


def _close(result, reference):  # float32 rounding of sums of 256 products of unit normals
    assert result.dtype == torch.float32
    torch.testing.assert_close(result.double(), reference, rtol=0, atol=2e-4)


@pytest.mark.parametrize("transposed", [False, True], ids=["b contiguous", "b a transposed view"])
def test_every_product_equals_the_float64_reference(backend, transposed):
    a, b = _operands(*BIG, transposed)
    bias, summand = torch.randn(BIG[2]), torch.randn(BIG[0], BIG[2])
    exact = a.double() @ b.double()
    _close(matmul.mm(a, b), exact)
    _close(matmul.mm(a, b, bias), exact + bias.double())
    _close(matmul.addmm(summand, a, b), exact + summand.double())
    out = torch.zeros(BIG[0], 2 * BIG[2])[:, BIG[2]:]  # a strided view, as the kernels write into
    assert matmul.mm_out(out, a, b, bias) is out
    _close(out, exact + bias.double())
    accumulated = summand.clone()
    matmul.addmm_(accumulated, a, b)
    _close(accumulated, exact + summand.double())


@needs_onednn
def test_the_rule_sends_only_large_float32_cpu_products_without_autograd_to_onednn():
    a, b = _operands(*BIG)
    assert matmul.uses_onednn(a, b, "onednn")
    assert not matmul.uses_onednn(a, b, "blas")
    assert not matmul.uses_onednn(*_operands(1, 100, 400), "onednn")  # too small: the call overhead wins
    assert not matmul.uses_onednn(*_operands(12544, 1, 300), "onednn")  # a side of 1: memory-bound
    assert not matmul.uses_onednn(a.double(), b.double(), "onednn")  # float64 (the gradchecks): BLAS
    leaf = b.clone().requires_grad_()
    assert not matmul.uses_onednn(a, leaf, "onednn")  # autograd watches: torch.mm, which has a derivative
    with torch.no_grad():
        assert matmul.uses_onednn(a, leaf, "onednn")


def test_a_product_that_autograd_watches_keeps_its_gradient(backend):
    a, b = _operands(*BIG)
    b.requires_grad_()
    matmul.mm(a, b).sum().backward()
    torch.testing.assert_close(b.grad, a.sum(0, keepdim=True).t().expand_as(b))


def test_a_bad_backend_name_is_refused_with_the_choices(monkeypatch):
    with pytest.raises(ValueError, match="one of onednn, blas; got 'mkl'"):
        matmul.set_backend("mkl")
    monkeypatch.setenv("RNNLAB_MATMUL", "cuBLAS")
    with pytest.raises(ValueError, match="RNNLAB_MATMUL must be one of onednn, blas; got 'cublas'"):
        matmul._default_backend()
    monkeypatch.setenv("RNNLAB_MATMUL", "BLAS")
    assert matmul._default_backend() == "blas"


@needs_onednn
@pytest.mark.parametrize("cell", ["gru", "gru_v3", "gru1", "gru2", "gru3", "lstm1997", "fully_recurrent",
                                  "elman_tanh", "elman_relu"])
def test_a_scan_kernel_computes_the_same_on_both_backends(cell, monkeypatch):
    """Sizes where every per-step product and every weight gradient is large enough for oneDNN."""
    calls = []
    onednn_linear = matmul._ONEDNN_LINEAR
    monkeypatch.setattr(matmul, "_ONEDNN_LINEAR", lambda *args: calls.append(1) or onednn_linear(*args))
    torch.manual_seed(0)
    layer = rnnlab.Recurrent(cell, 64, 256)
    x = torch.randn(12, 32, 64)
    results = {}
    for name in ("blas", "onednn"):
        before = matmul.backend()
        matmul.set_backend(name)
        try:
            x_leaf = x.clone().requires_grad_()
            layer.zero_grad()
            y, _ = layer(x_leaf)
            (y * torch.linspace(-1, 1, y.shape[-1])).sum().backward()
        finally:
            matmul.set_backend(before)
        results[name] = [y.detach(), x_leaf.grad] + [p.grad.clone() for p in layer.parameters()]
        assert (len(calls) > 0) == (name == "onednn")  # the kernel's products did go to oneDNN
    for from_blas, from_onednn in zip(results["blas"], results["onednn"]):
        torch.testing.assert_close(from_onednn, from_blas, rtol=1e-4, atol=1e-4)
