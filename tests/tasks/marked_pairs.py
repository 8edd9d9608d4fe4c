"""The rules of the marked-pairs tasks (Hochreiter & Schmidhuber 1997, Experiments 4 and 5: ``adding``,
``multiplication``), read back from a batch's inputs alone; shared by their tests."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from rnnlab.tasks import Batch


def check_marked_pairs(task, batch: Batch, *, values: tuple[float, float], marked_first_value: float,
                       target: Callable[[Tensor, Tensor], Tensor]) -> None:
    """Every rule of the paper's task description, checked on every sequence of ``batch`` from its inputs
    (not from the generator's internals): values in ``values`` = [low, high]; exactly two marked pairs, X1
    among the first ``first_marker_window`` and X2 among the first T//2 − 1 still unmarked; a marked first
    pair holds ``marked_first_value``; markers −1 at the first and the final pair; the target
    ``target(X1, X2)`` (symmetric in its two arguments, so the order of the marks does not matter)."""
    T, window = task.config.length, task.config.first_marker_window
    steps, B, features = batch.inputs.shape
    assert features == 2 and batch.inputs.dtype == torch.float32
    assert batch.lengths.dtype == torch.int64 and batch.lengths.shape == (B,)
    assert batch.targets.dtype == torch.float32 and batch.targets.shape == (B, 1)
    assert ((T <= batch.lengths) & (batch.lengths <= T + T // 10)).all()
    assert steps == int(batch.lengths.max())

    value, markers = batch.inputs[..., 0], batch.inputs[..., 1]  # (T_max, B) each
    t = torch.arange(steps).unsqueeze(1)  # (T_max, 1)
    real = t < batch.lengths  # (T_max, B)
    assert (batch.inputs[~real] == 0).all(), "padding must be zero"
    low, high = values
    assert ((low <= value[real]) & (value[real] <= high)).all()

    marked = markers == 1.0
    assert (marked.sum(0) == 2).all(), "exactly two marked pairs"
    first_marked = marked[0]
    last = batch.lengths - 1
    expected = torch.zeros(steps, B)
    expected[0] = -1.0
    expected[last, torch.arange(B)] = -1.0
    expected[marked] = 1.0
    assert torch.equal(markers * real, expected * real), "markers: -1 at the first and the final pair, else 0"
    assert not marked[last, torch.arange(B)].any(), "the final pair is never marked"
    assert (value[0][first_marked] == marked_first_value).all(), f"a marked first pair has {marked_first_value}"

    # Positions p < q of the two marks: one of them is X1 (among the first `window` pairs), the other X2,
    # among the first T//2 - 1 still unmarked pairs, i.e. its rank among pairs other than X1 is < T//2 - 1.
    p = torch.where(marked, t, steps).min(0).values  # (B,)
    q = torch.where(marked, t, -1).max(0).values  # (B,)
    x1_is_p = (p < window) & (q - 1 < T // 2 - 1)  # X2 = q, ranked q - 1 (X1 = p comes before it)
    x1_is_q = (q < window) & (p < T // 2 - 1)  # X2 = p, ranked p (X1 = q comes after it)
    assert (x1_is_p | x1_is_q).all(), "marks outside the positions the paper allows"

    columns = torch.arange(B)
    expected_target = target(value[p, columns], value[q, columns])  # (B,)
    torch.testing.assert_close(batch.targets.squeeze(1), expected_target, rtol=0, atol=1e-6)


def docstring_example(module) -> tuple[Tensor, float]:
    """The worked example of a marked-pairs task's module docstring: its (value, marker) rows as inputs (T, 1, 2)
    and its target (the table and the target line are indented by exactly four spaces)."""
    rows, target = {}, None
    for line in module.__doc__.splitlines():
        if not line.startswith("    ") or line.startswith("     "):
            continue
        name, _, rest = line.strip().partition(" ")
        if name in ("value", "marker"):
            rows[name] = [float(v.replace("−", "-")) for v in rest.split()]
        elif name == "target":
            target = float(line.rsplit("=", 1)[1])
    return torch.tensor([rows["value"], rows["marker"]]).T.unsqueeze(1), target


def hand_batch(targets) -> Batch:
    """A batch of 12 steps of zeros with these targets (B,): for metrics on hand-made outputs."""
    targets = torch.tensor(targets).unsqueeze(1)  # (B, 1)
    return Batch(inputs=torch.zeros(12, len(targets), 2), targets=targets, lengths=None)
