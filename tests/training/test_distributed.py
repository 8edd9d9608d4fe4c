"""Data-parallel training: 2 processes on localhost equal one process with the same global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnlab import cli
from rnnlab.training import checkpoint as ckpt

SRC = str(Path(__file__).resolve().parents[2] / "src")
ARGS = ["train", "adding", "--model", "gru", "--steps", "5", "--set", "model.dtype=float64",
        "--set", "model.hidden_size=8", "--set", "task.length=20", "--set", "train.batch_size=8",
        "--set", "train.eval_size=16", "--set", "train.log_every=1"]
# Plain SGD, unclipped: the update is lr × the gradient itself.  Adam (scale-invariant) and norm clipping
# (which rescales whatever comes) would give the same weights whether DDP averaged the ranks' gradients or
# summed them; here a sum is a step twice as long, exactly the single process at twice the learning rate.
SGD = ["--set", "train.optimizer=sgd", "--set", "train.momentum=0", "--set", "train.clip=none"]
LR = 0.1


def _rnnlab(*args):
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    """Trained with plain SGD and no clipping, so that the mean of the ranks' gradients (right) and their
    sum (wrong: the single process at twice the learning rate) end at different weights."""
    one = _rnnlab(*ARGS, *SGD, "--set", f"train.lr={LR}", "--out", str(tmp_path / "one"))
    two = _rnnlab(*ARGS, *SGD, "--set", f"train.lr={LR}", "--nproc", "2", "--out", str(tmp_path / "two"))
    for done in (one, two):
        assert done.returncode == 0, done.stderr
    assert cli.main([*ARGS, *SGD, "--set", f"train.lr={2 * LR}", "--out", str(tmp_path / "summed")]) == 0
    a, b, c = (ckpt.load_latest(tmp_path / name / "checkpoints") for name in ("one", "two", "summed"))
    assert a.step == b.step == c.step == 5
    [group] = b.state["optimizer"]["param_groups"]
    assert group["lr"] == LR and group["momentum"] == 0 and "betas" not in group  # plain SGD, as asked
    keys = [k for k in a.tensors if k.startswith("model.")]
    assert keys and all(a.tensors[k].dtype == torch.float64 for k in keys)
    for k in keys:
        torch.testing.assert_close(b.tensors[k], a.tensors[k], atol=1e-9, rtol=0)
    # a summed all-reduce would have given c: far outside that tolerance
    assert max((c.tensors[k] - a.tensors[k]).abs().max().item() for k in keys) > 1e-4
    # only the main process wrote: one log line per step, one summary printed
    steps = [json.loads(line)["step"] for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]
    assert two.stdout.count('"step": 5') == 1


def test_the_global_batch_must_divide_among_the_processes(tmp_path):
    bad = _rnnlab(*ARGS, "--set", "train.batch_size=7", "--nproc", "2", "--out", str(tmp_path / "bad"))
    assert bad.returncode != 0
    assert "train.batch_size=7 must be divisible by the 2 processes" in bad.stderr


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def _worker(launcher: int, rank: int) -> int | None:
    """The pid of the torchrun worker of ``rank`` started by ``launcher`` (Linux /proc), or None yet."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"RANK={rank}".encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            pid = ancestor = int(entry.name)
            while ancestor > 1 and ancestor != launcher:
                ancestor = _parent(ancestor)
        except (OSError, ValueError, IndexError):
            continue
        if ancestor == launcher:
            return pid
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the workers through /proc")
def test_a_signal_to_one_process_stops_every_process_at_the_same_step(tmp_path):
    """SIGTERM reaches rank 1 only: both ranks stop after the same step, rank 0 writes its checkpoint and
    summary, and the run resumes from there."""
    import signal
    import time

    run = tmp_path / "run"
    args = [*ARGS[:5], "100000", *ARGS[6:], "--set", "train.checkpoint_every=20", "--set", "train.eval_every=1000",
            "--set", "train.log_every=20", "--set", "train.stop_when=none", "--nproc", "2", "--out", str(run)]
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    launcher = subprocess.Popen([sys.executable, "-m", "rnnlab", *args], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not (run / "checkpoints" / "step-00000020").exists():
            assert launcher.poll() is None and time.monotonic() < deadline, "no checkpoint came"
            time.sleep(0.05)
        rank1 = _worker(launcher.pid, 1)
        assert rank1 is not None
        os.kill(rank1, signal.SIGTERM)
        _, err = launcher.communicate(timeout=240)
    finally:
        if launcher.poll() is None:  # a failed check: take the launcher, torchrun and the workers down with it
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    assert launcher.returncode != 0
    line = next(line for line in err.splitlines() if line.startswith("interrupted at step "))
    step = int(line.split("interrupted at step ")[1].split(";")[0])
    assert line.endswith(" --resume") and "--nproc 2" in line  # the command as typed
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped"] == "interrupted" and summary["step"] == step
    assert ckpt.steps(run / "checkpoints")[-1] == step
    logged = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1] == step  # rank 0 logged the step both stopped at
    resumed = _rnnlab(*[a if a != "100000" else str(step + 3) for a in args], "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["step"] == step + 3
