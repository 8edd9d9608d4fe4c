"""Loss and metrics shared by the N→1 classification tasks (temporal_order, sentiment, seq_image)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .base import Batch, Task


class ClassificationTask(Task):
    """A task whose target is one class per sequence: outputs (B, C) logits, targets (B,) class indices.

    Loss: softmax cross-entropy (mean over the batch).  Metrics: ``loss`` and ``accuracy``, the
    fraction of sequences whose largest logit is the true class.
    """

    output_kind = "last"
    main_metric = "accuracy"
    main_metric_goal = "max"

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        self.check_outputs(outputs, batch)
        return F.cross_entropy(outputs, batch.targets)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        self.check_outputs(outputs, batch)
        logits = outputs.detach()
        loss = float(F.cross_entropy(logits, batch.targets))
        accuracy = float((logits.argmax(dim=1) == batch.targets).float().mean())
        return {"loss": loss, "accuracy": accuracy, "count": len(batch.targets)}
