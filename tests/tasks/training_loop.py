"""The small training loop the tasks' learning checks share: Adam on fresh batches of 32, the held-out metrics
checked every few steps until a goal is met."""

from __future__ import annotations

from typing import Callable

import torch


def train_until(task, model: torch.nn.Module, *, lr: float, steps: int, check_every: int, held_out: int,
                reached: Callable[[dict], bool], clip: float | None = 1.0) -> dict[str, float]:
    """Train ``model`` on ``task`` (batches drawn from a generator seeded 1) until the metrics of ``held_out``
    sequences (the task's eval_set, seed 0), read every ``check_every`` steps, satisfy ``reached``, or for
    ``steps`` steps; returns the last metrics read."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(1)
    (batch_held_out,) = task.eval_set(held_out, seed=0)
    got: dict[str, float] = {}
    for step in range(1, steps + 1):
        batch = task.sample(32, generator)
        loss = task.loss(model(batch.inputs, batch.lengths)[0], batch)
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if step % check_every == 0:
            with torch.no_grad():
                got = task.metrics(model(batch_held_out.inputs, batch_held_out.lengths)[0], batch_held_out)
            if reached(got):
                break
    return got
