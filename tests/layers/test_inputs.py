"""Padded input and ``lengths=`` for every cell: padding is never read, fast paths equal the reference loops.

Properties checked with hypothesis over random lengths, batch sizes, stacks and
directions, for every name in ``rnnlab.cells.available()``.  All in float64, where
a difference is a bug and not rounding.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlab

CELLS = rnnlab.cells.available()
INPUT_SIZE, HIDDEN_SIZE = 3, 4
DTYPE = torch.float64
TOL = 1e-10
EXACT = 1e-12  # the same arithmetic on the same values: anything above rounding is a leak


def make_layer(cell: str, seed: int = 0, **options) -> rnnlab.Recurrent:
    torch.manual_seed(seed)
    return rnnlab.Recurrent(cell, INPUT_SIZE, HIDDEN_SIZE, dtype=DTYPE, **options)


def random_state(layer: rnnlab.Recurrent, batch: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Initial state fields, each (D·num_layers, N, size)."""
    return [torch.randn(len(layer.cells), batch, size, generator=gen, dtype=DTYPE)
            for size in layer.cells[0].state_sizes]


def as_hx(fields):
    return None if fields is None else (fields[0] if len(fields) == 1 else tuple(fields))


def state_fields(h_n) -> list[torch.Tensor]:
    return [h_n] if isinstance(h_n, torch.Tensor) else list(h_n)


def real_positions(lengths: list[int], steps: int, batch_first: bool) -> torch.Tensor:
    """(L, N) or (N, L) bool, True at real positions."""
    real = torch.arange(steps).unsqueeze(1) < torch.tensor(lengths)  # (L, N)
    return real.t() if batch_first else real


def forward_backward(layer, x, fields, lengths, cotangent_seed: int = 5):
    """Output, final state fields and the gradients of input, state fields and parameters (by name)."""
    for p in layer.parameters():
        p.grad = None
    x = x.detach().clone().requires_grad_(True)
    fields = None if fields is None else [f.detach().clone().requires_grad_(True) for f in fields]
    output, h_n = layer(x, as_hx(fields), lengths=lengths)
    finals = state_fields(h_n)
    gen = torch.Generator().manual_seed(cotangent_seed)
    tensors = [output, *finals]
    torch.autograd.backward(tensors, [torch.randn(t.shape, generator=gen, dtype=DTYPE) for t in tensors])
    grads = {"input": x.grad}
    grads.update({f"state field {i}": f.grad for i, f in enumerate(fields or [])})
    grads.update({name: p.grad for name, p in layer.named_parameters()})
    return output, finals, grads


def assert_close(actual, expected, tol, what):
    assert actual is not None and expected is not None, f"{what}: missing gradient"
    torch.testing.assert_close(actual, expected, atol=tol, rtol=tol, msg=lambda m: f"{what}: {m}")


# ---- padding is never read -----------------------------------------------------------------------

@st.composite
def padded_problems(draw):
    steps = draw(st.integers(1, 6))
    batch = draw(st.integers(1, 4))
    return {
        "steps": steps,
        "batch": batch,
        "lengths": draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch)),
        "lengths_as_list": draw(st.booleans()),
        "num_layers": draw(st.integers(1, 2)),
        "bidirectional": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
        "given_state": draw(st.booleans()),
        "fast_paths": draw(st.booleans()),
        "padding": draw(st.sampled_from(["normal", "large", "nan", "inf"])),
        "seed": draw(st.integers(0, 2**16)),
    }


@pytest.mark.parametrize("cell", CELLS)
@settings(max_examples=25, deadline=None)
@given(problem=padded_problems())
def test_padding_never_changes_real_outputs_or_final_state(cell, problem):
    p = problem
    layer = make_layer(cell, p["seed"], num_layers=p["num_layers"], bidirectional=p["bidirectional"],
                       batch_first=p["batch_first"])
    layer.fast_paths = p["fast_paths"]
    gen = torch.Generator().manual_seed(p["seed"])
    shape = (p["batch"], p["steps"]) if p["batch_first"] else (p["steps"], p["batch"])
    x = torch.randn(*shape, INPUT_SIZE, generator=gen, dtype=DTYPE)
    fields = random_state(layer, p["batch"], gen) if p["given_state"] else None
    real = real_positions(p["lengths"], p["steps"], p["batch_first"])
    padding = {"normal": torch.randn(x.shape, generator=gen, dtype=DTYPE),
               "large": 1e4 * torch.randn(x.shape, generator=gen, dtype=DTYPE),
               "nan": torch.full_like(x, float("nan")),
               "inf": torch.full_like(x, float("inf"))}[p["padding"]]
    x_other = torch.where(real.unsqueeze(-1), x, padding)  # differs from x only at padded positions
    lengths = p["lengths"] if p["lengths_as_list"] else torch.tensor(p["lengths"])

    out, finals, grads = forward_backward(layer, x, fields, lengths)
    out_other, finals_other, grads_other = forward_backward(layer, x_other, fields, lengths)

    for name, y in [("output", out), ("output with other padding", out_other)]:
        assert torch.all(y[~real] == 0), f"{name}: padded positions are not zero"
    assert_close(out_other[real], out[real], EXACT, "output at real positions")
    for i, (f_other, f) in enumerate(zip(finals_other, finals)):
        assert_close(f_other, f, EXACT, f"final state field {i}")
    if p["padding"] in ("normal", "large"):  # gradients: finite padding only (0 · NaN is NaN in any backward)
        assert torch.all(grads["input"][~real] == 0), "padded inputs must get no gradient"
        assert torch.all(grads_other["input"][~real] == 0), "padded inputs must get no gradient"
        for name in grads:
            assert_close(grads_other[name], grads[name], EXACT, f"gradient of {name}")


