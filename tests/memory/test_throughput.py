"""The NTM's throughput table for rnnlab bench: every thread count and batch size measured, rendered, threads restored."""

import torch

from rnnlab.memory.throughput import measure_throughput, render_throughput


def test_every_batch_size_and_thread_count_is_measured_and_rendered():
    before = torch.get_num_threads()
    # one thread only: two threads on a machine shared with other jobs wait on each other for seconds
    report = measure_throughput(1, batch_sizes=(1, 3), threads=(1,), memory_slots=8, memory_width=4,
                                controller_size=5)
    assert torch.get_num_threads() == before
    assert [(r["threads"], r["batch_size"]) for r in report["rows"]] == [(1, 1), (1, 3)]
    report["rows"] += [{**r, "threads": 2} for r in report["rows"]]  # as if measured with two threads
    for r in report["rows"]:
        assert r["step_median_s"] > 0 and r["sequences_per_s"] == r["batch_size"] / r["step_median_s"]
    lines = render_throughput(report, reference_sequences_per_s=13.0)
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == 4  # the header, its rule and one row per batch size
    assert table[0] == ("| batch | 1 thread: ms/step, sequences/s (× ref.) | 2 threads: ms/step, sequences/s "
                        "(× ref.) |")
    assert table[3].startswith("| 3 | ") and table[3].count("×)") == 2
    assert "13 sequences/s of the one-sequence reference" in "\n".join(lines)
    assert "× ref." not in "\n".join(render_throughput(report))
