"""What every learning algorithm is to the trainer: how a training batch turns into parameter updates.

The trainer draws a batch, then hands it to its algorithm (``train.algorithm``):

    outputs, loss = algorithm.train_batch(batch, update)

The algorithm computes gradients into the parameters' ``.grad`` in its own way and calls
``update(loss)`` each time they should be applied: once per batch (BPTT, and RTRL with
``train.online = false``), or after every time step (online RTRL, UORO, SnAp-1).  ``update``
belongs to the trainer: it clips the gradients, skips the update if the loss or the gradient
is not finite, takes the optimizer step and zeroes the gradients.  An algorithm that changes
the weights without gradients (random guessing) never calls it.  So the trainer has no branch
per algorithm: BPTT is simply the first implementation of this interface.

An algorithm with state of its own beyond the weights (guessing's count of trials) gives it through
``state_dict``/``load_state_dict`` (kept in every checkpoint) and its figures through ``logged``.

``refusal`` says in one line why an algorithm cannot train a given model on a given task with
given settings (None when it can); the trainer refuses such a run before anything is written.
"""

from __future__ import annotations

from typing import Callable, ClassVar

from torch import Tensor

Update = Callable[[Tensor], None]
"""The trainer's ``update(loss)``: apply (clipped, guarded) the gradients now in ``.grad``, then zero them."""


class LearningAlgorithm:
    """Base of every algorithm; ``trainer`` gives the model, the task, the settings and how to run the model
    (``trainer.run(batch, state)``, ``trainer.forward`` under DDP) and holds the carried state."""

    name: ClassVar[str]

    def __init__(self, trainer) -> None:
        self.trainer = trainer

    @classmethod
    def refusal(cls, model, task, settings) -> str | None:
        """Why this algorithm cannot train ``model`` on ``task`` with ``settings`` (one line), or None."""
        return None

    def state_dict(self) -> dict:
        """What the algorithm must keep across a checkpoint (JSON values); nothing by default."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` gave."""

    def logged(self) -> dict:
        """Figures of the algorithm to log with every step's record (e.g. guessing's trials); none by default."""
        return {}

    def train_batch(self, batch, update: Update) -> tuple[Tensor, Tensor]:
        """Learn from ``batch``, calling ``update`` as the algorithm prescribes -> (outputs, loss), detached."""
        raise NotImplementedError
