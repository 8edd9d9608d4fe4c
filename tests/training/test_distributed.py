"""Data-parallel training: 2 processes on localhost equal one process with the same global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnlab.training import checkpoint as ckpt

SRC = str(Path(__file__).resolve().parents[2] / "src")
ARGS = ["train", "adding", "--model", "gru", "--steps", "5", "--set", "model.dtype=float64",
        "--set", "model.hidden_size=8", "--set", "task.length=20", "--set", "train.batch_size=8",
        "--set", "train.eval_size=16", "--set", "train.log_every=1"]


def _rnnlab(*args):
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "rnnlab", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    one = _rnnlab(*ARGS, "--out", str(tmp_path / "one"))
    two = _rnnlab(*ARGS, "--nproc", "2", "--out", str(tmp_path / "two"))
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    a, b = ckpt.load_latest(tmp_path / "one" / "checkpoints"), ckpt.load_latest(tmp_path / "two" / "checkpoints")
    assert a.step == b.step == 5
    keys = [k for k in a.tensors if k.startswith("model.")]
    assert keys and all(a.tensors[k].dtype == torch.float64 for k in keys)
    for k in keys:
        torch.testing.assert_close(b.tensors[k], a.tensors[k], atol=1e-6, rtol=0)
    # only the main process wrote: one log line per step, one summary printed
    steps = [json.loads(line)["step"] for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]
    assert two.stdout.count('"step": 5') == 1


def test_the_global_batch_must_divide_among_the_processes(tmp_path):
    bad = _rnnlab(*ARGS, "--set", "train.batch_size=7", "--nproc", "2", "--out", str(tmp_path / "bad"))
    assert bad.returncode != 0
    assert "train.batch_size=7 must be divisible by the 2 processes" in bad.stderr
