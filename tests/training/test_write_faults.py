"""A file the run cannot write (a full disk, any OSError) stops it with one line naming the path and the
OS's reason, exit 1; the last good checkpoint stays valid and --resume continues from it, bit for bit."""

import errno
import json
import os
import shutil
import subprocess
import uuid

import pytest
import torch

from rnnlab import cli
from rnnlab.training import checkpoint as ckpt
from rnnlab.training import trainer as trainer_module

ARGS = ["train", "adding", "--model", "gru", "--steps", "12", "--set", "model.hidden_size=8", "--set",
        "task.length=20", "--set", "train.batch_size=4", "--set", "train.eval_every=4", "--set",
        "train.eval_size=20", "--set", "train.checkpoint_every=4", "--set", "train.log_every=1"]
FULL = os.strerror(errno.ENOSPC)


def _weights(run_dir):
    found = ckpt.load_latest(run_dir / "checkpoints")
    return found.step, {k: v for k, v in found.tensors.items() if k.startswith("model.")}


def _resumes_to_the_straight_run(tmp_path, run_dir, args=ARGS):
    assert cli.main([*args, "--out", str(run_dir), "--resume"]) == 0
    assert cli.main([*args, "--out", str(tmp_path / "straight")]) == 0
    (step, resumed), (straight_step, straight) = _weights(run_dir), _weights(tmp_path / "straight")
    assert step == straight_step and all(torch.equal(resumed[k], straight[k]) for k in straight)


def test_a_checkpoint_that_cannot_be_written_stops_the_run_and_keeps_the_last_good_one(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    real = ckpt._write_json

    def disk_full_at_step_8(path, value):
        if value.get("step") == 8:
            raise OSError(errno.ENOSPC, FULL, str(path))
        real(path, value)

    monkeypatch.setattr(ckpt, "_write_json", disk_full_at_step_8)
    assert cli.main([*ARGS, "--out", str(run)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnlab train: cannot write ") and err.endswith(f"state.json: {FULL}") and "\n" not in err
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best", "step-00000004"]  # no debris
    monkeypatch.setattr(ckpt, "_write_json", real)  # the fault is gone
    _resumes_to_the_straight_run(tmp_path, run)


def test_a_metrics_line_that_cannot_be_written_stops_the_run(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"

    class FillingFile:
        def __init__(self, path, mode):
            self.file, self.lines = open(path, mode), 0

        def write(self, text):
            self.lines += 1
            if self.lines == 6:
                raise OSError(errno.ENOSPC, FULL)
            return self.file.write(text)

        def flush(self):
            self.file.flush()

        def close(self):
            self.file.close()

    monkeypatch.setattr(trainer_module, "open", FillingFile, raising=False)
    assert cli.main([*ARGS, "--out", str(run)]) == 1
    assert capsys.readouterr().err.strip() == f"rnnlab train: cannot write {run / 'metrics.jsonl'}: {FULL}"
    monkeypatch.undo()
    _resumes_to_the_straight_run(tmp_path, run)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 13))


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of 96 KiB (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)],
                                                       capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=True)  # lazy: safetensors may still map a file


def test_a_real_full_disk_stops_the_run_and_resume_continues_once_there_is_room(tmp_path, small_disk, capsys):
    run = small_disk / "run"
    args = [*ARGS[:5], "300", *ARGS[6:], "--set", "train.eval_every=50", "--set", "train.checkpoint_every=50"]
    # 300 steps, a metrics line each (about 100 KiB) besides the checkpoints: more than 96 KiB
    assert cli.main([*args, "--out", str(run)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"rnnlab train: cannot write {run}") and err.endswith(FULL) and "\n" not in err
    kept = ckpt.load_latest(run / "checkpoints")
    assert kept is not None and 0 < kept.step < 300
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)  # room again
    _resumes_to_the_straight_run(tmp_path, run, args)
