"""NTM addressing, reading and writing (Graves et al. 2014, §3) on hand-computed tables, and their gradients."""

import math

import pytest
import torch

from rnnlab.memory import addressing
from rnnlab.memory.addressing import address, content_weights, interpolate, read, sharpen, shift, write

R2 = 1 / math.sqrt(2)


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


# ---- content (eqs. 5-6) ---------------------------------------------------------------------------------------------
MEMORY_3x2 = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]

# key, β, cosine similarities K[k, M(i)] written out, w^c = softmax(β K) to 6 decimals
CONTENT_CASES = [
    ([1.0, 0.0], 1.0, [1, 0, R2], [0.473041, 0.174022, 0.352937]),
    ([1.0, 1.0], 2.0, [R2, R2, 1], [0.263407, 0.263407, 0.473186]),
    ([-1.0, 0.0], 1.0, [-1, 0, -R2], [0.197684, 0.537360, 0.264956]),
    ([2.0, 2.0], 3.0, [R2, R2, 1], [0.226875, 0.226875, 0.546251]),  # cosine ignores the key's length
    ([1.0, 0.0], 0.0, [1, 0, R2], [1 / 3, 1 / 3, 1 / 3]),  # β = 0: uniform
    ([0.0, 0.0], 5.0, [0, 0, 0], [1 / 3, 1 / 3, 1 / 3]),  # zero key: K = 0 thanks to ε, no NaN
]


@pytest.mark.parametrize("key, beta, cosines, expected", CONTENT_CASES)
def test_content_weights_on_a_3x2_memory(key, beta, cosines, expected):
    memory = t([MEMORY_3x2])  # (1, 3, 2)
    similarity = addressing.cosine_similarity(memory, t([[key]]))
    assert torch.allclose(similarity, t([[cosines]]), atol=1e-6)
    w = content_weights(memory, t([[key]]), t([[[beta]]]))
    assert w.shape == (1, 1, 3)
    assert torch.allclose(w, t([[expected]]), atol=1e-6)


def test_content_weights_of_every_head_and_sequence_at_once():
    """B = 2 memories (the second with its rows reversed), H = 3 heads: each (b, h) equals its case alone."""
    memory = t([MEMORY_3x2, MEMORY_3x2[::-1]])
    cases = CONTENT_CASES[:3]
    keys = t([[c[0] for c in cases]] * 2)  # (2, 3, 2)
    betas = t([[[c[1]] for c in cases]] * 2)  # (2, 3, 1)
    w = content_weights(memory, keys, betas)
    assert w.shape == (2, 3, 3)
    for h, case in enumerate(cases):
        assert torch.allclose(w[0, h], t(case[3]), atol=1e-6)
        assert torch.allclose(w[1, h], t(case[3][::-1]), atol=1e-6)


