"""GravesRMSprop against Graves (2013) eqs. (38)–(41) written out in plain Python floats."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch

from rnnlab.training import checkpoint as ckpt
from rnnlab.training.graves_rmsprop import GravesRMSprop
from rnnlab.training.optim import build_optimizer


def _reference_step(w: list[float], grad: list[float], state: dict, *, lr: float, alpha: float, momentum: float,
                    eps: float, weight_decay: float = 0.0) -> list[float]:
    """Eqs. (38)–(41) for each weight in turn, in Python floats (float64); updates ``state`` in place."""
    n, g, delta = state.setdefault("n", [0.0] * len(w)), state.setdefault("g", [0.0] * len(w)), \
        state.setdefault("delta", [0.0] * len(w))
    out = []
    for i, (w_i, e_i) in enumerate(zip(w, grad)):
        e_i = e_i + weight_decay * w_i
        n[i] = alpha * n[i] + (1 - alpha) * e_i * e_i
        g[i] = alpha * g[i] + (1 - alpha) * e_i
        delta[i] = momentum * delta[i] - lr * e_i / math.sqrt(n[i] - g[i] * g[i] + eps)
        out.append(w_i + delta[i])
    return out


def _step(optimizer: torch.optim.Optimizer, param: torch.Tensor, grad: list[float]) -> None:
    param.grad = torch.tensor(grad, dtype=param.dtype)
    optimizer.step()


def test_two_steps_by_hand():
    # ℵ = 0.95, ℶ = 0.9, ℸ = 1e-4 (the paper's), ℷ = 0.01 so that the steps are visible.
    w = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    optimizer = GravesRMSprop([w], lr=0.01)
    e1, e2 = [2.0, -0.5, 1e-3], [-1.0, -0.25, 3.0]

    _step(optimizer, w, e1)
    n1 = [0.05 * e * e for e in e1]  # (38), n = 0
    g1 = [0.05 * e for e in e1]  # (39), g = 0
    d1 = [-0.01 * e / math.sqrt(n - g * g + 1e-4) for e, n, g in zip(e1, n1, g1)]  # (40), Δ = 0
    w1 = [w0 + d for w0, d in zip([1.0, -2.0, 0.5], d1)]  # (41)
    assert d1[0] == pytest.approx(-0.01 * 2 / math.sqrt(0.19 + 1e-4), rel=1e-15)  # n − g² = 0.0475 ε²
    assert w.tolist() == pytest.approx(w1, rel=1e-14, abs=0)

    _step(optimizer, w, e2)
    n2 = [0.95 * n + 0.05 * e * e for n, e in zip(n1, e2)]
    g2 = [0.95 * g + 0.05 * e for g, e in zip(g1, e2)]
    d2 = [0.9 * d - 0.01 * e / math.sqrt(n - g * g + 1e-4) for d, e, n, g in zip(d1, e2, n2, g2)]
    w2 = [w_ + d for w_, d in zip(w1, d2)]
    assert w.tolist() == pytest.approx(w2, rel=1e-14, abs=0)
    state = optimizer.state[w]
    assert state["step"] == 2
    for name, expected in (("square_avg", n2), ("grad_avg", g2), ("delta", d2)):
        assert state[name].tolist() == pytest.approx(expected, rel=1e-14, abs=0)


def test_matches_plain_python_over_twenty_random_steps():
    rng = random.Random(0)
    w0 = [rng.gauss(0, 1) for _ in range(6)]
    settings = dict(lr=3e-3, alpha=0.95, momentum=0.9, eps=1e-4, weight_decay=1e-2)
    param = torch.tensor(w0, dtype=torch.float64).reshape(2, 3).requires_grad_()
    optimizer = GravesRMSprop([param], **settings)
    w, state = list(w0), {}
    for _ in range(20):
        # gradients over several scales, some tiny (where ℸ inside the root matters most)
        grad = [rng.gauss(0, 1) * 10 ** rng.uniform(-4, 1) for _ in range(6)]
        param.grad = torch.tensor(grad, dtype=torch.float64).reshape(2, 3)
        optimizer.step()
        w = _reference_step(w, grad, state, **settings)
    assert param.detach().flatten().tolist() == pytest.approx(w, rel=1e-12, abs=1e-12)
    assert optimizer.state[param]["delta"].flatten().tolist() == pytest.approx(state["delta"], rel=1e-12, abs=1e-12)


def test_eps_is_inside_the_square_root():
    # With ℸ → 0 the update is torch's centred RMSprop with ε = 0 (torch adds ε outside the root);
    # with ℸ = 1e-4 a gradient of 1e-3 moves the weight √(0.0475e-6 + 1e-4) ≈ 0.01 apart, not ≈ 3.2e-4.
    torch.manual_seed(0)
    ours, theirs = (torch.randn(4, 3, dtype=torch.float64, requires_grad=True) for _ in range(2))
    with torch.no_grad():
        theirs.copy_(ours)
    graves = GravesRMSprop([ours], lr=0.01, momentum=0.9, eps=1e-300)
    torch_rmsprop = torch.optim.RMSprop([theirs], lr=0.01, alpha=0.95, eps=0.0, momentum=0.9, centered=True)
    for _ in range(5):
        grad = torch.randn(4, 3, dtype=torch.float64)
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        graves.step()
        torch_rmsprop.step()
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)

    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    _step(GravesRMSprop([w], lr=1.0, momentum=0.0), w, [1e-3])
    assert w.item() == pytest.approx(-1e-3 / math.sqrt(0.0475e-6 + 1e-4), rel=1e-14)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1e-4), "GravesRMSprop lr must be a finite number >= 0; got -0.0001"),
    (dict(lr=math.inf), "GravesRMSprop lr must be a finite number >= 0; got inf"),
    (dict(alpha=1.0), r"GravesRMSprop alpha must be a number in \[0, 1\); got 1.0"),
    (dict(alpha=-0.1), r"GravesRMSprop alpha must be a number in \[0, 1\); got -0.1"),
    (dict(momentum=1.0), r"GravesRMSprop momentum must be a number in \[0, 1\); got 1.0"),
    (dict(momentum=math.nan), r"GravesRMSprop momentum must be a number in \[0, 1\); got nan"),
    (dict(eps=0.0), "GravesRMSprop eps must be a finite number > 0; got 0.0"),
    (dict(weight_decay=-1.0), "GravesRMSprop weight_decay must be a finite number >= 0; got -1.0"),
], ids=["lr_negative", "lr_inf", "alpha_one", "alpha_negative", "momentum_one", "momentum_nan", "eps_zero",
        "weight_decay_negative"])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        GravesRMSprop([torch.zeros(2, requires_grad=True)], **kwargs)


def test_sparse_gradients_are_refused():
    embedding = torch.nn.Embedding(5, 2, sparse=True)
    optimizer = GravesRMSprop(embedding.parameters())
    embedding(torch.tensor([1, 3])).sum().backward()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        optimizer.step()


def test_checkpoint_round_trip_continues_bit_for_bit(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    make = lambda params: GravesRMSprop(params, lr=1e-2, weight_decay=1e-3)  # noqa: E731
    optimizer = make(model.parameters())
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(5, 4)).pow(2).sum().backward()
        optimizer.step()
    tensors, plain = ckpt.optimizer_to_flat(optimizer)
    assert sorted(tensors) == [f"optimizer.state.{i}.{name}" for i in (0, 1) for name in
                               ("delta", "grad_avg", "square_avg")]
    assert plain["state"] == {"0": {"step": 3}, "1": {"step": 3}}
    json.dumps(plain)  # JSON-serialisable
    loaded = ckpt.load(ckpt.save(tmp_path, 3, tensors, {"optimizer": plain}))

    twin_model = torch.nn.Linear(4, 2)
    twin_model.load_state_dict(model.state_dict())
    twin = make(twin_model.parameters())
    ckpt.optimizer_from_flat(twin, loaded.tensors, loaded.state["optimizer"])
    assert twin.param_groups[0]["weight_decay"] == 1e-3 and twin.state[twin_model.weight]["step"] == 3
    for _ in range(3):
        x = torch.randn(5, 4)
        for m, opt in ((model, optimizer), (twin_model, twin)):
            opt.zero_grad()
            m(x).pow(2).sum().backward()
            opt.step()
        for a, b in zip(model.parameters(), twin_model.parameters()):
            assert torch.equal(a, b)  # bit-identical continuation
    for name in ("square_avg", "grad_avg", "delta"):
        assert torch.equal(optimizer.state[model.weight][name], twin.state[twin_model.weight][name])


def test_minimises_a_quadratic():
    # f(w) = ½ Σ a_i (w_i − c_i)², curvatures over two decades
    a = torch.tensor([0.1, 1.0, 10.0])
    c = torch.tensor([1.0, -2.0, 0.5])
    w = torch.zeros(3, requires_grad=True)
    optimizer = GravesRMSprop([w], lr=1e-3)
    for _ in range(300):
        optimizer.zero_grad()
        (0.5 * a * (w - c) ** 2).sum().backward()
        optimizer.step()
    torch.testing.assert_close(w.detach(), c, rtol=0, atol=1e-4)


def test_build_optimizer_rmsprop_centered_is_graves():
    model = torch.nn.Linear(3, 2)
    optimizer = build_optimizer(model, "rmsprop_centered", lr=1e-4, momentum=0.9, weight_decay=1e-5)
    assert isinstance(optimizer, GravesRMSprop)
    assert {k: optimizer.defaults[k] for k in ("lr", "alpha", "momentum", "eps", "weight_decay")} == \
        dict(lr=1e-4, alpha=0.95, momentum=0.9, eps=1e-4, weight_decay=1e-5)
