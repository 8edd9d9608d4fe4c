"""The benchmark scripts run end to end (with a tiny budget, so their targets are not expected to hold)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_long_time_lags_smoke(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "long_time_lags.py"), "--steps", "2",
                           "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "| adding, LSTM | mse |" in done.stdout and "| temporal order, LSTM | accuracy |" in done.stdout
    results = json.loads((tmp_path / "long_time_lags.json").read_text())
    assert [r["steps"] for r in results] == [2, 2, 2]
    assert all((Path(r["run_dir"]) / "summary.json").exists() for r in results)
