"""How fast a task draws a batch, as the tasks' speed checks measure it."""

from __future__ import annotations

import time
from typing import Callable

import torch


def fastest(call: Callable[[], object], repeats: int = 5) -> tuple[float, object]:
    """(the best of ``repeats`` wall times of ``call()`` in seconds, its last result), on one thread: on a busy
    machine two threads wait on each other (the adding task's batch at T = 1000: 64 ms measured, 0.3 ms alone)."""
    threads, seconds, result = torch.get_num_threads(), [], None
    torch.set_num_threads(1)
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            result = call()
            seconds.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return min(seconds), result
