"""The neural history compressor (issue 14): Schmidhuber, "Learning complex, extended sequences using the
principle of history compression", Neural Computation 4(2), 1992 — its 20-step-lag experiment and the
"very deep" lags of the 1993 thesis.

The problem (tasks/chunk_lag.py): an unending stream over 22 symbols of strings ``a b1 … b20`` or ``x b1 …
b20``, a or x at random, with a label at the end of each string that recalls its first symbol, 20 steps back.
The paper: the chunker system (an automatiser predicting its next input, a chunker fed only with the inputs it
failed to predict) learnt it in 13 of 17 runs within fewer than 5,000 training sequences (strings), where
conventional recurrent nets made no progress in a million.  A public NumPy reimplementation reports 99.5%
label accuracy in 10 of 10 seeds for the chunker and chance for the automatiser alone.

Here: ``history_compressor`` (two levels of Elman cells, 32 units, passing up a symbol whose predicted
probability is below 0.9: the task's recommendations) against a single ``elman_tanh`` net and a single
``lstm`` on the same budget (1,000 steps of 8 sequences of 10 strings: 80,000 strings), seeds 0–9 (the LSTM
0–2), each stopped once 99% of the held-out labels are right; then the same compressor at lags of 100 and
1,000 steps.  A row per model and lag: the fraction of seeds solved (issue 14's acceptance: >= 8 of 10 at
lag 20) and the strings until success (median and range); then the compression ratio of each solved
compressor (input steps per element its chunker received), and a picture of the events each level keeps.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from .runner import Experiment, Measuring, Run, measured_row

# (model, lag, seeds, label): the runs, each with the task's recommended settings
PLANS = (("history_compressor", 20, 10, "history compressor"),
         ("elman_tanh", 20, 10, "Elman net"),
         ("lstm", 20, 3, "LSTM"),
         ("history_compressor", 100, 3, "history compressor"),
         ("elman_tanh", 100, 3, "Elman net"),
         ("history_compressor", 1000, 3, "history compressor"))
SOLVED = 0.99  # the label accuracy that counts as solved (the runs' stop_when)
SUCCESS = 0.8  # issue 14: the 20-step problem solved by >= 8 of 10 seeds of the compressor
QUICK = ["train.max_minutes=0.5"]


def _directory(model: str, lag: int, seed: int) -> str:
    return f"lag{lag}-{model}-s{seed}"


def _runs() -> list[Run]:
    runs = []
    for model, lag, seeds, label in PLANS:
        for seed in range(seeds):
            quick = lag == 20 and seed == 0 and model != "lstm"
            runs.append(Run(f"lag {lag}, {label}, seed {seed}", "chunk_lag", model,
                            [f"task.lag={lag}", f"train.seed={seed}"], "accuracy", None,
                            quick=QUICK if quick else (), directory=_directory(model, lag, seed), in_quick=quick,
                            quick_target=_quick_target(model) if quick else None))
    return runs


def _quick_target(model: str) -> tuple[str, float]:
    """The compressor solves the 20-step lag (measured 1.0 at step 40, 2 s); the single Elman net stays at chance,
    0.5, as the paper's conventional nets did (measured 0.497 after 979 steps in 30 s): above 0.6 it would not."""
    return (">=", SOLVED) if model == "history_compressor" else ("<", 0.6)


def measure(context: Measuring) -> list[dict]:
    """Per model and lag: the fraction of seeds solved and the strings until success; the compression ratios;
    the picture of one solved compressor's events."""
    by_dir = {Path(row["run_dir"]).name: row for row in context.rows
              if row.get("run_dir") and "evaluation" not in row and not row["skipped"] and row["value"] is not None}
    rows = []
    for model, lag, seeds, label in PLANS:
        found = [by_dir[d] for d in (_directory(model, lag, s) for s in range(1 if context.quick else seeds))
                 if d in by_dir]
        if not found:
            continue
        solved = [_strings(Path(row["run_dir"])) for row in found if row["value"] >= SOLVED]
        judged = model == "history_compressor" and lag == 20
        rows.append(measured_row(
            f"lag {lag}, {label}: seeds solved", model, "fraction of seeds solved", len(solved) / len(found),
            quick=context.quick, task="chunk_lag", target=(">=", SUCCESS) if judged else None,
            quick_target=(">=", 1.0) if judged else None, seeds=len(found), solved=len(solved),
            median_strings=statistics.median(solved) if solved else None,
            min_strings=min(solved) if solved else None, max_strings=max(solved) if solved else None,
            settings=[f"label accuracy >= {SOLVED} on the held-out set; strings = steps × batch × strings a "
                      "sequence, at the evaluation that met it"] if not rows else []))
        if model == "history_compressor" and solved:
            first = next(row for row in found if row["value"] >= SOLVED)
            ratios = _compression(Path(first["run_dir"]))
            rows.append(measured_row(
                f"lag {lag}, history compressor: input steps per chunker element", model, "compression ratio",
                ratios[0], quick=context.quick, task="chunk_lag", ratios=ratios, from_run=first["run_dir"],
                pictures=_pictures(Path(first["run_dir"]), context)))
    return rows


def _strings(run_dir: Path) -> int:
    """The training strings seen when the run stopped (steps × batch × strings a sequence)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    return summary["step"] * config["train"]["batch_size"] * config["task"]["blocks"]


def _compression(run_dir: Path) -> list[float]:
    """Per level above the automatiser: the held-out input steps over the elements the level received."""
    import torch

    from .. import runs

    config = runs.load_config(run_dir)
    task = runs.build_task(config)
    model = runs.trained_model(config, task, run_dir)
    batch = task.eval_set(min(config.train.eval_size, 200), config.train.seed)[0]
    with torch.no_grad():
        return [round(r, 2) for r in model.compression_ratios(batch.inputs, batch.lengths)]


def _pictures(run_dir: Path, context: Measuring) -> list[str]:
    """The events each level keeps on a held-out sequence (``rnnlab eval RUN --plots``), where drawn."""
    from .. import runs

    runs.evaluate(run_dir, log=lambda line: None, plots=True)
    plots = runs.eval_plots_directory(run_dir)
    return [context.relative(path) for path in sorted(plots.glob("compressor*.png"))]


EXPERIMENT = Experiment(
    name="compressor",
    title="The neural history compressor: the 20-step lag and deeper (Schmidhuber 1992)",
    description=(
        "The chunk_lag stream (22 symbols; strings `a b1 … b20` or `x b1 … b20`; a label at the end of each "
        "recalls its first symbol): the history compressor (an automatiser predicting its next input, a "
        "chunker receiving only the symbols it failed to predict, with their time stamps; Elman cells of 32 "
        "units, threshold 0.9) against a single Elman net and a single LSTM on the same budget: batches of 8 "
        "sequences of 10 strings, Adam 0.01, at most 1,000 steps (80,000 strings), stopped once 99% of 1,000 "
        "held-out sequences' labels are right; the paper: 13 of 17 runs within 5,000 strings, conventional "
        "nets nowhere in a million. Then lags of 100 and 1,000 steps (sequences of 5 and 2 strings)."),
    runs=_runs(),
    measure=measure,
    quick_note="Quick mode trains seed 0 of the compressor and of the Elman net at lag 20, 30 seconds each.",
)
