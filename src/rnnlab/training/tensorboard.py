"""TensorBoard event files for a run (``train.tensorboard = true``, ``rnnlab train --tensorboard``).

The same records as metrics.jsonl, as scalars under RUN_DIR/tensorboard/: ``train/loss``,
``train/grad_norm``, ``train/lr``, ``train/<metric>`` every ``log_every`` steps and
``eval/<metric>`` at each evaluation.  A resumed run opens a new event file with
``purge_step`` set to its first step, so TensorBoard drops the points logged after
the checkpoint by the interrupted session instead of drawing them twice.

Writing needs the ``tensorboard`` package (``pip install tensorboard`` or rnnlab's
``tensorboard`` extra); it is not a dependency of rnnlab.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

INSTALL_HINT = "pip install tensorboard"


def available() -> bool:
    """Whether torch.utils.tensorboard can write event files here (the tensorboard package is installed)."""
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoardLog:
    """Scalars of the trainer's records into RUN_DIR/tensorboard; ``first_step``: the step the session starts after."""

    def __init__(self, run_dir: str | Path, first_step: int = 0) -> None:
        if not available():
            raise ModuleNotFoundError(f"train.tensorboard needs the tensorboard package ({INSTALL_HINT})")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"),
                                    purge_step=first_step + 1 if first_step else None)

    def write(self, record: dict) -> None:
        """One record of metrics.jsonl: ``eval_x`` -> ``eval/x``, ``train_x`` and the rest -> ``train/x``."""
        step = record["step"]
        for key, value in record.items():
            if key in ("step", "seconds") or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            for prefix in ("eval_", "train_"):
                if key.startswith(prefix):
                    tag = f"{prefix[:-1]}/{key[len(prefix):]}"
                    break
            else:
                tag = f"train/{key}"
            self.writer.add_scalar(tag, value, global_step=step)

    def close(self) -> None:
        self.writer.close()
