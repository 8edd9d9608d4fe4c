"""Sequential MNIST on tiny IDX directories written here: pixels and rows, scaling and standardisation,
the permutation, the test set as the held-out set, accuracy, and every refusal."""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.config import parse_override
from rnnlab.data import DataError
from rnnlab.tasks import registry
from rnnlab.tasks.base import Batch
from rnnlab.tasks.seq_image import SeqImageTask

FASHION = Path("/usr/share/datasets/fashion-mnist")
H, W = 4, 5  # tiny images


def idx(array: np.ndarray) -> bytes:
    code = 0x08
    return bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape) + \
        array.astype(np.uint8).tobytes()


def directory(root: Path, n_train: int = 30, n_test: int = 12, *, compress: bool = False, **override) -> Path:
    """Training images have pixel (0, 0) < 128, test images >= 128, so that a batch shows where it comes from."""
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (n_train, H, W))
    train[:, 0, 0] = rng.integers(0, 128, n_train)
    test = rng.integers(0, 256, (n_test, H, W))
    test[:, 0, 0] = rng.integers(128, 256, n_test)
    arrays = {"train-images-idx3-ubyte": train, "train-labels-idx1-ubyte": np.arange(n_train) % 10,
              "t10k-images-idx3-ubyte": test, "t10k-labels-idx1-ubyte": (np.arange(n_test) * 3) % 10}
    arrays.update(override)
    for name, array in arrays.items():
        data = idx(np.asarray(array))
        (root / (name + ".gz" if compress else name)).write_bytes(gzip.compress(data) if compress else data)
    return root


def make(root: Path, **config) -> SeqImageTask:
    return SeqImageTask(SeqImageTask.Config(path=str(root), **config))


def test_class_attributes_and_defaults(tmp_path):
    task = make(directory(tmp_path))
    assert registry.get("seq_image") is SeqImageTask
    assert (task.output_kind, task.main_metric, task.main_metric_goal) == ("last", "accuracy", "max")
    assert (task.input_size, task.output_size, task.input_vocab) == (1, 10, None)
    assert make(tmp_path, by="rows").input_size == W
    assert SeqImageTask.Config() == SeqImageTask.Config(path="", by="pixels", normalise="unit", permute=False,
                                                        permutation_seed=0)


def test_the_docstrings_worked_example(tmp_path):
    image = np.array([[[0, 255, 0], [0, 255, 0], [51, 255, 102]]])
    root = directory(tmp_path, **{"train-images-idx3-ubyte": image, "train-labels-idx1-ubyte": np.array([1]),
                                  "t10k-images-idx3-ubyte": image, "t10k-labels-idx1-ubyte": np.array([1])})
    pixels = make(root).sample(1, torch.Generator().manual_seed(0))
    torch.testing.assert_close(pixels.inputs.flatten(), torch.tensor([0, 1, 0, 0, 1, 0, 0.2, 1, 0.4]))
    assert pixels.inputs.shape == (9, 1, 1) and pixels.targets.tolist() == [1]
    rows = make(root, by="rows").eval_set(1, seed=0)[0]
    assert rows.inputs.shape == (3, 1, 3)
    torch.testing.assert_close(rows.inputs[:, 0], torch.tensor([[0, 1, 0], [0, 1, 0], [0.2, 1, 0.4]]))


@pytest.mark.parametrize("compress", [False, True])
def test_pixels_in_scanline_order_and_rows_top_to_bottom(tmp_path, compress):
    root = directory(tmp_path, compress=compress)
    pixels = make(root).sample(8, torch.Generator().manual_seed(2))
    rows = make(root, by="rows").sample(8, torch.Generator().manual_seed(2))
    assert pixels.inputs.shape == (H * W, 8, 1) and rows.inputs.shape == (H, 8, W)
    assert pixels.inputs.dtype == rows.inputs.dtype == torch.float32
    assert pixels.targets.dtype == torch.int64 and pixels.targets.shape == (8,) and pixels.lengths is None
    assert torch.equal(pixels.inputs.reshape(H, W, 8).permute(0, 2, 1), rows.inputs)  # the same images
    assert pixels.inputs.min() >= 0 and pixels.inputs.max() <= 1
    task = make(root)
    for b in range(8):  # each sequence is a training image, scaled by 1/255, with its label
        image = torch.round(pixels.inputs[:, b, 0] * 255).to(torch.uint8).reshape(H, W)
        matches = (task.train_images == image).all(dim=(1, 2)).nonzero().flatten()
        assert len(matches) == 1 and task.train_labels[matches[0]] == pixels.targets[b]


def test_sampling_is_seeded_and_draws_training_images_only(tmp_path):
    task = make(directory(tmp_path))
    a = task.sample(64, torch.Generator().manual_seed(0))
    b = task.sample(64, torch.Generator().manual_seed(0))
    c = task.sample(64, torch.Generator().manual_seed(1))
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)
    assert (a.inputs[0] < 128 / 255).all(), "pixel (0, 0) of every training image is below 128"


def test_eval_set_is_the_test_set_in_order(tmp_path):
    task = make(directory(tmp_path, n_test=1203))
    batches = task.eval_set(5000, seed=0)
    assert [b.inputs.shape[1] for b in batches] == [500, 500, 203]
    assert torch.equal(torch.cat([b.targets for b in batches]), task.test_labels)
    assert all((b.inputs[0] >= 128 / 255).all() for b in batches), "test images only"
    first = task.eval_set(7, seed=1)
    task.sample(3, torch.Generator().manual_seed(1))
    assert torch.equal(first[0].inputs, task.eval_set(7, seed=2)[0].inputs)
    assert torch.equal(first[0].inputs, batches[0].inputs[:, :7])


