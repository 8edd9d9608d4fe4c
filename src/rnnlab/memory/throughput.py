"""The NTM's training throughput against batch size and threads, for ``rnnlab bench`` (issue 16).

A training step as ``rnnlab train copy --model ntm`` runs it (and as bench.measure_ntm_training times
it): a batch of the copy task (lengths 1–20, 8 bits) drawn outside the clock, then zero_grad, forward,
loss, backward, clipping of the gradient's norm, Adam.  The model is the paper's (Graves et al.
2014): LSTM controller of 100, memory 128 × 20, one read and one write head.

Sequences per second = B / (median step time).  Each number of threads runs in turn
(``torch.set_num_threads``, restored afterwards); within it, every batch size has its own model and
optimizer, and a round steps each of them once, so that machine noise spreads over all sizes.

A batch holds sequences of different lengths, padded to the longest: a step of B sequences costs
2·max(L) + 1 time steps, so batch 1 runs on average 21 steps where batch 32 runs about 40, which
favours batch 1 by about a factor of 2 in sequences per second at equal work per step.
"""

from __future__ import annotations

import statistics
import time

import torch

BATCH_SIZES = (1, 8, 32, 128)
THREADS = (1, 2)
WARMUP_ROUNDS = 2  # the first rounds of a fresh model run slow while the allocator's heap grows


def measure_throughput(repeats: int, *, batch_sizes=BATCH_SIZES, threads=THREADS, memory_slots: int = 128,
                       memory_width: int = 20, controller_size: int = 100, seed: int = 0) -> dict:
    """{"rows": [{"threads", "batch_size", "step_median_s", "sequences_per_s"}, …], the sizes}: the median of
    ``repeats`` training steps after WARMUP_ROUNDS, for every number of threads and batch size."""
    from ..tasks import create
    from ..training.clipping import clip_gradients
    from .ntm import NTM

    task = create("copy")
    previous_threads = torch.get_num_threads()
    rows = []
    try:
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            runs = []
            for batch_size in batch_sizes:
                torch.manual_seed(seed)
                model = NTM(task.input_size, task.output_size, controller_size=controller_size,
                            memory_slots=memory_slots, memory_width=memory_width)
                runs.append((batch_size, model, torch.optim.Adam(model.parameters(), lr=1e-4),
                             torch.Generator().manual_seed(seed), []))
            for round_ in range(WARMUP_ROUNDS + repeats):
                for batch_size, model, optimizer, generator, times in runs:
                    batch = task.sample(batch_size, generator)
                    start = time.perf_counter()
                    optimizer.zero_grad(set_to_none=True)
                    outputs, _ = model(batch.inputs, lengths=batch.lengths)
                    task.loss(outputs, batch).backward()
                    clip_gradients(model.parameters(), "norm", max_norm=10.0, max_value=1.0)
                    optimizer.step()
                    if round_ >= WARMUP_ROUNDS:
                        times.append(time.perf_counter() - start)
            for batch_size, _, _, _, times in runs:
                median = statistics.median(times)
                rows.append({"threads": n_threads, "batch_size": batch_size, "step_median_s": median,
                             "sequences_per_s": batch_size / median})
    finally:
        torch.set_num_threads(previous_threads)
    return {"rows": rows, "repeats": repeats, "memory": [memory_slots, memory_width],
            "controller_size": controller_size}


def render_throughput(report: dict, reference_sequences_per_s: float | None = None) -> list[str]:
    """Markdown lines: a table of sequences/s, one row per batch size, one column per number of threads (and the
    ratio to ``reference_sequences_per_s`` when given)."""
    threads = sorted({r["threads"] for r in report["rows"]})
    sizes = sorted({r["batch_size"] for r in report["rows"]})
    cell = {(r["threads"], r["batch_size"]): r for r in report["rows"]}
    header = ["batch"] + [f"{n} thread{'s' if n > 1 else ''}: ms/step, sequences/s" +
                          (" (× ref.)" if reference_sequences_per_s else "") for n in threads]
    lines = ["", "### NTM training throughput against batch size and threads", "",
             f"rnnlab.NTM, LSTM controller of {report['controller_size']}, memory {report['memory'][0]} × "
             f"{report['memory'][1]}, copy (lengths 1–20, 8 bits), a full training step (forward, backward, "
             f"clipping, Adam), median of {report['repeats']} steps"
             + (f"; × ref. = against the {reference_sequences_per_s:g} sequences/s of the one-sequence reference"
                if reference_sequences_per_s else "") + ".", "",
             "| " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(threads)]
    for size in sizes:
        row = [str(size)]
        for n in threads:
            r = cell.get((n, size))
            if r is None:
                row.append("—")
                continue
            text = f"{r['step_median_s'] * 1e3:.1f}, **{r['sequences_per_s']:,.0f}**"
            if reference_sequences_per_s:
                text += f" ({r['sequences_per_s'] / reference_sequences_per_s:.0f}×)"
            row.append(text)
        lines.append("| " + " | ".join(row) + " |")
    return lines