def test_content_weights_of_a_zero_memory_are_uniform_and_have_finite_gradients():
    memory = torch.zeros(1, 4, 3, dtype=torch.float64, requires_grad=True)
    key = t([[[1.0, -2.0, 0.5]]]).requires_grad_()
    w = content_weights(memory, key, t([[[10.0]]]))
    assert torch.allclose(w, torch.full_like(w, 0.25))
    (w * t([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert torch.isfinite(memory.grad).all() and torch.isfinite(key.grad).all()


# ---- interpolation (eq. 7) ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gate, expected", [
    (0.25, [0.325, 0.05, 0.175, 0.45]),  # 0.25·w^c + 0.75·w_{t−1}
    (1.0, [0.1, 0.2, 0.1, 0.6]),  # g = 1: the content weighting
    (0.0, [0.4, 0.0, 0.2, 0.4]),  # g = 0: the previous weighting
    (0.5, [0.25, 0.1, 0.15, 0.5]),
])
def test_interpolate(gate, expected):
    content, previous = t([[[0.1, 0.2, 0.1, 0.6]]]), t([[[0.4, 0.0, 0.2, 0.4]]])
    assert torch.allclose(interpolate(content, previous, t([[[gate]]])), t([[expected]]))


# ---- shift (eq. 8) --------------------------------------------------------------------------------------------------
# weights w^g (N = 5), shift weights over −s … +s, rotated w̃
SHIFT_CASES = [
    ([0, 0, 0, 0, 1], [0, 0, 1], [1, 0, 0, 0, 0]),  # +1 from the last slot wraps to the first
    ([1, 0, 0, 0, 0], [1, 0, 0], [0, 0, 0, 0, 1]),  # −1 from the first slot wraps to the last
    ([0, 0, 1, 0, 0], [0, 1, 0], [0, 0, 1, 0, 0]),  # 0: unchanged
    ([1, 0, 0, 0, 0], [0.1, 0.8, 0.1], [0.8, 0.1, 0, 0, 0.1]),  # a blur wraps at both ends
    ([0.6, 0.4, 0, 0, 0], [0.2, 0.5, 0.3], [0.38, 0.38, 0.12, 0, 0.12]),
    # s = 2: w̃(i) = s(i) for a one-hot on slot 0, i.e. [s(0), s(1), s(2), s(−2), s(−1)]
    ([1, 0, 0, 0, 0], [0.1, 0.2, 0.3, 0.25, 0.15], [0.3, 0.25, 0.15, 0.1, 0.2]),
    ([0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [1, 0, 0, 0, 0]),  # +2 from slot 3 wraps to slot 0
    ([0, 1, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 1]),  # −2 from slot 1 wraps to slot 4
    ([0.5, 0.5, 0, 0, 0], [1], [0.5, 0.5, 0, 0, 0]),  # s = 0
]


@pytest.mark.parametrize("weights, shifts, expected", SHIFT_CASES)
def test_shift_is_a_circular_convolution(weights, shifts, expected):
    assert torch.allclose(shift(t([[weights]]), t([[shifts]])), t([[expected]]))


def test_shifts_wider_than_the_memory_wrap_around_more_than_once():
    """N = 3, s = 2: shift k lands on slot k mod 3, so slot 1 collects s(1) + s(−2), slot 2 s(2) + s(−1)."""
    got = shift(t([[[1, 0, 0]]]), t([[[0.1, 0.2, 0.3, 0.25, 0.15]]]))
    assert torch.allclose(got, t([[[0.3, 0.35, 0.35]]]))


def test_shift_of_every_head_at_once_equals_each_alone():
    cases = SHIFT_CASES[:5]
    got = shift(t([[c[0] for c in cases]]), t([[c[1] for c in cases]]))  # (1, 5 heads, 5)
    assert torch.allclose(got, t([[c[2] for c in cases]]))


def test_shift_refuses_an_even_number_of_shifts():
    with pytest.raises(ValueError, match=r"shift_weights must have an odd last dimension 2s \+ 1; got 2"):
        shift(t([[[1, 0, 0]]]), t([[[0.5, 0.5]]]))


# ---- sharpening (eq. 9) ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("weights, gamma, expected", [
    ([0.1, 0.2, 0.7], 1.0, [0.1, 0.2, 0.7]),  # γ = 1: identity
    ([0.25, 0.75], 2.0, [0.1, 0.9]),  # 0.0625 / 0.625, 0.5625 / 0.625
    ([0.0, 1.0, 0.0], 1.0, [0.0, 1.0, 0.0]),  # a one-hot stays one-hot
    ([0.0, 1.0, 0.0], 20.0, [0.0, 1.0, 0.0]),
    ([0.0, 0.5, 0.5], 3.0, [0.0, 0.5, 0.5]),  # zeros give no NaN
    ([0.0, 0.0, 0.0], 2.0, [1 / 3, 1 / 3, 1 / 3]),  # all zeros: uniform, not 0/0
    ([0.2, 0.2, 0.2, 0.4], 2.0, [1 / 7, 1 / 7, 1 / 7, 4 / 7]),
])
def test_sharpen(weights, gamma, expected):
    w = t([[weights]]).requires_grad_()
    got = sharpen(w, t([[[gamma]]]))
    assert torch.allclose(got, t([[expected]]), atol=1e-12)
    (got * t([range(len(weights))])).sum().backward()
    assert torch.isfinite(w.grad).all()


def test_sharpening_does_not_underflow_in_float32():
    """w^γ for w = (1e-3, 2e-3), γ = 20 is (1e-60, 1e-54): zero in float32, so w^γ / Σ w^γ would be 0/0.
    softmax(γ log w) gives the exact answer, (1, 2^20) / (1 + 2^20)."""
    w, gamma = torch.tensor([[[1e-3, 2e-3]]]), torch.tensor([[[20.0]]])
    assert torch.isnan(w ** gamma / (w ** gamma).sum(-1, keepdim=True)).all()
    expected = torch.tensor([[[1.0, 2.0 ** 20]]]) / (1 + 2.0 ** 20)
    assert torch.allclose(sharpen(w, gamma), expected, rtol=1e-4, atol=0)


