"""rnnlab.bench in-process, at tiny sizes: what is measured, what is written, what is reported."""

import json

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import rnnlab
from rnnlab import bench
from rnnlab.bench import Contender, Size, Target

TINY = [Size(batch=2, steps=3, input_size=2, hidden_size=4)]
TINY_NTM = {"batch_size": 4, "memory_slots": 8, "memory_width": 4, "controller_size": 8, "batch_sizes": (1, 4),
            "threads": (1,)}
TINY_MATMUL = (32, 64)  # the peak's (n, n) @ (n, n): small, the tests check the arithmetic, not the machine


def test_run_bench_writes_json_and_markdown_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "new" / "dir"  # created, parents too
    report = bench.run_bench(out, sizes=TINY, repeats=2, ntm=TINY_NTM, matmul_sizes=TINY_MATMUL)

    printed = capsys.readouterr().out
    assert (out / "bench.md").read_text() == printed
    assert json.loads((out / "bench.json").read_text()) == json.loads(json.dumps(report))
    for key in ("date", "torch", "torch_threads", "cpu_model", "load_average_at_start", "load_average_at_end"):
        assert key in report["machine"]
    assert report["settings"]["repeats"] == 2 and report["settings"]["memory"] == f"{bench.PEAK_NOTE}; {bench.MEMORY_NOTE}"

    matmul = report["matmul_peak"]
    peak = matmul["gflops_per_s"]
    assert matmul["sizes"] == [32, 64] and peak == max(matmul["gflops_per_s_by_size"]) > 0
    assert matmul["gflops_per_s_by_size"][matmul["sizes"].index(matmul["best_size"])] == peak
    assert matmul["threads"] == torch.get_num_threads()
    assert set(matmul["gflops_per_s_by_backend"]) == set(bench.matmul.available_backends())
    for i in range(2):  # each size's rate is its best backend's
        assert matmul["gflops_per_s_by_size"][i] == max(r[i] for r in matmul["gflops_per_s_by_backend"].values())
    best = matmul["sizes"].index(matmul["best_size"])
    assert matmul["gflops_per_s_by_backend"][matmul["best_backend"]][best] == peak
    assert matmul["kernels_backend"] == bench.matmul.backend()
    assert f"**{peak:.1f} GFLOP/s**, the best float32 (n, n) @ (n, n) over n = 32, 64 and over the product " \
           "libraries (" in printed

    [size] = report["sizes"]
    assert size["step_matmul"]["shape"] == [2, 4, 12] and size["step_matmul"]["gflops_per_s"] > 0
    assert size["step_matmul"]["backend"] == "blas"  # (2, 4) @ (4, 12): far too small for oneDNN's call cost
    assert (size["batch"], size["steps"], size["input_size"], size["hidden_size"]) == tuple(TINY[0])
    results = {c["name"]: c for c in size["contenders"]}
    assert list(results) == [c.name for c in bench.default_contenders()]
    for name, result in results.items():
        assert result["error"] is None, (name, result["error"])
        assert len(result["fwd_s"]) == len(result["fwd_bwd_s"]) == 2
        assert result["fwd_bwd_median_s"] > 0 and result["saved_bytes"] > 0
        assert result["peak_bytes"] >= result["saved_bytes"]  # the peak holds what autograd saved, and more
        assert result["tokens_per_s"] == pytest.approx(2 * 3 / result["fwd_bwd_median_s"])
        assert result["gflops_per_s"] == pytest.approx(result["flops"] / result["fwd_bwd_median_s"] / 1e9)
        assert result["percent_of_matmul_peak"] == pytest.approx(100 * result["gflops_per_s"] / peak)
        assert f"| {name} |" in printed
    assert results["torch.nn.GRU"]["ratio_vs_gru"] == 1.0
    gru = results["torch.nn.GRU"]
    assert gru["flops"] == 6 * 2 * 3 * 12 * (2 + 4)  # 6·B·T·3H·(I + H)
    header = printed.split("\n| contender |")[1].split("\n")[0]
    assert header.startswith(" fwd ms | fwd+bwd ms | tokens/s | GFLOP/s | % peak | peak MB |")
    assert f"| {gru['tokens_per_s']:,.0f} | {bench._gflops(gru['gflops_per_s'])} | " \
           f"{bench._percent(gru['percent_of_matmul_peak'])} |" in printed
    lstm = results["rnnlab.LSTM"]
    torch_lstm = results["torch.nn.LSTM"]
    assert lstm["ratio_vs_twin"] == pytest.approx(lstm["fwd_bwd_median_s"] / torch_lstm["fwd_bwd_median_s"])
    assert lstm["target"] == "≤ 1.1× torch.nn.LSTM" and lstm["target_met"] == (lstm["ratio_vs_twin"] <= 1.1)
    assert lstm["max_abs_diff_vs_twin"] <= bench.OUTPUT_TOLERANCE
    assert "saved MB = activations kept for backward" in printed and "peak MB = the most memory" in printed
    assert "Quick mode" not in printed


