"""Pictures of the NTM: plot_trace from hand-made arrays, the locations it shows, NTM.figures on a copy batch."""

import re

import numpy as np
import pytest
import torch

from rnnlab.memory import NTM, pictures
from rnnlab.memory.pictures import plot_trace, shown_locations
from rnnlab.tasks.copy import CopyTask

PNG = b"\x89PNG"


def copy_trace(length=3, bits=4, slots=8):
    """A perfect copy of ``length`` vectors by hand: (inputs, targets, outputs, scored, write, read)."""
    steps = 2 * length + 1
    vectors = np.random.default_rng(0).integers(0, 2, (length, bits)).astype(float)
    inputs = np.zeros((steps, bits + 1))
    inputs[:length, :bits], inputs[length, bits] = vectors, 1.0
    targets = np.zeros((steps, bits))
    targets[length + 1 :] = vectors
    scored = np.arange(steps) > length
    write, read = np.zeros((steps, 1, slots)), np.zeros((steps, 1, slots))
    for t in range(steps):
        write[t, 0, min(t, length)] = 1.0
        read[t, 0, max(t - length - 1, 0)] = 1.0
    return inputs, targets, 0.1 + 0.8 * targets, scored, write, read


def test_plot_trace_writes_a_png_from_hand_made_arrays(tmp_path):
    path = plot_trace(*copy_trace(), tmp_path / "trace.png", "a copy of 3 vectors")
    assert path == tmp_path / "trace.png" and path.read_bytes()[:4] == PNG


def test_plot_trace_takes_tensors_several_heads_and_no_targets(tmp_path):
    inputs, _, outputs, _, write, read = map(torch.as_tensor, copy_trace(length=2))
    two_heads = torch.cat([read, read.roll(1, dims=2)], dim=1)  # (T, 2, N)
    path = plot_trace(inputs, None, outputs, None, two_heads, two_heads, tmp_path / "heads.png")
    assert path.read_bytes()[:4] == PNG


def test_plot_trace_draws_signed_add_and_read_vectors_beside_the_weightings(tmp_path):
    inputs, targets, outputs, scored, write, read = copy_trace()
    rng = np.random.default_rng(1)
    adds, reads = np.tanh(rng.normal(size=(7, 1, 5))), rng.normal(size=(7, 1, 5)) * 3
    path = plot_trace(inputs, targets, outputs, scored, write, read, tmp_path / "vectors.png", adds=adds, reads=reads)
    assert path.read_bytes()[:4] == PNG
    with pytest.raises(ValueError, match=re.escape("plot_trace expects adds for the 1 write heads of the "
                                                   "weightings; got 2")):
        plot_trace(inputs, targets, outputs, scored, write, read, tmp_path / "bad.png",
                   adds=np.zeros((7, 2, 5)))
    with pytest.raises(ValueError, match=re.escape("plot_trace expects every argument over the same T = 7 steps "
                                                   "as inputs; reads has 6")):
        plot_trace(inputs, targets, outputs, scored, write, read, tmp_path / "bad.png", reads=reads[:-1])


def test_plot_trace_draws_a_long_copy_on_a_large_memory(tmp_path):
    """T = 241 steps (copy of 120, the paper's longest) on N = 256 locations, of which 121 are used."""
    path = plot_trace(*copy_trace(length=120, bits=8, slots=256), tmp_path / "long.png")
    assert path.read_bytes()[:4] == PNG


@pytest.mark.parametrize("used, slots, max_slots, expected", [
    ([0, 3], 8, 8, (0, 7)),  # N <= max_slots: every location
    ([5, 9], 64, 8, (5, 9)),  # the span of the used locations fits
    ([2, 40], 64, 8, (0, 7)),  # it does not: the first max_slots
    ([], 64, 8, (0, 7)),  # nothing used (a diffuse weighting)
])
def test_shown_locations(used, slots, max_slots, expected):
    weights = np.full((3, 2, slots), pictures.USED_WEIGHT / 2)  # (T, H, N)
    weights[1, 0, used] = 0.5
    assert shown_locations(weights, max_slots) == expected


