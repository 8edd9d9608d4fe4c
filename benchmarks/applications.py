"""Acceptance runs of issue 4: the application tasks of the four topologies, on CPU with fixed seeds.

    python benchmarks/applications.py [--data DIR] [--fashion DIR] [--out DIR] [--only NAME ...] [--steps N]

Each run is ``rnnlab train TASK --model CELL`` with the settings listed in RUNS; the table
gives the held-out figure of the final checkpoint beside its target.  ``--data`` holds
tinyshakespeare.txt and sentiment/*.txt (default: ../shared/data beside the repository),
``--fashion`` the Fashion-MNIST IDX files (default: /usr/share/datasets/fashion-mnist, where
Debian's dataset-fashion-mnist installs them).  Writes DIR/applications[-NAMES].json; exits 1
if a target is missed.  ``--steps`` caps every budget (a smoke test; targets not expected).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnlab import runs
from rnnlab.config import build_config

ROOT = Path(__file__).resolve().parent.parent
EVAL = ["train.eval_every=500", "train.log_every=100", "train.seed=0"]

# (name, task, cell, overrides, metric, target); "{data}" and "{fashion}" are filled in; target None: reported
RUNS = [
    ("char_lm", "char_lm", "lstm",
     ["task.path={data}/tinyshakespeare.txt", "task.seq_length=100", "model.num_layers=2", "model.hidden_size=256",
      "train.batch_size=64", "train.lr=2e-3", "train.steps=100000", "train.max_minutes=30", "train.eval_size=200"],
     "nats_per_char", ("<=", 1.55)),
    ("sentiment", "sentiment", "lstm",
     ['task.path=["{data}/sentiment/amazon_cells_labelled.txt", "{data}/sentiment/imdb_labelled.txt", '
      '"{data}/sentiment/yelp_labelled.txt"]', "model.hidden_size=64", "model.embedding_size=64",
      "model.bidirectional=true", "model.pooling=max", "model.dropout=0.0", "train.steps=1500",
      "train.weight_decay=1e-4", "train.eval_size=600"],
     "accuracy", (">=", 0.78)),
    ("seq_image_rows", "seq_image", "lstm",
     ["task.path={fashion}", "task.by=rows", "model.hidden_size=128", "train.batch_size=128", "train.steps=10000",
      "train.eval_size=10000"],
     "accuracy", (">=", 0.88)),
    ("seq_image_pixels", "seq_image", "lstm",
     ["task.path={fashion}", "task.by=pixels", "model.hidden_size=128", "train.batch_size=64",
      "train.steps=100000", "train.max_minutes=20", "train.eval_size=10000"],
     "accuracy", None),
    ("reverse", "reverse", "lstm", ["model.hidden_size=128", "model.attention=true", "train.steps=3000",
                                    "train.eval_size=2000"], "exact_match", (">=", 0.95)),
    ("addition", "addition", "lstm", ["model.hidden_size=128", "model.attention=true", "train.batch_size=128",
                                      "train.lr=3e-3", "train.schedule=cosine", "train.steps=20000",
                                      "train.eval_size=2000"],
     "exact_match", (">=", 0.95)),
    ("number_words", "number_words", "lstm", ["model.hidden_size=128", "train.schedule=cosine", "train.steps=3000",
                                              "train.eval_size=1000"],
     "exact_match", (">=", 0.95)),
    ("elman_words", "elman_words", "elman_tanh", ["model.hidden_size=20", "task.length=500", "train.lr=3e-3",
                                                  "train.steps=2000", "train.eval_size=100"],
     "onset_ratio", (">=", 2.0)),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--fashion", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--out", type=Path, default=Path("bench-out/applications"))
    parser.add_argument("--only", metavar="NAME", action="append", help="run only these (repeatable)")
    parser.add_argument("--steps", type=int, help="cap every run's steps (smoke test)")
    args = parser.parse_args(argv)
    results, missed = [], 0
    for name, task, cell, overrides, metric, target in RUNS:
        if args.only and name not in args.only:
            continue
        sets = [*EVAL, *(o.format(data=args.data, fashion=args.fashion) for o in overrides)]
        sets += [f"train.steps={args.steps}", "train.eval_every=10"] if args.steps else []
        config = build_config(task, model=cell, overrides=sets)
        run_dir = args.out / name
        summary = runs.train(config, run_dir, resume=(run_dir / "config.json").exists(),
                             log=lambda line: print(line, file=sys.stderr))
        value = summary[metric]
        met = None if target is None else (value <= target[1] if target[0] == "<=" else value >= target[1])
        missed += met is False
        results.append({"run": name, "task": task, "model": cell, "metric": metric, "value": value,
                        "target": target, "met": met, "steps": summary["step"],
                        "minutes": round(summary["seconds"] / 60, 1), "run_dir": str(run_dir)})
    print("| run | model | metric | value | target | met | steps | minutes |\n"
          "| --- | --- | --- | ---: | --- | --- | ---: | ---: |")
    for r in results:
        target = "reported" if r["target"] is None else f"{r['target'][0]} {r['target'][1]}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        print(f"| {r['run']} | {r['model']} | {r['metric']} | {r['value']:.4g} | {target} | {met} | {r['steps']} "
              f"| {r['minutes']} |")
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if not args.only else "-" + "+".join(args.only)
    (args.out / f"applications{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")
    return 1 if missed and not args.steps else 0


if __name__ == "__main__":
    sys.exit(main())
