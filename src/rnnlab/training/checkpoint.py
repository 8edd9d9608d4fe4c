"""Checkpoints that survive a crash: written atomically, verified on load, never unpickled.

A checkpoint is a directory ``RUN_DIR/checkpoints/step-00001200/`` holding

    tensors.safetensors   every tensor: model weights ("model.*"), optimizer state
                          ("optimizer.state.<param>.<name>"), RNG states ("rng.*") and any
                          other tensors the trainer passes ("extra.*")
    state.json            everything else (step, optimizer param groups, scheduler state,
                          data position, metrics): plain JSON
    manifest.json         written last: the SHA-256 and size of the two files above

It is first written under a temporary name, every file is flushed and fsync'd, then
the directory is renamed into place and its parent fsync'd, so a crash leaves either
the whole checkpoint or none.  ``load`` checks the manifest, so a truncated or
corrupted checkpoint is reported with its path; ``load_latest`` then falls back to
the previous good one and says which it skipped.  ``best`` is a symbolic link to the
best checkpoint so far, replaced atomically; ``prune`` keeps the last K and the best.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import Tensor

_STEP_DIR = re.compile(r"step-(\d{8})")
_FILES = ("tensors.safetensors", "state.json")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names its path and what is wrong."""


@dataclass
class Checkpoint:
    path: Path
    step: int
    tensors: dict[str, Tensor]
    state: dict


def step_dir(root: Path, step: int) -> Path:
    return Path(root) / f"step-{step:08d}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, value) -> None:
    with open(path, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())


def write_text_atomically(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(root: str | Path, step: int, tensors: dict[str, Tensor], state: dict) -> Path:
    """Write checkpoint ``step`` under ``root`` atomically and return its directory.

    tensors: name -> tensor (stored contiguous, on the CPU); state: JSON-serialisable.
    An existing checkpoint of the same step is left untouched (CheckpointError).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = step_dir(root, step)
    if final.exists():
        raise CheckpointError(f"checkpoint {final} exists already; not overwritten")
    tmp = root / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        cpu = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
        with open(tmp / "tensors.safetensors", "wb") as f:  # Python writes it: a full disk is an OSError
            f.write(safetensors_bytes(cpu))
            f.flush()
            os.fsync(f.fileno())
        _write_json(tmp / "state.json", {"step": step, **state})
        manifest = {"step": step, "files": {name: {"sha256": _sha256(tmp / name),
                                                   "bytes": (tmp / name).stat().st_size} for name in _FILES}}
        _write_json(tmp / "manifest.json", manifest)
        _fsync_dir(tmp)
        os.rename(tmp, final)
    except BaseException:  # a full disk, a second Ctrl-C: the half-written checkpoint goes, the older ones stay
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(root)
    return final


def load(path: str | Path) -> Checkpoint:
    """Read and verify one checkpoint directory; CheckpointError says what is wrong."""
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"checkpoint {path} has no readable manifest.json ({error})") from None
    for name in _FILES:
        file = path / name
        if not file.is_file() or name not in files:
            raise CheckpointError(f"checkpoint {path} is incomplete: {name} is missing")
        if file.stat().st_size != files[name]["bytes"] or _sha256(file) != files[name]["sha256"]:
            raise CheckpointError(f"checkpoint {path} is corrupted: {name} does not match its checksum")
    state = json.loads((path / "state.json").read_text())
    return Checkpoint(path, int(manifest["step"]), load_file(str(path / "tensors.safetensors")), state)


def steps(root: str | Path) -> list[int]:
    """Steps of the checkpoint directories under ``root``, ascending (temporary ones excluded)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(int(m[1]) for p in root.iterdir() if (m := _STEP_DIR.fullmatch(p.name)) and p.is_dir())


def load_latest(root: str | Path, warn=print) -> Checkpoint | None:
    """The newest checkpoint that verifies, or None if there is none.

    Every newer checkpoint that fails verification is reported through ``warn``
    (one line with its path and the reason) and left on disk for inspection.
    """
    for step in reversed(steps(root)):
        try:
            return load(step_dir(Path(root), step))
        except CheckpointError as error:
            warn(f"{error}; falling back to the previous checkpoint")
    return None


def mark_best(root: str | Path, step: int) -> None:
    """Point ``root/best`` at checkpoint ``step`` (atomic replace of a symbolic link)."""
    root = Path(root)
    tmp = root / f".best.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(step_dir(root, step).name)
    os.replace(tmp, root / "best")
    _fsync_dir(root)


def best_step(root: str | Path) -> int | None:
    link = Path(root) / "best"
    if not link.is_symlink():
        return None
    match = _STEP_DIR.fullmatch(os.readlink(link))
    return int(match[1]) if match else None


def prune(root: str | Path, keep: int) -> list[int]:
    """Delete all but the newest ``keep`` checkpoints, never the best; returns the deleted steps."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1; got {keep}")
    best = best_step(root)
    doomed = [s for s in steps(root)[:-keep] if s != best]
    for step in doomed:
        shutil.rmtree(step_dir(Path(root), step))
    return doomed


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict]:
    """An optimizer's state_dict as (tensors for safetensors, the rest for JSON)."""
    state_dict = optimizer.state_dict()
    tensors, plain = {}, {}
    for index, values in state_dict["state"].items():
        for name, value in values.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer.state.{index}.{name}"] = value
            else:
                plain.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state_dict["param_groups"], "state": plain}


def optimizer_from_flat(optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor], plain: dict) -> None:
    """Load what ``optimizer_to_flat`` wrote back into ``optimizer``."""
    state: dict[int, dict] = {int(i): dict(v) for i, v in plain["state"].items()}
    prefix = "optimizer.state."
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, name = key[len(prefix):].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": plain["param_groups"]})
