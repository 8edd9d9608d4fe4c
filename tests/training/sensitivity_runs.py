"""What the tests of the sensitivity algorithms (rtrl, uoro, snap1) share: a small float64 trainer, the
gradients each of its updates applies, and the relative difference of two lists of tensors."""

from pathlib import Path

import torch

from rnnlab import config, runs
from rnnlab.training.trainer import Trainer

SHAKESPEARE = Path(__file__).resolve().parents[2] / "data" / "tinyshakespeare.txt"


def trainer(tmp_path, task, model, algorithm, *overrides, name="run"):
    run = config.build_config(task, model=model, overrides=[
        f"train.algorithm={algorithm}", "model.dtype=float64", "model.hidden_size=4", "train.batch_size=3",
        "train.eval_size=6", "train.eval_every=2", "train.log_every=1", *overrides])
    built = runs.build_task(run)
    torch.manual_seed(0)
    return Trainer(runs.build_model(run, built), built, run.train, tmp_path / name, progress_bar=False)


def applied(trainer) -> list:
    """Each update's gradients (the update zeroes them afterwards)."""
    seen, update = [], trainer._update

    def spying(loss):
        seen.append([p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in trainer.model.parameters()])
        return update(loss)

    trainer._update = spying
    return seen


def relative(a, b) -> float:
    return max(float((x - y).abs().max() / y.abs().max().clamp(min=1e-300)) for x, y in zip(a, b))
