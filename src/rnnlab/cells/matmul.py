"""Float32 matrix products for the hand-written kernels, on oneDNN where torch's BLAS is slow.

torch's CPU build sends a float32 ``torch.mm`` to MKL's sgemm.  On AMD processors MKL takes a
code path below its AVX-512 one: on this project's machine (AMD EPYC, Zen 5, AVX-512) sgemm runs
at about 105 GFLOP/s a thread, while oneDNN, the library behind torch.nn.LSTM's CPU kernel,
reaches 215–235 GFLOP/s on the same products (one thread, sgemm against oneDNN: (64, 512) @
(512, 1536) 1,011 against 469 µs; (3200, 512) @ (512, 2048) 64.8 against 28.7 ms).  On Intel
processors the two should be close (not measured here).

``mm(a, b)`` is ``a @ b``; ``mm_out``, ``addmm`` and ``addmm_`` write it into a given tensor or
add it to one.  Each calls oneDNN's inner product (``torch.ops.mkldnn._linear_pointwise``, the op
torch.compile's CPU backend emits for linear layers, on ordinary strided tensors) when

    both operands are float32 CPU tensors, torch has oneDNN, the backend is "onednn" (the default
    where oneDNN is available), rows·inner·cols ≥ ONEDNN_MIN_MACS and no side is below ONEDNN_MIN_SIDE,

and ``torch.mm`` otherwise.  oneDNN spends about 10 µs a call before any arithmetic, so BLAS is
faster below about 10⁶ multiply-adds (BLAS against oneDNN: (1, 100) @ (100, 400) 4 against 13 µs;
(32, 100) @ (100, 400) 28 against 24 µs); and a product with a side of 1 is memory-bound, where
oneDNN loses (the weight gradient of a 1-wide input, (300, 12544) @ (12544, 1): 235 against
2,970 µs), while from a side of 4 up it wins ((4, 512) @ (512, 1536): 134 against 100 µs).  The
choice depends on shapes and dtype only, never on a timing, so a run takes the same path, and
gets the same numbers, every time.  Float64 (the gradchecks) always takes ``torch.mm``.

These products are for the kernels' own forward and backward passes (``torch.autograd.Function``),
where autograd does not watch.  Where it does (grad mode on and an operand that requires grad),
``mm`` takes ``torch.mm``, which has a derivative; oneDNN's op has none.  The two libraries sum in
different orders, so their results differ by float32 rounding (tests/cells/test_matmul.py).
oneDNN also copies operands into its own layout: a layer's peak memory grows (rnnlab.GRU at
(64, 50, 512, 512): 107 against 86 MB).

``RNNLAB_MATMUL=blas`` in the environment when rnnlab is imported keeps every product on
``torch.mm`` (to compare the two, or to save that memory); ``set_backend`` does the same in a program.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

BACKENDS = ("onednn", "blas")
ONEDNN_MIN_MACS = 1 << 20  # rows·inner·cols below which oneDNN's call overhead outweighs its speed
ONEDNN_MIN_SIDE = 8  # a thinner product (e.g. an input of width 1) is memory-bound, and slower on oneDNN


def _find_onednn_linear():
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise.default
    except (AttributeError, RuntimeError):  # a build without the op
        return None


_ONEDNN_LINEAR = _find_onednn_linear()


def available_backends() -> tuple[str, ...]:
    """The backends this torch build can run: always "blas"; "onednn" where torch has oneDNN's linear op."""
    return BACKENDS if _ONEDNN_LINEAR is not None else ("blas",)


def _default_backend() -> str:
    """RNNLAB_MATMUL's backend where this build has it ("onednn" falls back to "blas" where it has not), else the
    first available."""
    wanted = os.environ.get("RNNLAB_MATMUL", "").strip().lower()
    if wanted and wanted not in BACKENDS:
        raise ValueError(f"RNNLAB_MATMUL must be one of {', '.join(BACKENDS)}; got {wanted!r}")
    if not wanted:
        return available_backends()[0]
    return wanted if wanted in available_backends() else "blas"


_backend = _default_backend()


def backend() -> str:
    """The backend that ``mm`` uses for large float32 products: "onednn" or "blas"."""
    return _backend


def set_backend(name: str) -> None:
    """Choose the backend of every later ``mm``: "onednn" (where available) or "blas" (``torch.mm``)."""
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"matmul backend must be one of {', '.join(BACKENDS)}; got {name!r}")
    if name not in available_backends():
        raise ValueError(f"this torch build has no oneDNN linear op; available: {', '.join(available_backends())}")
    _backend = name


def uses_onednn(a: Tensor, b: Tensor, backend_name: str | None = None) -> bool:
    """Whether ``mm(a, b)`` runs on oneDNN (see the module's docstring for the rule)."""
    name = backend_name or backend()
    return (name == "onednn" and _ONEDNN_LINEAR is not None and a.dtype == torch.float32
            and b.dtype == torch.float32 and a.device.type == "cpu" and b.device.type == "cpu"
            and a.shape[0] * a.shape[1] * b.shape[1] >= ONEDNN_MIN_MACS
            and min(a.shape[0], a.shape[1], b.shape[1]) >= ONEDNN_MIN_SIDE
            and not (torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)))


def _onednn_mm(a: Tensor, b: Tensor, bias: Tensor | None = None) -> Tensor:
    """a @ b (+ bias) on oneDNN, once ``uses_onednn`` has said so."""
    return _ONEDNN_LINEAR(a, b.t(), bias, "none", [], "")  # the op computes a @ weightᵀ + bias


def mm(a: Tensor, b: Tensor, bias: Tensor | None = None, *, backend_name: str | None = None) -> Tensor:
    """a @ b (+ bias) for a (M, K), b (K, N), bias (N,) or None; any strides -> (M, N), contiguous.

    ``backend_name`` overrides the module's backend for this product (the bench times both)."""
    if uses_onednn(a, b, backend_name):
        return _onednn_mm(a, b, bias)
    return torch.mm(a, b) if bias is None else torch.addmm(bias, a, b)


def mm_out(out: Tensor, a: Tensor, b: Tensor, bias: Tensor | None = None, *,
           backend_name: str | None = None) -> Tensor:
    """out = a @ b (+ bias), written into ``out`` (M, N), which may be a strided view; returns ``out``."""
    if uses_onednn(a, b, backend_name):
        return out.copy_(_onednn_mm(a, b, bias))
    return torch.mm(a, b, out=out) if bias is None else torch.addmm(bias, a, b, out=out)


def addmm(summand: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """summand + a @ b as a new (M, N) tensor; ``summand`` (M, N) or broadcastable to it."""
    if uses_onednn(a, b):
        return _onednn_mm(a, b).add_(summand)
    return torch.addmm(summand, a, b)


def addmm_(out: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """out += a @ b in place, ``out`` (M, N) possibly a strided view; returns ``out``."""
    if uses_onednn(a, b):
        return out.add_(_onednn_mm(a, b))
    return out.addmm_(a, b)
