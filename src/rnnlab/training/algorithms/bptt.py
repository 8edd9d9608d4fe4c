"""Backpropagation through time, whole or truncated: the default learning algorithm (``train.algorithm = "bptt"``).

Rumelhart, Hinton & Williams (1986); Werbos (1990): the network unrolled over the sequence, the
loss backpropagated through every step, one update per batch.  Truncated (``train.tbptt = k``,
Williams & Peng 1990): the batch is cut into chunks of k steps, the state carried from chunk to
chunk and detached at each boundary.  With one output per step ("every") each chunk's loss is
backpropagated at once and the gradients add up, weighted by the chunk's share of the steps, so
that k >= T is exactly full BPTT; with one output at the end ("last") only the final chunk has a
loss, and the earlier ones, which only carry the state to it, run without a graph.  With
``train.carry_state`` the state also carries (detached) from batch to batch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import TrainingError
from .base import LearningAlgorithm, Update
from .states import detached


class BPTT(LearningAlgorithm):
    name = "bptt"

    @classmethod
    def refusal(cls, model, task, settings) -> str | None:
        if settings.online:
            return "train.online needs an online algorithm (rtrl, uoro, snap1); bptt updates once per batch"
        return None

    def train_batch(self, batch, update: Update) -> tuple[Tensor, Tensor]:
        t = self.trainer
        k, steps = t.settings.tbptt, batch.inputs.shape[0]
        state = t.carried
        if k is not None and k < steps and batch.lengths is not None:
            raise TrainingError("truncated BPTT needs sequences of equal length; this task pads them "
                                "(set train.tbptt to none)")
        if k is None or k >= steps or t.kind not in ("last", "every"):
            outputs, state = t.run(batch, state)
            loss = t.loss(outputs, state, batch)
            loss.backward()  # under DDP the gradients are averaged over the ranks here
        elif t.kind == "last":
            last = ((steps - 1) // k) * k  # start of the final chunk, which the loss reads
            with torch.no_grad():
                for start in range(0, last, k):
                    _, state = t.model(batch.inputs[start : start + k], state=state)
            outputs, state = t.forward(batch.inputs[last:], state=state)
            loss = t.loss(outputs, state, batch)
            loss.backward()
        else:
            pieces, loss = [], 0.0
            for start in range(0, steps, k):
                chunk = batch.steps(start, start + k)
                out, state = t.forward(chunk.inputs, state=state)
                share = chunk.inputs.shape[0] / steps
                chunk_loss = t.loss(out, state, chunk) * share
                chunk_loss.backward()
                loss = loss + chunk_loss.detach()
                pieces.append(out.detach())
                state = detached(state)
            outputs = torch.cat(pieces)
        if t.settings.carry_state:
            t.carried = detached(state)
        update(loss.detach())
        return outputs.detach(), loss.detach()
