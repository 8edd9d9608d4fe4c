"""Acceptance runs of issue 3: Hochreiter & Schmidhuber's (1997) long-time-lag problems on CPU.

    python benchmarks/long_time_lags.py [--out DIR] [--steps N]

Trains, with fixed seeds, LSTM on the adding problem (T = 100; target: mse < 0.01 on 2,000
fresh sequences) and on two-symbol temporal order (target: accuracy >= 0.99), and reports
the Elman network on the same adding setting beside it, whatever it reaches.  Prints a
table, writes DIR/long_time_lags.json, exits 1 if a target is missed.  ``--steps`` caps
every run's budget (for a smoke test; the targets are then not expected to hold).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnlab import runs
from rnnlab.config import build_config

# (name, task, cell, overrides, metric, target): the target is None for runs only reported.
# The LSTM's gate biases start as in Hochreiter & Schmidhuber (1997): input gates mostly shut,
# forget gates open (their LSTM had none: the constant error carousel); see cells/lstm.py.
LSTM_GATES = "model.options={forget_bias=5.0, input_bias=-3.0}"
RUNS = [
    ("adding, LSTM", "adding", "lstm", [LSTM_GATES, "train.steps=3000"], "mse", ("<", 0.01)),
    ("temporal order, LSTM", "temporal_order", "lstm", [LSTM_GATES, "train.steps=5000"], "accuracy", (">=", 0.99)),
    ("adding, Elman (tanh)", "adding", "elman_tanh", ["train.steps=3000"], "mse", None),
]
COMMON = ["train.eval_every=500", "train.eval_size=2000", "train.log_every=100", "train.seed=0"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-out/long_time_lags"))
    parser.add_argument("--steps", type=int, help="cap every run's steps (smoke test)")
    parser.add_argument("--only", metavar="TASK-CELL", action="append",
                        help="run only these, e.g. adding-lstm (repeatable; to run them in parallel)")
    args = parser.parse_args(argv)
    results, missed = [], 0
    for name, task, cell, overrides, metric, target in RUNS:
        if args.only and f"{task}-{cell}" not in args.only:
            continue
        sets = [*COMMON, *overrides] + ([f"train.steps={args.steps}"] if args.steps else [])
        config = build_config(task, model=cell, overrides=sets)
        run_dir = args.out / f"{task}-{cell}"
        summary = runs.train(config, run_dir, resume=(run_dir / "config.json").exists(),
                             log=lambda line: print(line, file=sys.stderr))
        value = summary[metric]
        met = None if target is None else (value < target[1] if target[0] == "<" else value >= target[1])
        missed += met is False
        results.append({"run": name, "metric": metric, "value": value, "target": target, "met": met,
                        "steps": summary["step"], "minutes": round(summary["seconds"] / 60, 1),
                        "run_dir": str(run_dir)})
    print("| run | metric | value | target | met | steps | minutes |\n| --- | --- | ---: | --- | --- | ---: | ---: |")
    for r in results:
        target = "reported" if r["target"] is None else f"{r['target'][0]} {r['target'][1]}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        print(f"| {r['run']} | {r['metric']} | {r['value']:.4g} | {target} | {met} | {r['steps']} | {r['minutes']} |")
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if not args.only else "-" + "+".join(args.only)
    (args.out / f"long_time_lags{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")
    return 1 if missed and not args.steps else 0


if __name__ == "__main__":
    sys.exit(main())