# ---- lengths: each sequence as if run alone --------------------------------------------------------

@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize("cell", CELLS)
def test_lengths_equal_running_each_sequence_alone(cell, bidirectional):
    """Independent reference: each sequence cut to its length and run unbatched, without lengths."""
    layer = make_layer(cell, num_layers=2, bidirectional=bidirectional)
    lengths = [2, 5, 1, 4]
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(5, len(lengths), INPUT_SIZE, generator=gen, dtype=DTYPE)
    fields = random_state(layer, len(lengths), gen)
    out, h_n = layer(x, as_hx(fields), lengths=torch.tensor(lengths))
    for b, n in enumerate(lengths):
        out_b, h_b = layer(x[:n, b], as_hx([f[:, b] for f in fields]))
        assert_close(out[:n, b], out_b, TOL, f"output of sequence {b}")
        assert torch.all(out[n:, b] == 0)
        for i, (f, f_b) in enumerate(zip(state_fields(h_n), state_fields(h_b))):
            assert_close(f[:, b], f_b, TOL, f"final state field {i} of sequence {b}")


@pytest.mark.parametrize("cell", CELLS)
def test_lengths_as_python_list_equal_lengths_as_tensor(cell):
    layer = make_layer(cell, bidirectional=True)
    lengths = [3, 1, 4]
    x = torch.randn(4, 3, INPUT_SIZE, generator=torch.Generator().manual_seed(2), dtype=DTYPE)
    out_list, h_list = layer(x, lengths=lengths)
    out_tensor, h_tensor = layer(x, lengths=torch.tensor(lengths))
    assert torch.equal(out_list, out_tensor)
    for f_list, f_tensor in zip(state_fields(h_list), state_fields(h_tensor)):
        assert torch.equal(f_list, f_tensor)
    assert torch.all(out_list[1:, 1] == 0) and torch.all(out_list[3:, 0] == 0)


def test_full_lengths_equal_no_lengths():
    """lengths all equal to L change nothing (checked on the fused-kernel and the hand-written GRU paths)."""
    for cell in ["lstm", "gru", "gru_v3"]:
        layer = make_layer(cell, num_layers=2, bidirectional=True)
        x = torch.randn(4, 3, INPUT_SIZE, generator=torch.Generator().manual_seed(3), dtype=DTYPE)
        out, h_n = layer(x)
        out_l, h_l = layer(x, lengths=[4, 4, 4])
        assert_close(out_l, out, EXACT, f"{cell} output")
        for f_l, f in zip(state_fields(h_l), state_fields(h_n)):
            assert_close(f_l, f, EXACT, f"{cell} final state")


# ---- fast paths == reference loops ---------------------------------------------------------------

FAST_VS_REFERENCE = {
    # id: (layer options, lengths or None, batch_first input)
    "lengths_bidirectional_2_layers": ({"num_layers": 2, "bidirectional": True}, [3, 5, 1, 4], False),
    "batch_first_no_lengths": ({"batch_first": True}, None, True),
    "no_bias_lengths_bidirectional": ({"bias": False, "bidirectional": True}, [5, 2, 2, 4], False),
}


@pytest.mark.parametrize("case", FAST_VS_REFERENCE)
@pytest.mark.parametrize("cell", CELLS)
def test_fast_paths_equal_reference_loop(cell, case):
    options, lengths, batch_first = FAST_VS_REFERENCE[case]
    fast = make_layer(cell, **options)
    reference = make_layer(cell, **options)
    reference.load_state_dict(fast.state_dict())
    reference.fast_paths = False
    assert fast.fast_paths, "fast paths must be on by default"
    gen = torch.Generator().manual_seed(4)
    shape = (4, 5) if batch_first else (5, 4)  # (N, L) or (L, N)
    x = torch.randn(*shape, INPUT_SIZE, generator=gen, dtype=DTYPE)
    fields = random_state(fast, 4, gen)
    lengths = None if lengths is None else torch.tensor(lengths)
    out, finals, grads = forward_backward(fast, x, fields, lengths)
    ref_out, ref_finals, ref_grads = forward_backward(reference, x, fields, lengths)
    assert_close(out, ref_out, TOL, "output")
    for i, (f, ref_f) in enumerate(zip(finals, ref_finals)):
        assert_close(f, ref_f, TOL, f"final state field {i}")
    assert list(grads) == list(ref_grads)
    for name in ref_grads:
        assert_close(grads[name], ref_grads[name], TOL, f"gradient of {name}")


@pytest.mark.parametrize("proj_size", [0, 2])
def test_lstm_fast_path_equals_reference_loop_with_projection(proj_size):
    fast = make_layer("lstm", num_layers=2, bidirectional=True, proj_size=proj_size)
    reference = make_layer("lstm", num_layers=2, bidirectional=True, proj_size=proj_size)
    reference.load_state_dict(fast.state_dict())
    reference.fast_paths = False
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(5, 4, INPUT_SIZE, generator=gen, dtype=DTYPE)
    fields = random_state(fast, 4, gen)
    lengths = [2, 5, 3, 1]
    out, finals, grads = forward_backward(fast, x, fields, lengths)
    ref_out, ref_finals, ref_grads = forward_backward(reference, x, fields, lengths)
    assert out.shape == (5, 4, 2 * (proj_size or HIDDEN_SIZE))
    assert_close(out, ref_out, TOL, "output")
    for i, (f, ref_f) in enumerate(zip(finals, ref_finals)):
        assert_close(f, ref_f, TOL, f"final state field {i}")
    for name in ref_grads:
        assert_close(grads[name], ref_grads[name], TOL, f"gradient of {name}")
