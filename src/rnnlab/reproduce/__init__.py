"""``rnnlab reproduce``: one module per published experiment -> OUT/report.md, results.json, pictures.

>>> import rnnlab.reproduce as reproduce
>>> reproduce.available()  # doctest: +NORMALIZE_WHITESPACE
['long_time_lags', 'applications', 'ntm', 'gradients', 'learning', 'lstm1997', 'recursive', 'compressor',
 'gate_variants', 'translation']
>>> [run.name for run in reproduce.get("long_time_lags").runs]
['adding, LSTM', 'temporal order, LSTM', 'adding, Elman (tanh)']

Each module defines ``EXPERIMENT``, a ``runner.Experiment``: its runs (``runner.Run``: task,
model, settings, metric, target, quick settings and the quick target that judges them, data files,
evaluations at other task settings: ``runner.Evaluation``), a paragraph for the report, and optionally
``measure``: what it computes after its runs (``runner.Measuring`` -> rows of ``runner.measured_row``).
The data files default to the repository's data/ (``runner.shipped_data``).
``main`` runs a list of them and writes the report; ``runner`` holds the machinery.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import runner
from .runner import (QUICK_NOTE, RESULT_KEYS, Evaluation, Experiment, Measuring, Run, failed, measured_row,
                     run_experiment, table, write_report)

# name -> module; this order is the order of `--all` and of the report
_MODULES = {
    "long_time_lags": "long_time_lags",  # Hochreiter & Schmidhuber (1997), issue 3
    "applications": "applications",  # the four topologies' application tasks, issue 4
    "ntm": "ntm",  # Graves, Wayne & Danihelka (2014): the NTM and the LSTM on the five tasks, issue 5
    "gradients": "gradients",  # Pascanu, Mikolov & Bengio (2013): vanishing and exploding gradients, issue 11
    "learning": "learning",  # RTRL = BPTT, the cost of RTRL/UORO/SnAp-1, online learning, weight guessing, issue 12
    "lstm1997": "lstm1997",  # Hochreiter & Schmidhuber (1997): the LSTM as published and its battery, issue 13
    "recursive": "recursive",  # Tree-RNN and Tree-LSTM on ListOps and expression trees, level batching, issue 14
    "compressor": "compressor",  # Schmidhuber (1992): the neural history compressor on the 20-step lag, issue 14
    "gate_variants": "gate_variants",  # Dey & Salem (2017): GRU and its gate variants GRU1-3, issue 15
    "translation": "translation",  # number words and dates between real languages, encoder-decoder, issue 15
}

# Quick runs train with one thread unless OMP_NUM_THREADS says otherwise: their models are too small
# to gain from more, and on a busy machine threads wait on each other (adding, LSTM, T = 30: 23 ms a
# step with one thread, 293 ms with two, while two other trainings shared the machine's 2 cores).
QUICK_THREADS = 1

__all__ = ["Evaluation", "Experiment", "Measuring", "Run", "RESULT_KEYS", "QUICK_NOTE", "available", "get", "main",
           "measured_row"]


def available() -> list[str]:
    """Names of every experiment, in the order ``--all`` runs them."""
    return list(_MODULES)


def get(name: str) -> Experiment:
    """The experiment ``name``; an unknown name is a ValueError listing the available ones."""
    if name not in _MODULES:
        raise ValueError(f"unknown experiment {name!r}; available: {', '.join(_MODULES)}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}").EXPERIMENT


def main(names: Sequence[str], out: str | Path, *, quick: bool = False, data: str | Path | None = None,
         fashion: str | Path | None = None, steps: int | None = None, command: str = "rnnlab reproduce",
         log: Callable[[str], None] | None = None) -> int:
    """Run the experiments ``names`` into ``out``, print their tables, write OUT/report.md; returns the
    exit code: 1 when a run stopped on an error or missed its target (under ``quick``, its quick
    target), else 0.  ``data`` None reads the repository's data/ where there is one
    (``runner.shipped_data()``).  ``quick`` runs train with QUICK_THREADS threads unless
    OMP_NUM_THREADS is set."""
    import torch

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    experiments = [get(name) for name in names]
    problems, notes = [], []
    if data is None:
        data = runner.shipped_data()
        if data is not None:
            notes.append(f"Data: the repository's own, {data} (`--data DIR` to read another).")
            log(f"data: {data} (the repository's data/; --data DIR to read another)")
    threads = torch.get_num_threads()
    if quick and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(QUICK_THREADS)
        notes.append(f"Quick runs train with {QUICK_THREADS} thread (OMP_NUM_THREADS=N to change it).")
    try:
        for experiment in experiments:
            rows = run_experiment(experiment, out, quick=quick, data=data, fashion=fashion, steps=steps, log=log)
            print(f"\n{experiment.title}{f' ({QUICK_NOTE})' if quick else ''}\n\n{table(rows)}", flush=True)
            problems += [f"{experiment.name}: {problem}" for problem in failed(rows)]
        report = write_report(out, [get(name) for name in available()], command, " ".join(notes))
    finally:
        torch.set_num_threads(threads)
    log(f"report: {report}")
    for problem in problems:
        log(f"  failed: {problem}")
    return 1 if problems else 0
