"""Sequential images: classify an MNIST-family image read one pixel, or one row, at a time.

Le, Jaitly & Hinton (2015), "A simple way to initialize recurrent networks of rectified
linear units", arXiv:1504.00941, section 4.2: "the networks read one pixel at a time in
scanline order (i.e. starting at the top left corner of the image, and ending at the
bottom right corner)", 784 steps of one input, and a 10-way classification at the end;
the permuted variant applies one fixed random permutation to the pixels of every image.
Reading one row of 28 pixels per step (28 steps of 28 inputs) is the classic setting of
the TensorFlow and Keras tutorials (e.g. Damien, TensorFlow-Examples,
``recurrent_network.py``: "we consider every image row as a sequence of pixels").

The images come from a directory of IDX files by their standard names
(``rnnlab.data.idx``): MNIST (LeCun et al. 1998), or Fashion-MNIST (Xiao, Rasul &
Vollgraf 2017), which Debian's dataset-fashion-mnist installs in
/usr/share/datasets/fashion-mnist.  The training files (60,000 images) are the training
split; the test files (t10k, 10,000 images) are the held-out set.

* pixels are scaled to [0, 1] (value / 255), as in the Keras reproduction of the paper
  (``examples/mnist_irnn.py``); with ``normalise`` = "standard" they are then shifted and
  scaled by the mean and the standard deviation of every training pixel (one number each,
  0.1307 and 0.3081 for MNIST), the usual standardisation of the PyTorch examples;
* with ``permute`` the pixels of every image are reordered by one permutation of H·W,
  drawn from ``permutation_seed`` (the permuted task; rows are then rows of the
  permuted image);
* ``by`` = "pixels": inputs (H·W, B, 1), one pixel a step in scanline order;
  ``by`` = "rows": inputs (H, B, W), one row a step, top to bottom;
* targets are (B,) int64 classes 0..9; ``lengths`` is None (every image has all its steps);
* a training batch is B images drawn uniformly, with replacement, from the training
  files; ``eval_set(size, seed)`` is the first min(size, N_test) test images in file
  order, in batches of at most 500, the same whatever the seed.

The images stay uint8 in memory (47 MB for 60,000) and become float32 one batch at a time.

Metrics: ``loss``, the mean cross-entropy, and ``accuracy``, the fraction of images whose
largest logit is the true class (the paper reports the test accuracy).

Worked example, a 3×3 image of class 1 (MNIST's are 28×28: 784 steps of 1, or 28 of 28):

    pixels (uint8)      0  255    0
                        0  255    0
                       51  255  102

    by = "pixels"   9 steps of 1:   0, 1, 0,  0, 1, 0,  0.2, 1, 0.4
    by = "rows"     3 steps of 3:   [0, 1, 0], [0, 1, 0], [0.2, 1, 0.4]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..data.errors import DataError
from ..data.idx import find_idx_files, read_labelled_images
from .base import EVAL_BATCH_SIZE, Batch, _check_int, check_config_int
from .classification import ClassificationTask
from .registry import register

CLASSES = 10  # MNIST's digits 0..9; Fashion-MNIST's ten kinds of clothing
READ_BY = ("pixels", "rows")
NORMALISATIONS = ("unit", "standard")
_MAX_LEVEL = 255.0  # the largest uint8 pixel value


@register
class SeqImageTask(ClassificationTask):
    """Sequential MNIST (Le, Jaitly & Hinton 2015): classify an image read pixel by pixel (or row by row).

    Inputs (784, B, 1) pixels or (28, B, 28) rows, targets (B,) classes 0..9; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of sequential MNIST; the defaults are the paper's pixel-by-pixel task."""

        path: str = ""  # required: a directory with the IDX files (e.g. /usr/share/datasets/fashion-mnist)
        by: str = "pixels"  # pixels: H·W steps of 1 (the paper) | rows: H steps of W (the tutorials)
        normalise: str = "unit"  # unit: pixel / 255 in [0, 1] | standard: then (x - mean) / std of the training pixels
        permute: bool = False  # reorder every image's pixels by one fixed random permutation (permuted MNIST)
        permutation_seed: int = 0  # seeds that permutation

    name = "seq_image"

    @classmethod
    def recommendations(cls, model: str, settings) -> dict:
        """By rows (28 steps): batches of 128 for 10,000 steps (README: 0.896).  By pixels (784 steps): the
        pixels standardised, Adam 3e-4, batches of 64 and, for the LSTM, forget gates open (bias 1); at
        1e-3 with unscaled pixels it fell back to chance.  Both score the whole test set."""
        if settings.get("by", cls.Config.by) == "rows":
            return {"train.batch_size": 128, "train.steps": 10_000, "train.eval_size": 10_000}
        return {"task.normalise": "standard", "train.batch_size": 64, "train.lr": 3e-4, "train.eval_size": 10_000,
                **({"model.options": {"forget_bias": 1.0}} if model == "lstm" else {})}
    output_size = CLASSES

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)  # validates
        self._load()

    def validate(self, config: Config) -> None:
        if not isinstance(config.path, str) or not config.path:
            raise ValueError(f"{self.name} task: path is required: a directory holding the IDX files "
                             f"train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                             f"t10k-labels-idx1-ubyte (or .gz), e.g. --set task.path=/usr/share/datasets/fashion-mnist;"
                             f" got {config.path!r}")
        if config.by not in READ_BY:
            raise ValueError(f"{self.name} task: by must be one of {', '.join(READ_BY)}; got {config.by!r}")
        if config.normalise not in NORMALISATIONS:
            raise ValueError(f"{self.name} task: normalise must be one of {', '.join(NORMALISATIONS)}; "
                             f"got {config.normalise!r}")
        if not isinstance(config.permute, bool):
            raise ValueError(f"{self.name} task: permute must be true or false; got {config.permute!r}")
        check_config_int(self.name, "permutation_seed", config.permutation_seed, minimum=0)

    def _load(self) -> None:
        c = self.config
        files = find_idx_files(c.path)
        self.train_images, self.train_labels = read_labelled_images(files.train_images, files.train_labels)
        self.test_images, self.test_labels = read_labelled_images(files.test_images, files.test_labels)
        # (N, H, W) uint8 and (N,) int64, for each split
        if self.test_images.shape[1:] != self.train_images.shape[1:]:
            size = "×".join(map(str, self.train_images.shape[1:]))
            raise DataError(files.test_images, f"holds images of {self.test_images.shape[1]}×"
                                               f"{self.test_images.shape[2]} pixels, the training images "
                                               f"({files.train_images}) are {size}")
        for labels, path in ((self.train_labels, files.train_labels), (self.test_labels, files.test_labels)):
            if len(labels) and int(labels.max()) >= CLASSES:
                i = int((labels >= CLASSES).nonzero()[0])
                raise DataError(path, f"label {int(labels[i])} of item {i} is not a class 0..{CLASSES - 1}")
        if len(self.train_images) == 0 or len(self.test_images) == 0:
            empty = files.train_images if len(self.train_images) == 0 else files.test_images
            raise DataError(empty, "holds no images")
        _, H, W = self.train_images.shape
        self.input_size = 1 if c.by == "pixels" else W
        self.permutation = (torch.randperm(H * W, generator=torch.Generator().manual_seed(c.permutation_seed))
                            if c.permute else None)  # (H·W,) or None
        self.mean, self.std = 0.0, 1.0
        if c.normalise == "standard":
            self.mean, self.std = _pixel_mean_and_std(self.train_images)
            if self.std == 0:
                raise DataError(files.train_images, "every training pixel has the same value: cannot standardise "
                                                    "(normalise = \"unit\" would work)")

    # ---- batches -----------------------------------------------------------------------------

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        picks = torch.randint(0, len(self.train_images), (batch_size,), generator=generator)  # (B,)
        return Batch(inputs=self.sequences(self.train_images[picks]), targets=self.train_labels[picks], lengths=None)

    def eval_set(self, size: int, seed: int) -> list[Batch]:
        """The first min(``size``, N_test) test images, in batches of at most 500; ``seed`` changes
        nothing (the test set is fixed)."""
        _check_int("size", size, minimum=1)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int; got {seed!r}")
        count = min(size, len(self.test_images))
        return [Batch(inputs=self.sequences(self.test_images[start:stop]), targets=self.test_labels[start:stop],
                      lengths=None)
                for start in range(0, count, EVAL_BATCH_SIZE) for stop in [min(start + EVAL_BATCH_SIZE, count)]]

    def sequences(self, images: Tensor) -> Tensor:
        """The model's inputs for ``images`` (B, H, W) uint8: (H·W, B, 1) by pixels, (H, B, W) by rows."""
        B, H, W = images.shape
        x = images.float().div_(_MAX_LEVEL)  # (B, H, W) in [0, 1]
        if self.config.normalise == "standard":
            x = x.sub_(self.mean).div_(self.std)
        if self.permutation is not None:
            x = x.reshape(B, H * W)[:, self.permutation].reshape(B, H, W)
        if self.config.by == "pixels":
            return x.reshape(B, H * W).T.unsqueeze(2).contiguous()  # (H·W, B, 1), scanline order
        return x.transpose(0, 1).contiguous()  # (H, B, W), one row a step



def _pixel_mean_and_std(images: Tensor) -> tuple[float, float]:
    """Mean and standard deviation of every pixel of ``images`` (uint8), in [0, 1] units, from a
    histogram of the 256 levels: exact (integer sums), and no float copy of the whole set."""
    counts = torch.bincount(images.reshape(-1), minlength=256).tolist()  # (256,) ints
    n = sum(counts)
    total = sum(c * v for v, c in enumerate(counts))  # Σ x, in levels 0..255
    squares = sum(c * v * v for v, c in enumerate(counts))  # Σ x²
    variance = (n * squares - total * total) / (n * n)  # exactly 0 when every pixel is the same
    return total / n / _MAX_LEVEL, math.sqrt(variance) / _MAX_LEVEL
