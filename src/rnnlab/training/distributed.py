"""Data-parallel training on PyTorch's own engine: DistributedDataParallel over torchrun.

``torchrun --nproc_per_node=N -m rnnlab train ...`` (or ``rnnlab train --nproc N``, which
launches it) starts N processes with RANK, WORLD_SIZE and a rendezvous address in their
environment; ``init_from_env`` joins them into one process group (gloo on CPU, nccl on
GPU).  Every rank draws the same global batch from the same seeded generator and keeps
its own slice, so that N ranks see exactly the data of one process with the same global
batch, and DDP's averaged gradients are that process's gradients.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env(device: str = "cpu") -> bool:
    """Join the process group that torchrun set up; False when this is a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    return True


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def mean(value: float) -> float:
    """The mean of ``value`` over every rank (the value itself in a single process)."""
    if not dist.is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t) / world_size()


def all_true(flag: bool) -> bool:
    """Whether ``flag`` holds on every rank."""
    if not dist.is_initialized():
        return flag
    t = torch.tensor([0 if flag else 1], dtype=torch.int64)
    dist.all_reduce(t)
    return int(t) == 0


def largest(value: int) -> int:
    """The largest ``value`` over every rank (the value itself in a single process): e.g. a signal that
    reached any rank, so that every rank stops at the same step."""
    if not dist.is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t)


def my_slice(batch, global_size: int, output_kind: str = "last"):
    """This rank's share of a global batch (the batch itself in a single process)."""
    n = world_size()
    if n == 1:
        return batch
    if global_size % n:
        raise ValueError(f"train.batch_size={global_size} must be divisible by the {n} processes")
    part = global_size // n
    begin, end = rank() * part, (rank() + 1) * part
    return batch.narrow(begin, end, output_kind)


def finish(clean: bool = True) -> None:
    """Leave the process group.  After a clean run all ranks leave together (a rank that tore it
    down while the main one was still writing its checkpoint could abort its communication
    threads); after an error, at once, as the other ranks may never reach a barrier."""
    if dist.is_initialized():
        if clean:
            dist.barrier()
        dist.destroy_process_group()