def test_standardisation_uses_the_training_pixels(tmp_path):
    task = make(directory(tmp_path), normalise="standard")
    pixels = task.train_images.double() / 255
    assert task.mean == pytest.approx(pixels.mean().item(), rel=1e-9)
    assert task.std == pytest.approx(pixels.std(unbiased=False).item(), rel=1e-9)
    unit = make(tmp_path).sample(5, torch.Generator().manual_seed(0))
    standard = task.sample(5, torch.Generator().manual_seed(0))
    torch.testing.assert_close(standard.inputs, (unit.inputs - task.mean) / task.std)


def test_the_permutation_is_fixed_by_its_seed(tmp_path):
    root = directory(tmp_path)
    plain = make(root).eval_set(12, seed=0)[0].inputs  # (H·W, 12, 1)
    permuted = make(root, permute=True).eval_set(12, seed=0)[0].inputs
    task = make(root, permute=True)
    assert sorted(task.permutation.tolist()) == list(range(H * W))
    assert torch.equal(permuted, plain[task.permutation])
    assert torch.equal(make(root, permute=True, by="rows").eval_set(12, seed=0)[0].inputs,
                       permuted.reshape(H, W, 12).permute(0, 2, 1))
    assert not torch.equal(make(root, permute=True, permutation_seed=1).permutation, task.permutation)


def test_metrics_on_hand_made_logits(tmp_path):
    task = make(directory(tmp_path))
    batch = Batch(inputs=torch.zeros(H * W, 3, 1), targets=torch.tensor([3, 0, 9]), lengths=None)
    outputs = torch.zeros(3, 10)
    outputs[0, 3] = outputs[1, 5] = outputs[2, 9] = 4.0
    got = task.metrics(outputs, batch)
    assert got["accuracy"] == pytest.approx(2 / 3) and got["count"] == 3
    assert got["loss"] == pytest.approx(torch.nn.functional.cross_entropy(outputs, batch.targets).item())
    uniform = task.metrics(torch.zeros(3, 10), batch)
    assert uniform["loss"] == pytest.approx(np.log(10))
    assert task.loss(outputs, batch).shape == ()


@pytest.mark.parametrize("field, value, message", [
    ("path", "", "path is required: a directory holding the IDX files train-images-idx3-ubyte"),
    ("by", "columns", "by must be one of pixels, rows; got 'columns'"),
    ("normalise", "zscore", "normalise must be one of unit, standard; got 'zscore'"),
    ("permute", 1, "permute must be true or false; got 1"),
    ("permutation_seed", -2, "permutation_seed must be an int >= 0; got -2"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    config = {"path": "/never/read", field: value}
    with pytest.raises(ValueError, match=re.escape(f"seq_image task: {message}")):
        SeqImageTask(SeqImageTask.Config(**config))


def test_data_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'none'}: does not exist")):
        make(tmp_path / "none")
    root = directory(tmp_path)
    (root / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=re.escape(f"{root}: holds neither t10k-labels-idx1-ubyte nor "
                                                  f"t10k-labels-idx1-ubyte.gz")):
        make(root)


@pytest.mark.parametrize("override, file, message", [
    ({"train-labels-idx1-ubyte": np.arange(29) % 10}, "train-labels-idx1-ubyte",
     "holds 29 labels, but {root}/train-images-idx3-ubyte holds 30 images"),
    ({"t10k-labels-idx1-ubyte": np.array([1] * 5 + [12] + [0] * 6)}, "t10k-labels-idx1-ubyte",
     "label 12 of item 5 is not a class 0..9"),
    ({"t10k-images-idx3-ubyte": np.zeros((12, 5, 4))}, "t10k-images-idx3-ubyte",
     "holds images of 5×4 pixels, the training images ({root}/train-images-idx3-ubyte) are 4×5"),
    ({"train-images-idx3-ubyte": np.zeros((0, H, W)), "train-labels-idx1-ubyte": np.zeros(0)},
     "train-images-idx3-ubyte", "holds no images"),
])
def test_inconsistent_files_are_named(tmp_path, override, file, message):
    root = directory(tmp_path, **override)
    with pytest.raises(DataError, match="^" + re.escape(f"{root / file}: {message.format(root=root)}")):
        make(root)


def test_standardising_constant_images_is_refused(tmp_path):
    root = directory(tmp_path, **{"train-images-idx3-ubyte": np.full((30, H, W), 7)})
    with pytest.raises(DataError, match=re.escape("every training pixel has the same value: cannot standardise")):
        make(root, normalise="standard")


def test_the_command_line_can_set_the_directory():
    assert parse_override("task.path=/usr/share/datasets/fashion-mnist", "seq_image") == \
        ("task", "path", "/usr/share/datasets/fashion-mnist")
    assert parse_override("task.by=rows", "seq_image") == ("task", "by", "rows")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_if_installed():
    task = SeqImageTask(SeqImageTask.Config(path=str(FASHION), normalise="standard", by="rows"))
    assert task.train_images.shape == (60_000, 28, 28) and task.test_images.shape == (10_000, 28, 28)
    assert (task.mean, task.std) == (pytest.approx(0.2860, abs=1e-4), pytest.approx(0.3530, abs=1e-4))
    batch = task.sample(16, torch.Generator().manual_seed(0))
    assert batch.inputs.shape == (28, 16, 28)
