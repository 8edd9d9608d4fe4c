"""One writer per run directory: a second `rnnlab train` is refused with one line naming the holder,
exit 2, and writes nothing; readers are not locked out; the kernel frees the lock of a dead process."""

import os
import subprocess
import sys

import pytest

from rnnlab import cli
from rnnlab.training.lock import LockedError, RunLock, check_free

TINY = ["--model", "gru", "--set", "model.hidden_size=8", "--set", "task.length=20", "--set", "train.eval_every=3",
        "--set", "train.eval_size=20", "--set", "train.batch_size=4"]


def _snapshot(directory):
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in directory.rglob("*")}


def test_a_second_writer_is_refused_and_touches_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "adding", *TINY, "--steps", "3", "--out", str(run)]) == 0
    capsys.readouterr()
    with RunLock(run):  # this process trains there now
        before = _snapshot(run)
        for extra in (["--resume", "--steps", "6"], []):
            with pytest.raises(SystemExit) as exit_info:
                cli.main(["train", "adding", *TINY, "--out", str(run), *extra])
            assert exit_info.value.code == 2
            err = capsys.readouterr().err
            assert f"{run} is in use by another run (process {os.getpid()})" in err and err.count("\n") == 1
        assert _snapshot(run) == before
        assert cli.main(["eval", str(run), "--json"]) == 0  # a reader is welcome
    assert cli.main(["train", "adding", *TINY, "--out", str(run), "--resume", "--steps", "6"]) == 0


def test_a_new_run_into_a_directory_being_created_by_another_is_refused(tmp_path, capsys):
    run = tmp_path / "new"
    run.mkdir()
    with RunLock(run):
        with pytest.raises(SystemExit):
            cli.main(["train", "adding", *TINY, "--steps", "3", "--out", str(run)])
    assert "is in use by another run" in capsys.readouterr().err
    assert [p.name for p in run.iterdir()] == [".lock"]


def test_the_lock_of_a_dead_process_is_free(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from rnnlab.training.lock import RunLock; "
                               f"RunLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(LockedError, match=f"process {holder.pid}"):
        check_free(tmp_path)
    holder.kill()
    holder.wait()
    check_free(tmp_path)  # the kernel released it
    with RunLock(tmp_path):
        pass