def test_default_contenders_and_their_targets():
    contenders = {c.name: c for c in bench.default_contenders()}
    others = [n for n in rnnlab.cells.available() if n not in ("elman_tanh", "lstm", "gru")]
    assert list(contenders) == (["torch.nn.RNN", "torch.nn.LSTM", "torch.nn.GRU", "rnnlab.RNN", "rnnlab.LSTM",
                                 "rnnlab.GRU"] + [f"Recurrent('{n}')" for n in others] + ["plain loop ('gru')"])
    assert contenders["rnnlab.GRU"].target == Target("torch.nn.GRU", 0.9)
    assert contenders["rnnlab.LSTM"].target == Target("torch.nn.LSTM", 1.1)
    for name in ["rnnlab.RNN"] + [f"Recurrent('{n}')" for n in others]:
        assert contenders[name].target == Target("torch.nn.GRU", 1.0)
    plain = contenders["plain loop ('gru')"].build(2, 3)
    assert plain.cell_name == "gru" and plain.fast_paths is False


def test_the_flop_count_of_an_elman_layer_by_hand():
    size = Size(batch=2, steps=7, input_size=3, hidden_size=5)
    # W_ih (5, 3) and W_hh (5, 5) at each of 7 steps of a batch of 2: forward 2·2·7·5·(3 + 5) = 1,120,
    # backward twice that (the operand's gradient and the weight's): 3,360
    for layer in (rnnlab.Recurrent("elman_tanh", 3, 5), rnnlab.RNN(3, 5), nn.RNN(3, 5), nn.RNN(3, 5, bias=False)):
        assert bench.matmul_flops(layer, size) == 3360
    assert bench.matmul_flops(nn.GRU(3, 5), size) == 3 * 3360 and bench.matmul_flops(nn.LSTM(3, 5), size) == 4 * 3360
    assert bench.matmul_flops(rnnlab.Recurrent("gru1", 3, 5), size) == 6 * 2 * 7 * (5 * 3 + 15 * 5)  # gates read h only
    assert bench.matmul_flops(rnnlab.Recurrent("lstm1997", 3, 5, peepholes=True), size) == \
        bench.matmul_flops(rnnlab.Recurrent("lstm1997", 3, 5), size)  # peepholes are element-wise


def _counted(layer, steps: int, batch: int, input_size: int) -> int:
    """torch's own count of the matrix-product FLOPs of one forward+backward of ``layer``."""
    x = torch.randn(steps, batch, input_size, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        y, _ = layer(x)
        y.sum().backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("cell", rnnlab.cells.available())
def test_the_flop_count_agrees_with_torchs_flop_counter_on_the_step_by_step_loop(cell):
    """Every step adds what the rule says; in all, the rule counts at most the first step's ∂L/∂h_0 more
    (h_0 needs no gradient, and autograd skips it)."""
    B, I, H = 2, 3, 5
    layer = rnnlab.Recurrent(cell, I, H)
    layer.fast_paths = False  # the per-step products, which the counter sees (fused kernels hide theirs)
    short, long = _counted(layer, 3, B, I), _counted(layer, 4, B, I)
    rule = [bench.matmul_flops(layer, Size(B, steps, I, H)) for steps in (3, 4)]
    assert long - short == rule[1] - rule[0] > 0
    recurrent = sum(p.numel() for name, p in layer.named_parameters() if name.endswith("weight_hh"))
    assert 0 <= rule[0] - short <= 2 * B * recurrent


def test_the_matmul_rate_is_the_flops_of_a_product_over_its_best_time(monkeypatch):
    clock = iter([0.0, 0.01,  # the first product: 10 ms, so 2 products make one timing of >= 20 ms
                  1.0, 1.05, 2.0, 2.03, 3.0, 3.04])  # three timings of 2 products: the best is 30 ms
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(clock))
    assert bench.matmul_rate(4, 5, 6, repeats=3) == pytest.approx(2 * 4 * 5 * 6 / 0.015)


