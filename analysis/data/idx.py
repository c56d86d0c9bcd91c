"""Parse IDX files (the MNIST container format) into numpy arrays, strictly.

Strict because a truncated or corrupt file must fail loudly here rather than
train on garbage: the header's type code, rank and sizes must match the bytes.
"""
from __future__ import annotations

import gzip
import struct

import numpy as np

#: IDX type codes we accept; MNIST and Fashion-MNIST only use unsigned bytes.
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class IdxFormatError(ValueError):
    """The bytes are not a well-formed IDX file."""


def maybe_gunzip(raw: bytes, name: str = "<bytes>") -> bytes:
    """Return the decompressed bytes if `raw` is gzip, else `raw` unchanged."""
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:  # truncated or corrupt gzip stream
            raise IdxFormatError(f"{name}: corrupt or truncated gzip data ({exc})") from exc
    return raw


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode one IDX payload (already decompressed) into an array of its declared shape."""
    if len(data) < 4:
        raise IdxFormatError(f"{name}: {len(data)} bytes is too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IdxFormatError(f"{name}: bad magic number (first two bytes {zero:#06x}, expected 0x0000)")
    if type_code not in _DTYPES:
        raise IdxFormatError(f"{name}: unknown IDX type code {type_code:#04x}")
    if ndim == 0:
        raise IdxFormatError(f"{name}: IDX header declares zero dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IdxFormatError(f"{name}: header declares {ndim} dimensions but the file ends inside the header")
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = np.dtype(_DTYPES[type_code])
    expected = header_len + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IdxFormatError(
            f"{name}: header declares shape {tuple(shape)} ({expected} bytes in all) "
            f"but the file has {len(data)} bytes ({'truncated' if len(data) < expected else 'trailing data'})")
    return np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape).astype(dtype.newbyteorder("="))