# ---- the whole mechanism (Figure 2) ---------------------------------------------------------------------------------
def test_address_composes_the_four_steps():
    memory = t([MEMORY_3x2 + [[-1.0, 0.5]]])  # (1, 4, 2)
    previous = t([[[0.0, 1.0, 0.0, 0.0]]])
    key, beta, gate = t([[[1.0, 0.0]]]), t([[[2.0]]]), t([[[0.3]]])
    shifts, gamma = t([[[0.1, 0.7, 0.2]]]), t([[[1.5]]])
    w = content_weights(memory, key, beta)
    w = 0.3 * w + 0.7 * previous
    w = shift(w, shifts)
    w = w ** 1.5 / (w ** 1.5).sum(-1, keepdim=True)
    assert torch.allclose(address(memory, previous, key, beta, gate, shifts, gamma), w)


def test_address_gradcheck_in_float64():
    g = torch.Generator().manual_seed(0)
    B, H, N, M, S = 2, 3, 5, 4, 3
    memory = torch.randn(B, N, M, generator=g, dtype=torch.float64)
    previous = torch.softmax(torch.randn(B, H, N, generator=g, dtype=torch.float64), -1)
    key = torch.randn(B, H, M, generator=g, dtype=torch.float64)
    beta = torch.rand(B, H, 1, generator=g, dtype=torch.float64) * 3
    gate = torch.rand(B, H, 1, generator=g, dtype=torch.float64)
    shifts = torch.softmax(torch.randn(B, H, S, generator=g, dtype=torch.float64), -1)
    gamma = 1 + torch.rand(B, H, 1, generator=g, dtype=torch.float64) * 2
    inputs = [v.requires_grad_() for v in (memory, previous, key, beta, gate, shifts, gamma)]
    assert torch.autograd.gradcheck(address, inputs)


def test_read_write_gradcheck_in_float64():
    g = torch.Generator().manual_seed(1)
    memory = torch.randn(2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    weights = torch.softmax(torch.randn(2, 2, 4, generator=g, dtype=torch.float64), -1).requires_grad_()
    erase = torch.rand(2, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    add = torch.randn(2, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(read, (memory, weights))
    assert torch.autograd.gradcheck(write, (memory, weights, erase, add))  # two heads
    assert torch.autograd.gradcheck(write, (memory, weights[:, :1], erase[:, :1], add[:, :1]))  # one head


# ---- reading and writing (eqs. 2-4) ---------------------------------------------------------------------------------
MEMORY = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_read_every_head_at_once():
    weights = t([[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]]])  # three read heads
    expected = t([[[2.0, 3.0], [5.0, 6.0], [0.2 + 0.9 + 2.5, 0.4 + 1.2 + 3.0]]])
    assert torch.allclose(read(t([MEMORY]), weights), expected)


HEAD_1 = ([1.0, 0.0, 0.5], [1.0, 0.5], [10.0, 20.0])  # w, e, a
HEAD_2 = ([0.0, 1.0, 0.5], [0.0, 1.0], [-1.0, 1.0])


def test_write_one_head():
    """Row 0: [1·(1 − 1), 2·(1 − 0.5)] + [10, 20]; row 1 untouched; row 2: [5·0.5, 6·0.75] + 0.5·[10, 20]."""
    w, e, a = HEAD_1
    got = write(t([MEMORY]), t([[w]]), t([[e]]), t([[a]]))
    assert torch.allclose(got, t([[[10.0, 21.0], [3.0, 4.0], [7.5, 14.5]]]))


def test_write_two_heads_erases_with_both_then_adds_both():
    """keep = (1 − w1 e1ᵀ) ⊙ (1 − w2 e2ᵀ) = [[0, .5], [1, 0], [.5, .375]];  M ⊙ keep = [[0, 1], [3, 0], [2.5, 2.25]];
    w1 a1ᵀ + w2 a2ᵀ = [[10, 20], [−1, 1], [4.5, 10.5]]."""
    heads = [HEAD_1, HEAD_2]
    w, e, a = (t([[h[k] for h in heads]]) for k in range(3))
    expected = t([[[10.0, 21.0], [2.0, 1.0], [7.0, 12.75]]])
    assert torch.allclose(write(t([MEMORY]), w, e, a), expected)
    assert torch.allclose(write(t([MEMORY]), w.flip(1), e.flip(1), a.flip(1)), expected)  # order of heads


def test_a_write_head_with_zero_weights_changes_nothing():
    w, e, a = HEAD_1
    one = write(t([MEMORY]), t([[w]]), t([[e]]), t([[a]]))
    two = write(t([MEMORY]), t([[w, [0.0, 0.0, 0.0]]]), t([[e, [1.0, 1.0]]]), t([[a, [7.0, 7.0]]]))
    assert torch.allclose(one, two)


def test_write_does_not_change_its_input():
    memory = t([MEMORY])
    write(memory, t([[HEAD_1[0]]]), t([[HEAD_1[1]]]), t([[HEAD_1[2]]]))
    assert torch.equal(memory, t([MEMORY]))
