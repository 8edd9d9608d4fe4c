"""``rnnlab bench``: speed and memory of every cell against torch.nn on this machine.

At each size (B, T, I, H) every contender (torch.nn.RNN/LSTM/GRU, their rnnlab
twins, ``Recurrent(cell)`` for every other registered cell, and the plain
per-step reference loop) runs

    fwd      forward under ``torch.no_grad()``
    fwd+bwd  forward, then ``output.sum().backward()`` with the input requiring grad

Times are medians over repeated rounds after warm-up rounds; a round runs every
contender once, in an order rotated from round to round, all in one process, so
that machine noise hits all contenders alike.  Memory is the size of what
autograd keeps for the backward pass (see ``saved_bytes``): deterministic and
comparable across contenders, unlike a process's resident size.

Every contender that has a torch.nn twin loads the twin's weights, and its output
must equal the twin's; a contender that raises or computes something else is
reported as failed, never dropped silently.

A roofline column says how close each kernel comes to the machine's limit: the
matrix-product FLOPs of one forward+backward, counted from the sizes
(``matmul_flops``), divided by the measured fwd+bwd time, against the best rate of a
float32 matrix product measured in the same process on the same threads, over BLAS's
sgemm and oneDNN's (``measure_matmul_peak``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, NamedTuple, TextIO

import torch
from torch import Tensor, nn
from torch.autograd.graph import saved_tensors_hooks
from tqdm import tqdm

from . import __version__, cells
from .cells import matmul
from .layers import GRU, LSTM, RNN, Recurrent
from .memory.throughput import measure_throughput, render_throughput


class Size(NamedTuple):
    """One benchmark size: batch N, steps L, input features H_in, hidden units H."""

    batch: int
    steps: int
    input_size: int
    hidden_size: int

    @property
    def label(self) -> str:
        return f"B={self.batch} T={self.steps} I={self.input_size} H={self.hidden_size}"


SIZES = (Size(64, 100, 128, 256), Size(32, 200, 64, 128), Size(16, 784, 1, 100), Size(64, 50, 512, 512))
FULL_REPEATS = 15
QUICK_REPEATS = 7  # --quick: the same sizes, fewer rounds
WARMUP_ROUNDS = 2  # the first rounds of a fresh process run slow while its heap grows
OUTPUT_TOLERANCE = 1e-4  # max |y − y_twin| allowed in float32
BASELINE = "torch.nn.GRU"  # every ratio "× GRU" is against this contender
# The matmul peak: the best rate of (n, n) @ (n, n) in float32 over these n.  One size alone is fragile: on
# this machine's 2 threads the best size moved between 512 and 1024 from one measurement to the next.
PEAK_MATMUL_SIZES = (256, 512, 1024)
MATMUL_REPEATS = 5  # best of this many timings, each of products lasting at least MATMUL_MIN_SECONDS
MATMUL_MIN_SECONDS = 0.02
_SEED = 0

PEAK_NOTE = ("peak MB = the most memory that tensors held at any moment of one forward+backward (torch.profiler's "
             "memory timeline, CPU), the input, parameters and gradients included; full runs only, as its "
             "profiling takes minutes")
ROOFLINE_NOTE = ("GFLOP/s = the matrix products' FLOPs of one forward+backward, counted from the sizes "
                 "(6·B·T·Σ rows·cols over the weight matrices, e.g. 6·B·T·3H·(I + H) for a GRU; element-wise "
                 "work not counted), / fwd+bwd time; % peak = that / the matmul peak measured in the same run")
_BACKEND_NAMES = {"onednn": "oneDNN", "blas": "BLAS (torch.mm)"}
MEMORY_NOTE = ("saved MB = activations kept for backward: the distinct tensor storages that autograd saves "
               "during the forward pass (counted with torch.autograd.graph.saved_tensors_hooks), parameters "
               "and input excluded; not the process's peak RSS")


@dataclass(frozen=True)
class Target:
    """A contender's fwd+bwd time must be at most ``max_ratio`` times ``baseline``'s."""

    baseline: str
    max_ratio: float

    def __str__(self) -> str:
        return f"≤ {self.max_ratio:.1f}× {self.baseline}"


@dataclass(frozen=True)
class Contender:
    """One layer to time.

    build: (input_size, hidden_size) -> layer taking x (T, B, I) and returning (y (T, B, H), state).
    twin: the contender computing the same function in torch.nn; its weights are
        loaded into this one and the outputs must agree.
    target: the speed this contender should reach, or None.
    """

    name: str
    build: Callable[[int, int], nn.Module]
    twin: str | None = None
    target: Target | None = None


def _plain_loop(input_size: int, hidden_size: int) -> Recurrent:
    layer = Recurrent("gru", input_size, hidden_size)
    layer.fast_paths = False
    return layer


def _recurrent(cell: str) -> Callable[[int, int], nn.Module]:
    return lambda input_size, hidden_size: Recurrent(cell, input_size, hidden_size)


_TWIN_CELLS = ("elman_tanh", "lstm", "gru")  # timed as rnnlab.RNN, rnnlab.LSTM, rnnlab.GRU


def default_contenders() -> list[Contender]:
    """torch.nn's three layers, rnnlab's twins, every other registered cell, and the plain loop."""
    cell_target = Target(BASELINE, 1.0)
    contenders = [
        Contender("torch.nn.RNN", nn.RNN),
        Contender("torch.nn.LSTM", nn.LSTM),
        Contender("torch.nn.GRU", nn.GRU),
        Contender("rnnlab.RNN", RNN, twin="torch.nn.RNN", target=cell_target),
        Contender("rnnlab.LSTM", LSTM, twin="torch.nn.LSTM", target=Target("torch.nn.LSTM", 1.1)),
        Contender("rnnlab.GRU", GRU, twin="torch.nn.GRU", target=Target(BASELINE, 0.9)),
    ]
    contenders += [Contender(f"Recurrent('{name}')", _recurrent(name), target=cell_target)
                   for name in cells.available() if name not in _TWIN_CELLS]
    contenders.append(Contender("plain loop ('gru')", _plain_loop, twin="torch.nn.GRU"))
    return contenders


# ---- measurements ----------------------------------------------------------------------------

def saved_bytes(layer: nn.Module, x: Tensor) -> tuple[int, Tensor]:
    """Bytes autograd keeps for the backward pass of ``layer(x)``, and the output y.

    Each saved tensor is counted by its storage, once, so that views of one
    buffer (e.g. the per-step slices of a stacked output) are not counted again;
    the storages of the parameters and of x are left out, as they exist anyway.
    """
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with saved_tensors_hooks(pack, lambda t: t):
        y, _ = layer(x)
    held = {p.untyped_storage().data_ptr() for p in layer.parameters()} | {x.untyped_storage().data_ptr()}
    return sum(n for ptr, n in storages.items() if ptr not in held), y.detach()


def peak_bytes(layer: nn.Module, x: Tensor) -> int | None:
    """The most bytes held by tensors at any moment of one forward+backward of ``layer(x)``.

    Read from torch.profiler's memory timeline (which tracks every tensor
    allocation and release on the CPU); None where this torch lacks it.
    """
    try:
        from torch.profiler._memory_profiler import MemoryProfileTimeline
    except ImportError:
        return None
    x.grad = None
    layer.zero_grad(set_to_none=True)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True,
                                record_shapes=True, with_stack=True) as prof:
        _forward_backward(layer, x)
    _, sizes = MemoryProfileTimeline(prof._memory_profile())._coalesce_timeline("cpu")
    return max((sum(at_time) for at_time in sizes), default=0)


def matmul_flops(layer: nn.Module, size: Size) -> int:
    """Floating-point operations of the matrix products in one forward+backward of ``layer`` at ``size``.

    Counting rule.  Every weight matrix W (rows × cols: the layer's 2-D parameters named ``weight…``,
    e.g. W_ih (3H, I) and W_hh (3H, H) of a GRU) multiplies one (B, cols) operand at each of the T steps:

        forward    2·B·T·rows·cols        (a multiply and an add per entry of each product)
        backward   2 × the forward's:     ∂L/∂operand = ∂L/∂out · W  and  ∂L/∂W = Σ_t ∂L/∂out_tᵀ · operand_t

    so 6·B·T·Σ_W rows·cols in all: 6·B·T·H·(I + H) for an Elman layer, 6·B·T·4H·(I + H) for an LSTM,
    6·B·T·3H·(I + H) for a GRU, 6·B·T·(H·I + 3H·H) for gru1/gru2 (their gates read h alone).  The
    backward's input product is counted because the bench's input requires grad, and so is the first
    step's ∂L/∂h_0 product, which a kernel may skip (h_0 needs no gradient here): 1/(3T) of the recurrent
    products.  torch.utils.flop_counter agrees on the per-step loop, step for step (tests/test_bench.py).
    Left out: the element-wise work (activations, gates, biases: O(B·T·H), a few % of the products at
    the bench's sizes) and peephole weights (element-wise, not products).  The count is the function's,
    not the implementation's: the plain loop and the fused kernels of one cell do the same useful work.
    """
    per_step = sum(p.shape[0] * p.shape[1] for name, p in layer.named_parameters()
                   if p.dim() == 2 and name.rpartition(".")[2].startswith("weight"))
    return 6 * size.batch * size.steps * per_step


def matmul_rate(rows: int, inner: int, cols: int, repeats: int = MATMUL_REPEATS,
                backend: str | None = None) -> float:
    """FLOP/s of a float32 (rows, inner) @ (inner, cols) product on this machine and torch's threads, as
    the kernels compute it (``rnnlab.cells.matmul.mm`` with ``backend``, the kernels' own if None): the best
    of ``repeats`` timings, each of enough back-to-back products to last MATMUL_MIN_SECONDS."""
    generator = torch.Generator().manual_seed(_SEED)
    a = torch.randn(rows, inner, generator=generator)
    b = torch.randn(inner, cols, generator=generator)
    out = torch.empty(rows, cols)
    start = time.perf_counter()
    matmul.mm_out(out, a, b, backend_name=backend)  # warm-up, and a first guess at how many make one timing
    once = max(time.perf_counter() - start, 1e-7)
    products = max(1, math.ceil(MATMUL_MIN_SECONDS / once))
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(products):
            matmul.mm_out(out, a, b, backend_name=backend)
        best = min(best, (time.perf_counter() - start) / products)
    return 2 * rows * inner * cols / best


def measure_matmul_peak(sizes: tuple[int, ...] = PEAK_MATMUL_SIZES) -> dict:
    """This machine's matrix-multiply rate: the best over n in ``sizes`` and over the product backends
    (BLAS's sgemm behind torch.mm, and oneDNN where torch has it) of a float32 (n, n) @ (n, n) product's
    rate, each the best of MATMUL_REPEATS timings.  Both count: on AMD processors torch's MKL sgemm runs at
    about half the rate of oneDNN, the library of torch.nn.LSTM's kernel (``rnnlab.cells.matmul``)."""
    by_backend = {name: [matmul_rate(n, n, n, backend=name) / 1e9 for n in sizes]
                  for name in matmul.available_backends()}
    by_size = [max(rates[i] for rates in by_backend.values()) for i in range(len(sizes))]
    best = max(range(len(sizes)), key=by_size.__getitem__)
    return {"sizes": list(sizes), "gflops_per_s_by_size": by_size, "gflops_per_s_by_backend": by_backend,
            "best_size": sizes[best], "best_backend": max(by_backend, key=lambda name: by_backend[name][best]),
            "gflops_per_s": by_size[best], "kernels_backend": matmul.backend(), "threads": torch.get_num_threads()}


def _kernels_backend(rows: int, inner: int, cols: int) -> str:
    """The library that rnnlab's kernels use for a float32 (rows, inner) @ (inner, cols) product."""
    return "onednn" if matmul.uses_onednn(torch.empty(rows, inner), torch.empty(inner, cols)) else "blas"


def _forward(layer: nn.Module, x: Tensor) -> None:
    with torch.no_grad():
        layer(x)


def _forward_backward(layer: nn.Module, x: Tensor) -> None:
    y, _ = layer(x)
    y.sum().backward()


def _seconds(run: Callable[[nn.Module, Tensor], None], layer: nn.Module, x: Tensor) -> float:
    x.grad = None
    layer.zero_grad(set_to_none=True)
    start = time.perf_counter()
    run(layer, x)
    return time.perf_counter() - start


def _failure(error: Exception) -> str:
    """'ErrorType: first line of the message', for one table cell."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


class _Progress:
    """Progress on stderr: a tqdm bar on a terminal, else one plain line per round (readable in CI logs)."""

    def __init__(self, total: int, description: str) -> None:
        self.description, self.total, self.done = description, total, 0
        self.bar = None
        if sys.stderr.isatty():
            self.bar = tqdm(total=total, desc=description, unit="round", file=sys.stderr, leave=False)

    def step(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update()
        else:
            print(f"{self.description}: round {self.done}/{self.total}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def measure_size(size: Size, contenders: list[Contender], repeats: int, description: str,
                 peak_memory: bool = True, peak_gflops_per_s: float | None = None) -> list[dict]:
    """Build, check and time every contender at ``size``; one result dict per contender.  With
    ``peak_gflops_per_s`` (the machine's matmul rate) each result also gets its share of it."""
    torch.manual_seed(_SEED)
    x = torch.randn(size.steps, size.batch, size.input_size).requires_grad_()  # (T, B, I)
    results = {c.name: {"name": c.name, "twin": c.twin, "error": None, "fwd_s": [], "fwd_bwd_s": [],
                        "flops": None} for c in contenders}
    layers, outputs = {}, {}
    for contender in contenders:  # twins come before the contenders that copy them
        result = results[contender.name]
        try:
            layer = contender.build(size.input_size, size.hidden_size)
            result["flops"] = matmul_flops(layer, size)
            if contender.twin is not None:
                if contender.twin not in layers:
                    raise RuntimeError(f"its twin {contender.twin} is not among the contenders or failed")
                layer.load_state_dict(layers[contender.twin].state_dict())
            result["saved_bytes"], outputs[contender.name] = saved_bytes(layer, x)
            result["peak_bytes"] = peak_bytes(layer, x) if peak_memory else None
            if contender.twin is not None:
                diff = (outputs[contender.name] - outputs[contender.twin]).abs().max().item()
                result["max_abs_diff_vs_twin"] = diff
                if not diff <= OUTPUT_TOLERANCE:
                    raise AssertionError(f"output differs from {contender.twin}'s by {diff:.3g} "
                                         f"(tolerance {OUTPUT_TOLERANCE:g})")
        except Exception as error:  # reported in the table and the JSON, never hidden
            result["error"] = _failure(error)
            continue
        layers[contender.name] = layer
    progress = _Progress(WARMUP_ROUNDS + repeats, description)
    names = [c.name for c in contenders]
    for round_index in range(WARMUP_ROUNDS + repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:  # rotated so no contender always runs first
            result = results[name]
            if result["error"] is not None:
                continue
            try:
                fwd = _seconds(_forward, layers[name], x)
                fwd_bwd = _seconds(_forward_backward, layers[name], x)
            except Exception as error:
                result["error"] = _failure(error)
                continue
            if round_index >= WARMUP_ROUNDS:
                result["fwd_s"].append(fwd)
                result["fwd_bwd_s"].append(fwd_bwd)
        progress.step()
    progress.close()
    _summarise(size, contenders, results, peak_gflops_per_s)
    return [results[c.name] for c in contenders]


def _summarise(size: Size, contenders: list[Contender], results: dict[str, dict],
               peak_gflops_per_s: float | None = None) -> None:
    """Add medians, tokens/s, GFLOP/s and % of the matmul peak, ratios and target verdicts to ``results``
    in place."""
    for result in results.values():
        ok = result["error"] is None
        result["fwd_median_s"] = statistics.median(result["fwd_s"]) if ok else None
        result["fwd_bwd_median_s"] = statistics.median(result["fwd_bwd_s"]) if ok else None
        result["tokens_per_s"] = size.batch * size.steps / result["fwd_bwd_median_s"] if ok else None
        result["gflops_per_s"] = result["flops"] / result["fwd_bwd_median_s"] / 1e9 if ok else None
        result["percent_of_matmul_peak"] = (100 * result["gflops_per_s"] / peak_gflops_per_s
                                            if ok and peak_gflops_per_s else None)

    def ratio(name: str, reference: str | None) -> float | None:
        mine = results[name]["fwd_bwd_median_s"]
        theirs = results[reference]["fwd_bwd_median_s"] if reference in results else None
        return mine / theirs if mine is not None and theirs is not None else None

    for contender in contenders:
        result = results[contender.name]
        result["ratio_vs_gru"] = ratio(contender.name, BASELINE)
        result["ratio_vs_twin"] = ratio(contender.name, contender.twin)
        target = contender.target
        result["target"] = str(target) if target is not None else None
        measured = ratio(contender.name, target.baseline) if target is not None else None
        result["target_met"] = measured <= target.max_ratio if measured is not None else None


def _load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (other processes competing for the cores), where known."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def machine_info() -> dict:
    """What the timings depend on: versions, threads, CPU model, date, load."""
    cpu_model = None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rnnlab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "load_average_at_start": _load_average(),
    }


# ---- report ----------------------------------------------------------------------------------

def run_bench(out_dir: str | Path, *, quick: bool = False, sizes: list[Size] | None = None,
              repeats: int | None = None, contenders: list[Contender] | None = None,
              stream: TextIO | None = None, ntm: bool | dict = True,
              matmul_sizes: tuple[int, ...] | None = None) -> dict:
    """Run the benchmark, print the table to ``stream`` (stdout), write bench.json and bench.md.

    ``sizes``, ``repeats`` and ``contenders`` override the defaults of the chosen
    mode (the tests use tiny sizes); ``matmul_sizes`` are the n of the (n, n) @ (n, n) products whose best
    rate is the peak of the "% peak" column (PEAK_MATMUL_SIZES unless given); ``ntm`` adds the NTM's
    training throughput (a dict: other sizes for measure_ntm_training).  Returns the report written to bench.json.
    """
    sizes = [Size(*s) for s in (sizes if sizes is not None else SIZES)]
    repeats = repeats if repeats is not None else (QUICK_REPEATS if quick else FULL_REPEATS)
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1; got {repeats}")
    contenders = contenders if contenders is not None else default_contenders()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine_info(),
        "settings": {
            "quick": quick,
            "repeats": repeats,
            "warmup_rounds": WARMUP_ROUNDS,
            "full_repeats": FULL_REPEATS,
            "baseline": BASELINE,
            "output_tolerance": OUTPUT_TOLERANCE,
            "memory": f"{PEAK_NOTE}; {MEMORY_NOTE}",
            "roofline": ROOFLINE_NOTE,
        },
        "sizes": [],
    }
    start = time.perf_counter()
    report["matmul_peak"] = peak = measure_matmul_peak(tuple(matmul_sizes or PEAK_MATMUL_SIZES))
    for index, size in enumerate(sizes):
        description = f"bench {index + 1}/{len(sizes)} {size.label}"
        results = measure_size(size, contenders, repeats, description, peak_memory=not quick,
                               peak_gflops_per_s=peak["gflops_per_s"])
        step = (size.batch, size.hidden_size, 3 * size.hidden_size)  # the GRU's recurrent product of one step
        report["sizes"].append({**size._asdict(), "label": size.label, "contenders": results,
                                "step_matmul": {"shape": list(step), "gflops_per_s": matmul_rate(*step) / 1e9,
                                                "backend": _kernels_backend(*step)}})
    if ntm:
        options = dict(ntm) if isinstance(ntm, dict) else {}
        grid = {key: options.pop(key) for key in ("batch_sizes", "threads") if key in options}
        if quick:
            grid = {"batch_sizes": (1, 32), "threads": (1,), **grid}
        sizes_only = {key: value for key, value in options.items() if key != "batch_size"}
        report["ntm"] = measure_ntm_training(repeats, **options)
        report["ntm_throughput"] = measure_throughput(repeats, **grid, **sizes_only)
    report["wall_seconds"] = time.perf_counter() - start
    report["machine"]["load_average_at_end"] = _load_average()
    table = render_markdown(report)
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "bench.md").write_text(table)
    print(table, end="", file=stream or sys.stdout)
    return report


# ---- NTM training throughput (issue 5) ----------------------------------------------------------

# The reference: a PyTorch NTM that trains one copy sequence at a time, measured on this machine at about 13
# sequences/s (issue 5's acceptance text).  Most likely loudinthecloud/pytorch-ntm's copy task with its defaults
# (LSTM controller of 100, memory 128 x 20, one read and one write head, batch 1, lengths 1-20, 8 bits,
# RMSProp), which match; the measurement itself is not recorded in this repository.
NTM_REFERENCE_SEQUENCES_PER_S = 13.0
NTM_TARGET_RATIO = 50.0  # issue 16: the batched NTM must train at least this many times as many sequences per second


def measure_ntm_training(repeats: int, *, batch_size: int = 32, memory_slots: int = 128, memory_width: int = 20,
                         controller_size: int = 100) -> dict:
    """Training sequences per second of rnnlab.NTM on the copy task (lengths 1–20, 8 bits), the paper's
    model size (LSTM controller of 100, memory 128 × 20, one read and one write head): the median over
    ``repeats`` full training steps (batch drawn, forward, loss, backward, clipping, Adam) after the warm-up
    rounds, with the threads torch has (memory/throughput.py times it)."""
    row = measure_throughput(repeats, batch_sizes=(batch_size,), threads=(torch.get_num_threads(),),
                             memory_slots=memory_slots, memory_width=memory_width, controller_size=controller_size,
                             seed=_SEED)["rows"][0]
    per_s = row["sequences_per_s"]
    target = NTM_TARGET_RATIO * NTM_REFERENCE_SEQUENCES_PER_S
    return {"batch_size": batch_size, "memory": [memory_slots, memory_width], "controller_size": controller_size,
            "step_median_s": row["step_median_s"], "sequences_per_s": per_s, "reference_sequences_per_s":
            NTM_REFERENCE_SEQUENCES_PER_S, "target_ratio": NTM_TARGET_RATIO, "target_sequences_per_s": target,
            "target_met": per_s >= target}


def failures(report: dict) -> list[str]:
    """'size: contender: error' for every contender that failed."""
    return [f"{s['label']}: {c['name']}: {c['error']}"
            for s in report["sizes"] for c in s["contenders"] if c["error"] is not None]


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def _loads(values: list[float] | None) -> str:
    return " ".join(f"{v:.1f}" for v in values) if values else "unknown"


def _mb(value: int | None) -> str:
    return "—" if value is None else f"{value / 2**20:.1f}"


def _ratio(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "—"


def _gflops(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def render_markdown(report: dict) -> str:
    """The report as Markdown: a header saying how it was measured, one table per size."""
    machine, settings = report["machine"], report["settings"]
    lines = [
        "# rnnlab bench",
        "",
        f"{machine['date']} · torch {machine['torch']} · {machine['torch_threads']} threads · "
        f"{machine['cpu_model'] or 'unknown CPU'} · load average (1, 5, 15 min) at start "
        f"{_loads(machine['load_average_at_start'])}, at end {_loads(machine.get('load_average_at_end'))}",
        f"(a load above {machine['cpu_count']} means other processes competed for the cores)",
        "",
        f"- Times: median of {settings['repeats']} rounds after {settings['warmup_rounds']} warm-up rounds, "
        "every contender once per round in a rotating order, one process. fwd = forward under "
        "torch.no_grad(); fwd+bwd = forward + output.sum().backward(), input requiring grad; "
        "tokens/s = B·T / fwd+bwd.",
        f"- {PEAK_NOTE}; {MEMORY_NOTE}.",
        f"- × GRU = fwd+bwd time / {settings['baseline']}'s at the same size; × twin = the same against the "
        "torch.nn layer computing the same function (whose weights the contender loads, and whose output "
        f"it must match within {settings['output_tolerance']:g}).",
    ]
    if "matmul_peak" in report:
        peak = report["matmul_peak"]
        sizes = ", ".join(str(n) for n in peak["sizes"])
        by_backend = "; ".join(f"{_BACKEND_NAMES[name]} " + ", ".join(f"{rate:.1f}" for rate in rates)
                               for name, rates in peak["gflops_per_s_by_backend"].items())
        lines.append(f"- {ROOFLINE_NOTE}: **{peak['gflops_per_s']:.1f} GFLOP/s**, the best float32 (n, n) @ (n, n) "
                     f"over n = {sizes} and over the product libraries ({by_backend} GFLOP/s, each the best of "
                     f"{MATMUL_REPEATS} timings), {peak['threads']} threads.  rnnlab's own kernels multiply with "
                     f"{_BACKEND_NAMES[peak['kernels_backend']]} (rnnlab.cells.matmul).")
    if settings["quick"]:
        lines.append(f"- **Quick mode**: {settings['repeats']} rounds instead of {settings['full_repeats']}: "
                     "expect more noise in the ratios.")
    met = [c["target_met"] for s in report["sizes"] for c in s["contenders"] if c["target"] is not None]
    for size in report["sizes"]:
        lines += ["", f"## {size['label']}", ""]
        if "step_matmul" in size and "matmul_peak" in report:
            step, peak = size["step_matmul"], report["matmul_peak"]["gflops_per_s"]
            b, h, h3 = step["shape"]
            lines += [f"One step's recurrent product of a GRU alone, ({b}, {h}) @ ({h}, {h3}), on "
                      f"{_BACKEND_NAMES[step['backend']]}: "
                      f"{step['gflops_per_s']:.1f} GFLOP/s ({_percent(100 * step['gflops_per_s'] / peak)} % "
                      "of the peak): the rate of the products that must go step by step (the input projection "
                      "and the weight gradients can take all steps at once).", ""]
        lines += ["| contender | fwd ms | fwd+bwd ms | tokens/s | GFLOP/s | % peak | peak MB | saved MB | × GRU "
                  "| × twin | target | ok |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
        for c in size["contenders"]:
            if c["error"] is not None:
                row = [c["name"], f"**FAILED**: {c['error']}".replace("|", "\\|"), "", "", "", "", "", "", "",
                       "", c["target"] or "", "**no**" if c["target"] else ""]
            else:
                verdict = {True: "yes", False: "**no**", None: ""}[c["target_met"]]
                row = [c["name"], _ms(c["fwd_median_s"]), _ms(c["fwd_bwd_median_s"]),
                       f"{c['tokens_per_s']:,.0f}", _gflops(c["gflops_per_s"]),
                       _percent(c["percent_of_matmul_peak"]), _mb(c["peak_bytes"]), _mb(c["saved_bytes"]),
                       _ratio(c["ratio_vs_gru"]), _ratio(c["ratio_vs_twin"]), c["target"] or "", verdict]
            lines.append("| " + " | ".join(row) + " |")
    if "ntm" in report:
        n = report["ntm"]
        met.append(n["target_met"])
        lines += ["", "## NTM training, copy task (lengths 1–20, 8 bits)", "",
                  f"rnnlab.NTM, LSTM controller of {n['controller_size']}, memory {n['memory'][0]} × "
                  f"{n['memory'][1]}, batch {n['batch_size']}: one training step (forward, backward, clipping, "
                  f"Adam) takes {_ms(n['step_median_s'])} ms, **{n['sequences_per_s']:,.0f} sequences/s**; "
                  f"target ≥ {n['target_sequences_per_s']:.0f} ({n['target_ratio']:.0f} × the "
                  f"{n['reference_sequences_per_s']:.0f} sequences/s of a reference implementation training one "
                  f"sequence at a time, measured on this machine): {'yes' if n['target_met'] else '**no**'}."]
        if "ntm_throughput" in report:
            lines += render_throughput(report["ntm_throughput"], n["reference_sequences_per_s"])
    lines += ["", f"Targets met: {sum(m is True for m in met)} of {len(met)}."]
    failed = failures(report)
    if failed:
        lines += ["", f"**{len(failed)} failed**:"] + [f"- {f}" for f in failed]
    lines += ["", f"Wall time: {report['wall_seconds']:.0f} s.", ""]
    return "\n".join(lines)