def test_plot_trace_refuses_arrays_of_different_lengths(tmp_path):
    inputs, targets, outputs, scored, write, read = copy_trace()
    with pytest.raises(ValueError, match=re.escape("plot_trace expects every argument over the same T = 7 steps "
                                                   "as inputs; read_weights has 6")):
        plot_trace(inputs, targets, outputs, scored, write, read[:-1], tmp_path / "bad.png")
    with pytest.raises(ValueError, match=re.escape("plot_trace expects write_weights with 3 dimensions; got "
                                                   "shape (7, 8)")):
        plot_trace(inputs, targets, outputs, scored, write[:, 0], read, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def tiny_copy():
    """An untrained NTM (4 locations) and a copy batch of 3 sequences of 1-3 vectors of 3 bits."""
    task = CopyTask(CopyTask.Config(bits=3, min_length=1, max_length=3))
    batch = task.sample(3, torch.Generator().manual_seed(2))
    torch.manual_seed(0)
    model = NTM(task.input_size, task.output_size, controller_size=5, memory_slots=4, memory_width=3)
    return model, batch


@pytest.mark.parametrize("training", [True, False])
def test_ntm_figures_writes_the_trace_and_keeps_the_mode(tmp_path, training):
    model, batch = tiny_copy()
    model.train(training)
    paths = model.figures(batch, tmp_path / "plots")
    assert paths == [tmp_path / "plots" / "ntm_trace.png"]
    assert paths[0].read_bytes()[:4] == PNG
    assert model.training is training


def test_ntm_figures_draws_the_first_sequence_up_to_its_length(tmp_path, monkeypatch):
    model, batch = tiny_copy()
    assert batch.lengths is not None and int(batch.lengths[0]) < batch.inputs.shape[0]  # padded: the case
    seen = {}
    monkeypatch.setattr(pictures, "plot_trace", lambda *args, **kwargs: seen.update(args=args, kwargs=kwargs) or args[-2])
    assert model.figures(batch, tmp_path, name="first") == [tmp_path / "first.png"]
    inputs, targets, outputs, scored, write, read, path, title = seen["args"]
    steps = int(batch.lengths[0])
    torch.testing.assert_close(inputs, batch.inputs[:steps, 0])
    torch.testing.assert_close(targets, batch.targets[:steps, 0, :3])  # the bits, not the scored flag
    assert scored.tolist() == (batch.targets[:steps, 0, 3] == 1).tolist()
    model.eval()
    with torch.no_grad():
        y, _, trace = model(batch.inputs[:steps, :1], return_weights=True)
    torch.testing.assert_close(outputs, torch.sigmoid(y[:, 0]))
    torch.testing.assert_close(write, trace.write_weights[:, 0])
    torch.testing.assert_close(read, trace.read_weights[:, 0])
    torch.testing.assert_close(seen["kwargs"]["adds"], trace.adds[:, 0])
    torch.testing.assert_close(seen["kwargs"]["reads"], trace.reads[:, 0])
    assert f"{steps} steps" in title


def sorted_by_hand(priorities, slots=32, shuffle_writes=False):
    """Write weightings (N, 2, S) that put each vector at a location falling with its priority, split over two
    heads; reads (K, 1, S) that walk those locations from the highest priority down."""
    n = len(priorities)
    rank = np.argsort(np.argsort(-priorities))  # 0 for the highest priority
    locations = 4 + 2 * rank
    if shuffle_writes:
        locations = locations[np.random.default_rng(0).permutation(n)]
    write = np.zeros((n, 2, slots))
    write[np.arange(n), 0, locations], write[np.arange(n), 1, locations] = 0.7, 0.2
    write[:, 1, 0] = 0.1  # a little weight elsewhere, never the most
    read = np.zeros((n - 1, 1, slots))
    read[np.arange(n - 1), 0, 4 + 2 * np.arange(n - 1)] = 1.0
    return write, read, locations


def test_placement_finds_the_locations_and_ranks_them_against_the_priorities():
    priorities = np.array([0.3, -0.6, 0.9, -0.1, 0.5])
    write, read, locations = sorted_by_hand(priorities)
    found = pictures.placement(priorities, write, read)
    assert found["write_locations"].tolist() == locations.tolist() == [8, 12, 4, 10, 6]
    assert found["read_locations"].tolist() == [4, 6, 8, 10]
    assert found["priority_rank_correlation"] == pytest.approx(-1.0)  # higher priority, lower location
    assert found["read_order_correlation"] == pytest.approx(1.0)
    assert found["expected_reads"].tolist() == [4, 6, 8, 10] and found["reads_in_priority_order"] == 1.0
    shuffled = pictures.placement(priorities, *sorted_by_hand(priorities, shuffle_writes=True)[:2])
    assert abs(shuffled["priority_rank_correlation"]) < 0.95
    assert pictures.placement(priorities, np.ones_like(write), read)["priority_rank_correlation"] == 0.0  # constant
    with pytest.raises(ValueError, match=re.escape("placement expects write weightings at the 5 input steps; got 4")):
        pictures.placement(priorities, write[:4], read)
    with pytest.raises(ValueError, match=re.escape("placement expects at most 5 answer steps (one per input); got 6")):
        pictures.placement(priorities, write, np.zeros((6, 1, 32)))


def test_placement_recognises_writes_in_arrival_order_read_back_by_priority():
    """The other way to sort: write vector t at location 10 + t, then let a second read head find the vectors by
    priority (the first reads a fixed location): no rank correlation of the writes, every read found."""
    priorities = np.array([0.3, -0.6, 0.9, -0.1, 0.5])
    write = np.zeros((5, 1, 32))
    write[np.arange(5), 0, 10 + np.arange(5)] = 1.0
    read = np.zeros((3, 2, 32))
    read[:, 0, 1] = 0.9  # a head that reads one place throughout
    read[np.arange(3), 1, [12, 14, 10]] = 0.8  # priorities 0.9, 0.5, 0.3: written at steps 2, 4, 0
    found = pictures.placement(priorities, write, read)
    assert found["expected_reads"].tolist() == [12, 14, 10] and found["reads_in_priority_order"] == 1.0
    assert found["read_locations"].tolist() == [1, 1, 1]  # the heads summed peak at the fixed head's place
    # priority ranks 2, 0, 4, 1, 3 against locations 0 ... 4: Σd² = 14, ρ = 1 − 6·14 / (5·24)
    assert found["priority_rank_correlation"] == pytest.approx(0.3)
    read[2, 1, 10], read[2, 1, 11] = 0.0, 0.8  # the last read one place off
    assert pictures.placement(priorities, write, read)["reads_in_priority_order"] == pytest.approx(2 / 3)


def test_plot_priority_sort_writes_a_png(tmp_path):
    priorities = np.random.default_rng(2).uniform(-1, 1, 20)
    write, read, _ = sorted_by_hand(priorities, slots=64)
    path = pictures.plot_priority_sort(torch.as_tensor(priorities), write, read, tmp_path / "sort.png", "by hand")
    assert path.read_bytes()[:4] == PNG
