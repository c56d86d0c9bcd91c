import gzip
import struct

import numpy as np
import pytest

from analysis.data.idx import IdxFormatError, maybe_gunzip, parse_idx


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_roundtrip_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(images)), images)
    labels = np.array([5, 0, 4], dtype=np.uint8)
    assert np.array_equal(parse_idx(idx_bytes(labels)), labels)


def test_bad_magic_is_rejected():
    data = bytearray(idx_bytes(np.zeros((2, 2), np.uint8)))
    data[0] = 0x1F
    with pytest.raises(IdxFormatError, match="bad magic"):
        parse_idx(bytes(data), "x")


def test_unknown_type_code_is_rejected():
    data = bytearray(idx_bytes(np.zeros((2, 2), np.uint8)))
    data[2] = 0x42
    with pytest.raises(IdxFormatError, match="type code"):
        parse_idx(bytes(data))


def test_header_declaring_more_than_present_is_truncated():
    data = idx_bytes(np.zeros((10, 28, 28), np.uint8))
    with pytest.raises(IdxFormatError, match="truncated"):
        parse_idx(data[:-5], "train-images")


def test_header_cut_inside_dimensions():
    data = idx_bytes(np.zeros((10, 28, 28), np.uint8))
    with pytest.raises(IdxFormatError, match="inside the header"):
        parse_idx(data[:9])


def test_trailing_bytes_are_rejected():
    data = idx_bytes(np.zeros((3,), np.uint8)) + b"\0"
    with pytest.raises(IdxFormatError, match="trailing"):
        parse_idx(data)


def test_truncated_gzip_names_the_file():
    blob = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    with pytest.raises(IdxFormatError, match="t10k-images.*truncated"):
        maybe_gunzip(blob[: len(blob) // 2], "t10k-images")
