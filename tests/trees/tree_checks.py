"""Checks every tree cell's tests share: gradcheck (float64) of the level-batched path and of the one-node
reference, with respect to the leaves' vectors and every parameter of the cell."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from rnnlab.trees import Tree, batch_trees, evaluate_levels, parse


def ids(text: str) -> Tree:
    return parse(text).map_tokens(int)


class _Levels(nn.Module):
    """evaluate_levels as a module, so that functional_call can feed the cell's parameters as inputs."""

    def __init__(self, cell, batch) -> None:
        super().__init__()
        self.cell, self.batch = cell, batch

    def forward(self, leaves):
        return tuple(evaluate_levels(self.cell, leaves, self.batch)) if self.cell.state_type else (
            evaluate_levels(self.cell, leaves, self.batch),)


def gradcheck_levels(cell, texts: list[str]) -> None:
    """gradcheck of every node's state w.r.t. the leaves' vectors and the cell's parameters, float64."""
    cell = cell.double()
    batch = batch_trees([ids(t) for t in texts])
    run = _Levels(cell, batch)
    names = [f"cell.{name}" for name, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    leaves = torch.randn(batch.num_leaves, cell.input_size, dtype=torch.float64, requires_grad=True)

    def f(x, *ps):
        return functional_call(run, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(f, (leaves, *params), eps=1e-6, atol=1e-7)


class _Node(nn.Module):
    def __init__(self, cell) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, x, *children):  # children: (h, c) pairs flattened, or h's
        if self.cell.state_type is not None:
            children = [self.cell.state_type(*children[i : i + 2]) for i in range(0, len(children), 2)]
        state = self.cell.node(x, list(children))
        return tuple(state) if self.cell.state_type else (state,)


def gradcheck_node(cell, arity: int) -> None:
    """gradcheck of the one-node reference: a leaf (arity 0) w.r.t. x, an inner node w.r.t. its children."""
    cell = cell.double()
    run = _Node(cell)
    names = [f"cell.{name}" for name, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    per_child = 1 if cell.state_type is None else 2
    children = [torch.randn(1, cell.hidden_size, dtype=torch.float64, requires_grad=True)
                for _ in range(arity * per_child)]
    x = None if arity else torch.randn(1, cell.input_size, dtype=torch.float64, requires_grad=True)

    def f(*inputs):
        ps, rest = inputs[: len(params)], inputs[len(params):]
        xs = (None, *rest) if x is None else rest
        return functional_call(run, dict(zip(names, ps)), xs)

    inputs = (*params, *children) if x is None else (*params, x)
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7)
