"""The registry of tasks by name: ``available()``, ``describe(name)``, ``get(name)`` and ``create(name, config)``."""

from __future__ import annotations

from typing import Any

from ..config import register_task
from .base import Task

_TASKS: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Make the Task subclass ``cls`` available under ``cls.name``; returns ``cls`` (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"only Task subclasses can be registered; got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} needs a class attribute name (a non-empty str) to be registered")
    if not (cls.__doc__ or "").strip():
        raise ValueError(f"{cls.__name__} needs a docstring: its first line is the task's description")
    if name in _TASKS:
        raise ValueError(f"task name {name!r} is registered already")
    register_task(name, cls.Config)  # its settings, for rnnlab.config
    _TASKS[name] = cls
    return cls


def available() -> list[str]:
    """Names of every registered task, in registration order."""
    return list(_TASKS)


def get(name: str) -> type[Task]:
    """The Task class registered as ``name``."""
    if not isinstance(name, str) or name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; available tasks: {', '.join(_TASKS)}")
    return _TASKS[name]


def describe(name: str) -> str:
    """One line: what the task ``name`` is and where it comes from (the first line of its docstring)."""
    return get(name).__doc__.strip().splitlines()[0]


def create(name: str, config: Any = None) -> Task:
    """The task ``name`` with ``config`` (an instance of its ``Config``; None gives the paper's settings).

    >>> task = create("adding", get("adding").Config(length=500))
    >>> batch = task.sample(32, torch.Generator().manual_seed(0))
    """
    return get(name)(config)
