"""Random weight guessing (``train.algorithm = "guess"``): draw every weight at random until the net solves the task.

Hochreiter & Schmidhuber (1996), "LSTM can solve hard long time lag problems" (NIPS 9, §1, "random
search"), and "Bridging long time lags by weight guessing and Long Short-Term Memory" (1996):

    REPEAT randomly initialise the weights and test the resulting net UNTIL a solution is found

with every weight drawn uniformly in [−100, 100] (their setting; ``train.guess_range`` = a draws
from [−a, a]).  Many long-time-lag "benchmarks" of the time (the latch and two-sequence problems,
parity) fall to it within hundreds of trials, faster than the gradient methods they were meant to
promote.

Here a trial is one draw of all the model's parameters, and "solved" is ``train.stop_when`` (e.g.
``"accuracy >= 1"``) on the task's held-out set, the set the trainer's evaluations score.  Each
training step draws ``train.guesses`` trials at once and scores them together (``torch.func``:
``vmap`` of the model over the stacked draws; recurrent layers on their plain loop), in order; the
first that solves the held-out set is kept in the model.  Every step first checks the weights the
model holds (its initial ones at the first step) and draws nothing while they solve the held-out
set, until the next evaluation confirms it and stops the run (``stopped``: "target").  Trials are
counted in metrics.jsonl (``trials``: drawn so far) and kept in checkpoints; the draws of step k
come from a generator seeded by (train.seed, k), so a resumed run draws what an uninterrupted one
would.

Departure from the papers: they tested a guess on a training set and then on a test set; here the
held-out set plays both parts (a fresh training batch would change the target at every trial).
There is no gradient and no optimizer step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from ...config import stop_target
from ...layers import Recurrent
from .. import distributed
from .base import LearningAlgorithm, Update

_SEED_STRIDE = 1_000_003  # draws of step k: seed · stride + k (distinct for every seed and step in practice)


class Guess(LearningAlgorithm):
    name = "guess"

    def __init__(self, trainer) -> None:
        super().__init__(trainer)
        self.trials = 0  # parameter draws so far
        self.solved = False  # the model holds a draw that solved the held-out set

    @classmethod
    def refusal(cls, model, task, settings) -> str | None:
        if settings.stop_when is None:
            return 'needs train.stop_when, what a guess must reach on the held-out set (e.g. "accuracy >= 1")'
        if settings.online:
            return "train.online does not apply: guessing takes no gradient steps"
        if settings.tbptt is not None or settings.carry_state:
            return ("train.tbptt and train.carry_state do not apply: a guess is scored on whole held-out "
                    "sequences")
        if distributed.world_size() > 1:
            return "one process only (--nproc 1)"
        if getattr(task, "output_kind", "last") not in ("last", "every"):
            return (f"task {task.name} decodes its outputs; guessing scores models with an output at the end or at "
                    f"every step")
        return None

    # ---- what the trainer keeps and logs -------------------------------------------------------
    def state_dict(self) -> dict:
        return {"trials": self.trials, "solved": self.solved}

    def load_state_dict(self, state: dict) -> None:
        self.trials, self.solved = int(state.get("trials", 0)), bool(state.get("solved", False))

    def logged(self) -> dict:
        return {"trials": self.trials}

    # ---- one step ------------------------------------------------------------------------------
    def train_batch(self, batch, update: Update) -> tuple[Tensor, Tensor]:
        t = self.trainer
        model, task, settings = t.model, t.task, t.settings
        model.eval()
        layers = [m for m in model.modules() if isinstance(m, Recurrent)]
        saved = [layer.fast_paths for layer in layers]
        for layer in layers:
            layer.fast_paths = False  # torch's fused kernels have no vmap rule
        try:
            with torch.no_grad():
                self.solved = self._solves(self._held_out_metrics(model, None))  # the weights it holds
                if not self.solved:
                    self._guess(model, settings)
                outputs, _ = t.run(batch, train=False)
                loss = task.loss(outputs, batch)
        finally:
            for layer, fast in zip(layers, saved):
                layer.fast_paths = fast
        return outputs.detach(), loss.detach()

    def _guess(self, model: nn.Module, settings) -> None:
        """Draw ``train.guesses`` trials; load the first that solves the held-out set, if one does."""
        generator = torch.Generator().manual_seed(settings.seed * _SEED_STRIDE + self.trainer.state.step)
        a, count = settings.guess_range, settings.guesses
        draws = {name: (torch.rand(count, *p.shape, generator=generator, dtype=torch.float64) * 2 - 1).mul(a)
                 .to(p.dtype) for name, p in model.named_parameters()}  # U(−a, a), (G, *shape)
        metrics = self._held_out_metrics(model, draws)
        for index in range(count):
            if self._solves({k: v[index] for k, v in metrics.items()}):
                self.trials += index + 1
                with torch.no_grad():
                    for name, p in model.named_parameters():
                        p.copy_(draws[name][index])
                self.solved = True
                return
        self.trials += count

    def _held_out_metrics(self, model: nn.Module, draws: dict | None) -> dict[str, Tensor]:
        """The held-out metrics of the model (draws None: scalars) or of every draw ((G,) each)."""
        t = self.trainer
        totals: dict[str, Tensor] = {}
        count = 0
        for batch in t.held_out():
            if draws is None:
                per_draw = [t.task.metrics(t.run(batch, train=False)[0], batch)]
            else:
                def forward(params):
                    return functional_call(model, params, (batch.inputs,), {"lengths": batch.lengths})[0]
                outputs = vmap(forward)(draws)  # (G, ...)
                per_draw = [t.task.metrics(out, batch) for out in outputs]
            n = per_draw[0]["count"]
            count += n
            for key in per_draw[0]:
                if key != "count":
                    value = torch.tensor([m[key] for m in per_draw], dtype=torch.float64) * n
                    totals[key] = totals.get(key, 0.0) + value
        result = {k: v / count for k, v in totals.items()}
        return {k: v[0] for k, v in result.items()} if draws is None else result

    def _solves(self, metrics: dict[str, Tensor]) -> bool:
        return stop_target(self.trainer.settings.stop_when).met(metrics)
