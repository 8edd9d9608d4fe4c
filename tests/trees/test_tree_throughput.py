"""The throughput measurement (trees/throughput.py) at tiny sizes: it runs, reports its settings, and level
batching beats the node-by-node loop (the full-size figure, >= 10x at batch 64, is measured by
``rnnlab reproduce recursive``)."""

import pytest

from rnnlab.trees.throughput import measure_throughput


@pytest.mark.parametrize("cell", ["tree_lstm", "child_sum_tree_lstm"])
def test_level_batching_is_faster_than_the_node_loop(cell):
    figures = measure_throughput(cell=cell, batch_size=16, hidden_size=8, min_leaves=8, max_leaves=16,
                                 max_height=6, repeats=2)
    assert figures["cell"] == cell and figures["batch_size"] == 16 and figures["node_loop_kind"] == "fused"
    assert figures["cell_calls"]["level_batching"] == figures["depth"] + 1 <= 7
    assert figures["cell_calls"]["node_loop"] == round(16 * figures["nodes_mean"])
    assert figures["level_batching"] > figures["node_loop"] > 0
    assert figures["speedup"] == pytest.approx(figures["level_batching"] / figures["node_loop"])


def test_literal_node_loop_and_bad_repeats():
    figures = measure_throughput(cell="tree_rnn", batch_size=4, hidden_size=4, min_leaves=2, max_leaves=6,
                                 repeats=1, literal=True)
    assert figures["node_loop_kind"] == "literal" and figures["speedup"] > 0
    with pytest.raises(ValueError, match=r"^measure_throughput: repeats must be >= 1; got 0$"):
        measure_throughput(repeats=0)
