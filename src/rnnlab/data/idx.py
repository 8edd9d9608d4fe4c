"""IDX files, the format of MNIST and Fashion-MNIST, read into torch tensors.

LeCun, Cortes & Burges, "The MNIST database of handwritten digits",
http://yann.lecun.com/exdb/mnist/ (section "FILE FORMATS FOR THE MNIST DATABASE");
Xiao, Rasul & Vollgraf (2017), "Fashion-MNIST", arXiv:1708.07747, uses the same files.
An IDX file is a header and then the data, every integer big-endian (MSB first):

    bytes 0-1   0x00 0x00
    byte  2     the type of the data: 0x08 unsigned byte, 0x09 signed byte, 0x0B short (2 bytes),
                0x0C int (4 bytes), 0x0D float (4 bytes), 0x0E double (8 bytes)
    byte  3     the number of dimensions, D
    then        D sizes, 4-byte integers
    then        the data, the last dimension changing fastest

So images are magic 0x00000803 (unsigned bytes, 3 dimensions: N × rows × columns; 0 is
background, 255 foreground) and labels 0x00000801 (unsigned bytes, 1 dimension: N).
A training-set image file of MNIST is 16 + 60000·28·28 = 47,040,016 bytes.

Files may be gzip-compressed, as they are distributed (``train-images-idx3-ubyte.gz``);
compression is recognised by the gzip magic bytes 0x1f 0x8b, not by the name.  Every
check names the file: the magic number, the sizes, the file's length against the one its
header announces (a truncated download is caught), and that images and labels agree in
number.

    >>> images, labels = load_idx_split("/usr/share/datasets/fashion-mnist", "train")  # doctest: +SKIP
    >>> images.shape, images.dtype, labels.shape, labels.dtype                        # doctest: +SKIP
    (torch.Size([60000, 28, 28]), torch.uint8, torch.Size([60000]), torch.int64)
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from .errors import DataError, read_bytes

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (N, rows, columns)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (N,)

_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIMENSIONS = 64  # numpy's (32 before numpy 2); the format allows 255
# type code -> (numpy dtype, big-endian as in the file; its name in the format's description)
_TYPES = {
    0x08: (np.dtype("u1"), "unsigned byte"),
    0x09: (np.dtype("i1"), "signed byte"),
    0x0B: (np.dtype(">i2"), "short"),
    0x0C: (np.dtype(">i4"), "int"),
    0x0D: (np.dtype(">f4"), "float"),
    0x0E: (np.dtype(">f8"), "double"),
}

# The standard file names of the MNIST family (each may also end in .gz).
STANDARD_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
SPLITS = ("train", "test")


class IdxFiles(NamedTuple):
    """The four files of an MNIST-family directory."""

    train_images: Path
    train_labels: Path
    test_images: Path
    test_labels: Path


def read_idx(path: str | Path) -> Tensor:
    """The array stored in the IDX file ``path`` (gzip-compressed or not), in the file's shape and type.

    Unsigned bytes stay uint8; the other types become the native-endian torch dtype.
    Raises DataError naming the file for a missing or unreadable file, a corrupt gzip
    stream, a bad magic number, or a length that is not the one the header announces.
    """
    return _read(Path(path))


def read_images(path: str | Path) -> Tensor:
    """(N, rows, columns) uint8 images from an IDX file of magic 0x00000803."""
    path = Path(path)
    images = _read(path, expected=(IMAGES_MAGIC, "images: unsigned bytes, 3 dimensions"))
    if 0 in images.shape[1:]:
        raise DataError(path, f"images of size {images.shape[1]}×{images.shape[2]} hold no pixels")
    return images


def read_labels(path: str | Path) -> Tensor:
    """(N,) int64 class indices from an IDX file of magic 0x00000801 (unsigned bytes)."""
    return _read(Path(path), expected=(LABELS_MAGIC, "labels: unsigned bytes, 1 dimension")).long()


def read_labelled_images(images_path: str | Path, labels_path: str | Path) -> tuple[Tensor, Tensor]:
    """Images (N, rows, columns) uint8 and their labels (N,) int64; DataError if the counts differ."""
    images, labels = read_images(images_path), read_labels(labels_path)
    if len(images) != len(labels):
        raise DataError(labels_path, f"holds {len(labels)} labels, but {images_path} holds {len(images)} images")
    return images, labels


def find_idx_files(directory: str | Path) -> IdxFiles:
    """The train and test files of an MNIST-family ``directory``, by their standard names.

    For each of train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
    t10k-labels-idx1-ubyte, the plain file is taken if it is there, else the one ending in .gz.
    DataError naming the directory and the names looked for if one is missing.
    """
    return IdxFiles(*(_find(directory, split, kind) for split in SPLITS for kind in ("images", "labels")))


def load_idx_split(directory: str | Path, split: str) -> tuple[Tensor, Tensor]:
    """Images (N, rows, columns) uint8 and labels (N,) int64 of ``split`` ("train" or "test", the
    t10k files) from an MNIST-family ``directory``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    return read_labelled_images(_find(directory, split, "images"), _find(directory, split, "labels"))


