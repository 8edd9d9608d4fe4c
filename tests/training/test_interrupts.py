"""Ctrl-C and SIGTERM: the run finishes its step, saves, says how to resume, and the resumed run ends
bit-identical to one never interrupted; a second Ctrl-C during the save leaves the previous checkpoint."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnlab import cli
from rnnlab.training import checkpoint as ckpt
from rnnlab.training.interrupts import StopSignals

ARGS = ["train", "adding", "--model", "gru", "--steps", "300", "--set", "model.hidden_size=8", "--set",
        "task.length=20", "--set", "train.batch_size=4", "--set", "train.eval_every=100", "--set",
        "train.eval_size=20", "--set", "train.checkpoint_every=100", "--set", "train.log_every=25"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "OMP_NUM_THREADS": "1"}


def _model_tensors(run_dir):
    found = ckpt.load_latest(run_dir / "checkpoints")
    return found.step, {k: v for k, v in found.tensors.items() if k.startswith("model.")}


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_prints_the_resume_command_and_the_resumed_run_is_bit_identical(tmp_path, signum, code):
    victim_dir, straight_dir = tmp_path / "victim", tmp_path / "straight"
    victim = subprocess.Popen([sys.executable, "-m", "rnnlab", *ARGS, "--out", str(victim_dir)], env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (victim_dir / "checkpoints" / "step-00000100").exists():
        assert victim.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.005)
    victim.send_signal(signum)
    _, err = victim.communicate(timeout=120)
    assert victim.returncode == code
    last = err.strip().splitlines()[-1]
    step = int(last.split("interrupted at step ")[1].split(";")[0])
    assert 100 <= step < 300
    command = last.split("resume with: ")[1]
    assert command == shlex.join(["rnnlab", *ARGS, "--out", str(victim_dir)]) + " --resume"
    assert ckpt.steps(victim_dir / "checkpoints")[-1] == step  # the step it stopped at was saved
    summary = json.loads((victim_dir / "summary.json").read_text())
    assert summary["stopped"] == "interrupted" and summary["step"] == step

    assert cli.main(shlex.split(command)[1:]) == 0  # the printed command, as a user would paste it
    subprocess.run([sys.executable, "-m", "rnnlab", *ARGS, "--out", str(straight_dir)], env=ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (resumed_step, resumed), (straight_step, straight) = _model_tensors(victim_dir), _model_tensors(straight_dir)
    assert resumed_step == straight_step == 300
    assert resumed.keys() == straight.keys() and all(torch.equal(resumed[k], straight[k]) for k in straight)
    assert json.loads((victim_dir / "summary.json").read_text())["stopped"] == "steps"


def test_the_first_signal_is_recorded_and_a_second_ctrl_c_stops_at_once():
    before = signal.getsignal(signal.SIGINT)
    with StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.requested == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # the previous handlers are back


def test_a_save_cut_short_leaves_the_previous_checkpoint_valid_and_no_debris(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    ckpt.save(root, 1, {"w": torch.ones(3)}, {"x": 1})

    def ctrl_c(tensors):
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt, "safetensors_bytes", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save(root, 2, {"w": torch.zeros(3)}, {"x": 2})
    assert sorted(p.name for p in root.iterdir()) == ["step-00000001"]  # no half-written step-2 left behind
    found = ckpt.load_latest(root)
    assert found.step == 1 and torch.equal(found.tensors["w"], torch.ones(3))
