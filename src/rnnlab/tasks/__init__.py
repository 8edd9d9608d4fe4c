"""Tasks: data + loss + metrics, one module per task; a task never builds a model or an optimizer.

>>> import torch, rnnlab.tasks as tasks
>>> tasks.available()
['adding', 'temporal_order']
>>> task = tasks.create("adding")                      # the paper's settings (T = 100)
>>> batch = task.sample(32, torch.Generator().manual_seed(0))
>>> batch.inputs.shape[1:], batch.targets.shape
(torch.Size([32, 2]), torch.Size([32, 1]))
"""

from . import adding, temporal_order  # noqa: F401  (registers the tasks, in this order)
from .adding import AddingTask
from .base import Batch, Task
from .registry import available, create, describe, get, register
from .temporal_order import TemporalOrderTask

__all__ = ["Batch", "Task", "AddingTask", "TemporalOrderTask", "available", "create", "describe", "get", "register"]