def test_the_sizes_are_the_issues():
    assert [tuple(s) for s in bench.SIZES] == [(64, 100, 128, 256), (32, 200, 64, 128), (16, 784, 1, 100),
                                              (64, 50, 512, 512)]


class _TanhLayer(nn.Module):
    """y = tanh(x W); then the product of its first two steps, which saves two views of y."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(2, 5))

    def forward(self, x):
        y = torch.tanh(x @ self.weight)  # (T, B, 5); tanh saves y, matmul saves x and the weight
        return y[0] * y[1], None  # mul saves views of y: no new storage


def test_saved_bytes_counts_activations_once_and_not_parameters_or_input():
    x = torch.randn(3, 4, 2, requires_grad=True)
    saved, y = bench.saved_bytes(_TanhLayer(), x)
    assert saved == 3 * 4 * 5 * 4  # y alone, float32
    assert y.shape == (4, 5) and not y.requires_grad


class _Shifted(nn.GRU):
    def forward(self, x):
        y, h = super().forward(x)
        return y + 1, h


def _broken(input_size, hidden_size):
    raise ValueError("cannot build\nsecond line")


def test_failing_and_wrong_contenders_are_reported_not_hidden(tmp_path, capsys):
    contenders = [Contender("torch.nn.GRU", nn.GRU),
                  Contender("broken", _broken, target=Target("torch.nn.GRU", 1.0)),
                  Contender("shifted", _Shifted, twin="torch.nn.GRU"),
                  Contender("orphan", nn.GRU, twin="broken")]
    report = bench.run_bench(tmp_path, sizes=TINY, repeats=1, contenders=contenders, ntm=False,
                             matmul_sizes=TINY_MATMUL)
    results = {c["name"]: c for c in report["sizes"][0]["contenders"]}
    assert results["torch.nn.GRU"]["error"] is None
    assert results["broken"]["error"] == "ValueError: cannot build"
    assert results["broken"]["target_met"] is None and results["broken"]["fwd_s"] == []
    assert results["shifted"]["error"].startswith("AssertionError: output differs from torch.nn.GRU's by 1")
    assert results["orphan"]["error"] == "RuntimeError: its twin broken is not among the contenders or failed"
    assert bench.failures(report) == [f"B=2 T=3 I=2 H=4: {n}: {results[n]['error']}" for n in
                                      ("broken", "shifted", "orphan")]
    printed = capsys.readouterr().out
    assert "| broken | **FAILED**: ValueError: cannot build |" in printed
    assert "**3 failed**" in printed and "Targets met: 0 of 1." in printed


def test_the_ntm_training_throughput_is_measured_and_reported(tmp_path, capsys):
    report = bench.run_bench(tmp_path, sizes=[], repeats=2, ntm=TINY_NTM, matmul_sizes=TINY_MATMUL)
    ntm = report["ntm"]
    assert ntm["batch_size"] == 4 and ntm["memory"] == [8, 4]
    assert ntm["sequences_per_s"] == pytest.approx(4 / ntm["step_median_s"])
    assert ntm["target_sequences_per_s"] == 650 and ntm["target_met"] == (ntm["sequences_per_s"] >= 650)
    printed = capsys.readouterr().out
    assert "## NTM training, copy task (lengths 1–20, 8 bits)" in printed
    assert f"**{ntm['sequences_per_s']:,.0f} sequences/s**" in printed
    assert "50 × the 13 sequences/s" in printed
    grid = report["ntm_throughput"]  # sequences/s against batch size and threads
    assert [(row["threads"], row["batch_size"]) for row in grid["rows"]] == [(1, 1), (1, 4)]
    assert all(row["sequences_per_s"] == pytest.approx(row["batch_size"] / row["step_median_s"]) for row in grid["rows"])
    assert "### NTM training throughput against batch size and threads" in printed