# ---- helpers ------------------------------------------------------------------------------------

def _find(directory: str | Path, split: str, kind: str) -> Path:
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise DataError(directory, f"{what}; expected a directory holding the MNIST-family IDX files "
                                   f"({', '.join(STANDARD_NAMES.values())}, each may end in .gz)")
    name = STANDARD_NAMES[split, kind]
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(directory, f"holds neither {name} nor {name}.gz (the {split} {kind} of an MNIST-family "
                               f"data set)")


def _read_bytes(path: Path) -> tuple[bytes, bool]:
    """The file's bytes, decompressed if they start with the gzip magic; and whether they were."""
    raw = read_bytes(path, "an IDX file")
    if not raw.startswith(_GZIP_MAGIC):
        return raw, False
    try:
        return gzip.decompress(raw), True
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError; a cut stream, EOFError
        raise DataError(path, f"is a corrupt or truncated gzip file ({error})") from None


def _read(path: Path, expected: tuple[int, str] | None = None) -> Tensor:
    """The file's array; with ``expected`` = (magic, what it means), DataError for another magic number."""
    data, compressed = _read_bytes(path)
    if expected is not None and len(data) >= 4 and int.from_bytes(data[:4], "big") != expected[0]:
        magic = int.from_bytes(data[:4], "big")
        raise DataError(path, f"bad magic number 0x{magic:08x}: expected 0x{expected[0]:08x} (IDX {expected[1]})",
                        byte=0)
    dtype, dims, header = _parse_header(path, data, compressed)
    try:
        array = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header).reshape(dims)
    except ValueError:  # more dimensions than numpy has, or sizes (one of them 0) whose product overflows it
        shape = "×".join(map(str, dims)) if len(dims) <= 8 else f"{len(dims)} dimensions"
        raise DataError(path, f"its header announces an array of {shape} that numpy cannot hold (at most "
                              f"{_MAX_DIMENSIONS} dimensions, and the sizes other than 0 must multiply to less "
                              f"than 2**63 bytes)", byte=3) from None
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


def _parse_header(path: Path, data: bytes, compressed: bool) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, dimension sizes, header length in bytes), after checking the data's length."""
    unzipped = " after decompression" if compressed else ""
    if len(data) < 4:
        raise DataError(path, f"is too short for an IDX header ({len(data)} bytes{unzipped})")
    magic = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DataError(path, f"bad magic number 0x{magic:08x}: an IDX file starts with 0x00 0x00, a type code "
                              f"({', '.join(f'0x{code:02x}' for code in _TYPES)}) and the number of dimensions",
                        byte=0)
    dtype, _ = _TYPES[data[2]]
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(path, f"is truncated: its header announces {ndim} dimensions, {header} bytes of header, "
                              f"but the file holds {len(data)} bytes{unzipped}")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(dims) * dtype.itemsize
    shape = "×".join(map(str, dims)) or "a scalar"
    if len(data) < expected:
        raise DataError(path, f"is truncated: its header announces {shape} values of {dtype.itemsize} byte(s), "
                              f"{expected} bytes in all, but the file holds {len(data)} bytes{unzipped}")
    if len(data) > expected:
        raise DataError(path, f"has {len(data) - expected} bytes after the end of the data its header announces "
                              f"({shape} values, {expected} bytes in all{unzipped})", byte=expected)
    return dtype, dims, header
