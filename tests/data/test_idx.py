"""IDX files (the MNIST format): tiny files written here, valid and broken, each error message asserted."""

from __future__ import annotations

import gzip
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.data import DataError
from rnnlab.data.idx import (IdxFiles, find_idx_files, load_idx_split, read_idx, read_images, read_labelled_images,
                             read_labels)

FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX encoding of ``array``: 0x00 0x00, type, dimensions, big-endian sizes, big-endian data."""
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(dtypes[type_code]).tobytes()


def write(path: Path, data: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10  # 2 images of 3×4, values 0..230
LABELS = np.array([7, 3], dtype=np.uint8)


# ---- valid files --------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [False, True])
def test_images_and_labels_are_read_exactly(tmp_path, compress):
    images = read_images(write(tmp_path / "images", idx_bytes(IMAGES), compress=compress))
    labels = read_labels(write(tmp_path / "labels", idx_bytes(LABELS), compress=compress))
    assert images.dtype == torch.uint8 and images.shape == (2, 3, 4)
    assert torch.equal(images, torch.from_numpy(IMAGES))
    assert labels.dtype == torch.int64 and labels.tolist() == [7, 3]


def test_compression_is_recognised_by_the_magic_bytes_not_the_name(tmp_path):
    zipped_without_suffix = write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES), compress=True)
    plain_with_suffix = write(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(IMAGES))
    assert torch.equal(read_images(zipped_without_suffix), read_images(plain_with_suffix))


@pytest.mark.parametrize("type_code, dtype", [(0x09, torch.int8), (0x0B, torch.int16), (0x0C, torch.int32),
                                              (0x0D, torch.float32), (0x0E, torch.float64)])
def test_every_idx_type_is_read_big_endian(tmp_path, type_code, dtype):
    array = np.array([[-3, 1, 100], [7, -120, 0]])
    got = read_idx(write(tmp_path / "x.idx", idx_bytes(array, type_code)))
    assert got.dtype == dtype and got.shape == (2, 3)
    assert got.tolist() == array.tolist()


def test_images_and_labels_together(tmp_path):
    images, labels = read_labelled_images(write(tmp_path / "i", idx_bytes(IMAGES)),
                                          write(tmp_path / "l", idx_bytes(LABELS)))
    assert images.shape == (2, 3, 4) and labels.tolist() == [7, 3]


def test_an_empty_set_is_read_as_zero_images(tmp_path):
    images = read_images(write(tmp_path / "i", idx_bytes(np.zeros((0, 28, 28), np.uint8))))
    assert images.shape == (0, 28, 28)


# ---- broken files -------------------------------------------------------------------------------

def raises(path: Path, message: str):
    """pytest.raises for a DataError whose message starts with ``path`` and contains ``message``."""
    return pytest.raises(DataError, match="^" + re.escape(str(path)) + ".*" + re.escape(message))


def test_labels_read_as_images_is_a_bad_magic_number(tmp_path):
    path = write(tmp_path / "labels", idx_bytes(LABELS))
    with raises(path, ", byte 0: bad magic number 0x00000801: expected 0x00000803 (IDX images: unsigned bytes, "
                      "3 dimensions)"):
        read_images(path)
    images = write(tmp_path / "images.gz", idx_bytes(IMAGES), compress=True)
    with raises(images, ", byte 0: bad magic number 0x00000803: expected 0x00000801 (IDX labels"):
        read_labels(images)


def test_a_file_that_is_not_idx_is_a_bad_magic_number(tmp_path):
    path = write(tmp_path / "notes.txt", b"hello, this is text\n")
    with raises(path, ", byte 0: bad magic number 0x68656c6c: an IDX file starts with 0x00 0x00, a type code"):
        read_idx(path)
    with raises(path, "bad magic number 0x68656c6c: expected 0x00000803"):
        read_images(path)
    unknown_type = write(tmp_path / "type", bytes([0, 0, 0x07, 1, 0, 0, 0, 0]))
    with raises(unknown_type, "bad magic number 0x00000701"):
        read_idx(unknown_type)


def test_a_truncated_file_says_how_long_it_should_be(tmp_path):
    data = idx_bytes(IMAGES)  # 16 bytes of header + 24 pixels = 40 bytes
    path = write(tmp_path / "train-images-idx3-ubyte", data[:-2])
    with raises(path, ": is truncated: its header announces 2×3×4 values of 1 byte(s), 40 bytes in all, "
                      "but the file holds 38 bytes"):
        read_images(path)
    zipped = write(tmp_path / "cut.gz", data[:-2], compress=True)
    with raises(zipped, "40 bytes in all, but the file holds 38 bytes after decompression"):
        read_images(zipped)


def test_a_truncated_header(tmp_path):
    path = write(tmp_path / "short", idx_bytes(IMAGES)[:10])
    with raises(path, "is truncated: its header announces 3 dimensions, 16 bytes of header, but the file holds "
                      "10 bytes"):
        read_images(path)
    tiny = write(tmp_path / "tiny", b"\x00\x00")
    with raises(tiny, "is too short for an IDX header (2 bytes)"):
        read_images(tiny)
    empty = write(tmp_path / "empty", b"")
    with raises(empty, "is too short for an IDX header (0 bytes)"):
        read_labels(empty)


def test_bytes_after_the_data_are_refused(tmp_path):
    path = write(tmp_path / "long", idx_bytes(LABELS) + b"\x01\x02")
    with raises(path, ", byte 10: has 2 bytes after the end of the data its header announces (2 values, "
                      "10 bytes in all)"):
        read_labels(path)


def test_a_corrupt_or_truncated_gzip_stream(tmp_path):
    zipped = gzip.compress(idx_bytes(IMAGES))
    cut = write(tmp_path / "cut.gz", zipped[: len(zipped) // 2])
    with raises(cut, ": is a corrupt or truncated gzip file ("):
        read_images(cut)
    corrupt = write(tmp_path / "corrupt.gz", zipped[:10] + bytes(len(zipped) - 10))
    with raises(corrupt, ": is a corrupt or truncated gzip file ("):
        read_images(corrupt)


def test_counts_of_images_and_labels_must_agree(tmp_path):
    images = write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES))
    labels = write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.array([1, 2, 3], np.uint8)))
    with raises(labels, f": holds 3 labels, but {images} holds 2 images"):
        read_labelled_images(images, labels)


def test_missing_file_and_directory(tmp_path):
    with raises(tmp_path / "nothing", ": no such file"):
        read_images(tmp_path / "nothing")
    with raises(tmp_path, ": is a directory, not an IDX file"):
        read_labels(tmp_path)


def test_an_unreadable_file(tmp_path, unreadable):
    path = unreadable(write(tmp_path / "secret", idx_bytes(LABELS)))
    with raises(path, ": cannot be read: Permission denied"):
        read_labels(path)


def test_data_error_is_a_value_error_that_keeps_its_place():
    error = DataError("a/b.txt", "something is wrong", line=3)
    assert isinstance(error, ValueError)
    assert str(error) == "a/b.txt, line 3: something is wrong"
    assert (error.path, error.line, error.byte) == ("a/b.txt", 3, None)
    assert str(DataError("x", "bad", byte=7)) == "x, byte 7: bad"
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.line == 3


# ---- a directory of the MNIST family ------------------------------------------------------------

def mnist_directory(root: Path, *, compress=(False, True, False, True)) -> Path:
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    arrays = [IMAGES, LABELS, IMAGES[:1] + 1, LABELS[:1]]
    for name, array, zipped in zip(names, arrays, compress):
        write(root / (name + ".gz" if zipped else name), idx_bytes(array), compress=zipped)
    return root


def test_the_standard_names_are_found_plain_or_gzipped(tmp_path):
    files = find_idx_files(mnist_directory(tmp_path))
    assert files == IdxFiles(tmp_path / "train-images-idx3-ubyte", tmp_path / "train-labels-idx1-ubyte.gz",
                             tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte.gz")
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS))  # the plain file comes first
    assert find_idx_files(tmp_path).train_labels == tmp_path / "train-labels-idx1-ubyte"
    images, labels = load_idx_split(tmp_path, "test")
    assert images.shape == (1, 3, 4) and labels.tolist() == [7]
    images, labels = load_idx_split(tmp_path, "train")
    assert images.shape == (2, 3, 4) and labels.tolist() == [7, 3]


def test_a_missing_file_names_what_was_looked_for(tmp_path):
    mnist_directory(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with raises(tmp_path, ": holds neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte.gz (the test labels"):
        find_idx_files(tmp_path)
    with raises(tmp_path, "holds neither t10k-labels-idx1-ubyte"):
        load_idx_split(tmp_path, "test")
    load_idx_split(tmp_path, "train")  # the training files are all there


def test_a_directory_that_is_not_there(tmp_path):
    with raises(tmp_path / "nowhere", ": does not exist; expected a directory holding the MNIST-family IDX files "
                                      "(train-images-idx3-ubyte, "):
        find_idx_files(tmp_path / "nowhere")
    file = write(tmp_path / "file", b"")
    with raises(file, ": is not a directory; expected a directory"):
        load_idx_split(file, "train")


def test_an_unknown_split_is_refused(tmp_path):
    with pytest.raises(ValueError, match=re.escape("split must be one of train, test; got 'valid'")):
        load_idx_split(tmp_path, "valid")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_debians_fashion_mnist_if_installed():
    files = find_idx_files(FASHION)
    images, labels = read_labelled_images(files.test_images, files.test_labels)
    assert images.shape == (10_000, 28, 28) and images.dtype == torch.uint8
    assert torch.equal(labels.bincount(), torch.full((10,), 1000))
