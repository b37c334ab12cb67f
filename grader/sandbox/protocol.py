"""The wire format between the trusted grader and the untrusted worker: JSON + raw arrays, no pickle.

A message is one frame: an 8-byte header (two big-endian uint32: JSON length, number of arrays),
the JSON text, then for each array its 8-byte length and its blob: the dtype (4 bytes, numpy's
little-endian ``dtype.str`` padded with NUL, one of ``DTYPES``), the number of dimensions (1 byte),
each dimension (big-endian uint64), then the C-ordered data. Values are encoded recursively:

- ``None``, bools, ints, floats (NaN/Inf allowed), strings: as JSON.
- lists: JSON lists; tuples: ``{"__tuple__": [...]}``; dicts with string keys:
  ``{"__dict__": [[key, value], ...]}`` (keeps order, never confused with a tagged value).
- numpy arrays and numpy scalars: ``{"__nd__": i}``, the i-th array blob.
- anything else is not plain data: the sender's ``keep`` callback turns it into a handle,
  ``{"__handle__": id, "type": "...", "repr": "..."}``, or (trusted side only) a trusted callable
  into ``{"__callback__": id}``: calling it in the worker sends ``{"callback": id, "args": [...]}``
  back and waits for the answer.

A blob is read only when its dtype is a plain number type and its dimensions account for exactly
its data; nothing is parsed beyond that header. ``plain_arrays=True`` (the trusted side)
copies every array to a base-class ndarray of float64 (floats), int64 (ints) or bool, and refuses
any other dtype.

Standalone on purpose: this file is copied into the sandbox next to ``worker.py`` and imports
nothing from the rest of the project.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_FRAME = 512 * 1024 * 1024  # refuse absurd frames rather than allocating them


@dataclasses.dataclass(frozen=True)
class FrameLimits:
    """What a reader accepts: JSON text size, total array bytes (after widening to 8-byte
    dtypes), JSON nesting depth."""

    json_bytes: int = MAX_FRAME
    array_bytes: int = MAX_FRAME
    depth: int = 10_000


TRUSTED = FrameLimits()
#: Answers from student code: a small JSON text cannot blow up into gigabytes of Python objects,
#: nor a uint8 array into a huge int64 one.
UNTRUSTED = FrameLimits(json_bytes=8 * 1024**2, array_bytes=256 * 1024**2, depth=64)
_HEADER = struct.Struct(">II")
_LEN = struct.Struct(">Q")
_ARRAY = struct.Struct(">4sB")  # dtype.str padded with NUL, number of dimensions
#: the only dtypes an array blob may declare (little-endian numbers and bools; never objects)
DTYPES = frozenset(
    f"{order}{kind}{size}".encode().ljust(4, b"\0")
    for order, kind, sizes in (
        ("<", "f", (2, 4, 8, 16)),
        ("<", "i", (2, 4, 8)),
        ("<", "u", (2, 4, 8)),
        ("|", "i", (1,)),
        ("|", "u", (1,)),
        ("|", "b", (1,)),
    )
    for size in sizes
)
MAX_DIMS = 32  # numpy 1's limit (numpy 2 allows 64)


class ProtocolError(Exception):
    """A frame that is malformed, truncated or too large."""


def _encode(value: Any, arrays: list, keep: Callable[[Any], dict] | None) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, (np.ndarray, np.generic)) and not isinstance(value, np.void):
        arr = np.asarray(value)
        if arr.dtype.kind in "fiub":
            arrays.append(arr)
            return {"__nd__": len(arrays) - 1, "scalar": isinstance(value, np.generic)}
    if isinstance(value, list):
        return [_encode(v, arrays, keep) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays, keep) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": [[k, _encode(v, arrays, keep)] for k, v in value.items()]}
    if keep is None:
        raise TypeError(f"cannot send a {type(value).__name__} across the sandbox boundary")
    return keep(value)


def _decode(value: Any, arrays: list, resolve: Callable[[dict], Any] | None, used: set[int]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays, resolve, used) for v in value]
    if not isinstance(value, dict):
        return value
    if "__nd__" in value:
        index = value["__nd__"]
        if not isinstance(index, int) or not 0 <= index < len(arrays):
            raise ProtocolError("array reference out of range")
        arr = arrays[index]
        if id(arr) in used:  # referenced again: a copy, so no two decoded values share memory
            arr = arr.copy()
        used.add(id(arr))
        if value.get("scalar"):
            item = arr.reshape(()).item() if arr.size == 1 else arr
            return item
        return arr
    if "__tuple__" in value:
        return tuple(_decode(v, arrays, resolve, used) for v in value["__tuple__"])
    if "__dict__" in value:
        return {str(k): _decode(v, arrays, resolve, used) for k, v in value["__dict__"]}
    if "__handle__" in value or "__callback__" in value:
        if resolve is None:
            raise ProtocolError("unexpected handle")
        return resolve(value)
    raise ProtocolError(f"unknown tagged value {sorted(value)[:3]}")


def _plain_array(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f":
        return np.array(arr, dtype=np.float64)
    if arr.dtype.kind in "iu":
        return np.array(arr, dtype=np.int64)
    if arr.dtype.kind == "b":
        return np.array(arr, dtype=bool)
    raise ProtocolError(f"array of dtype {arr.dtype} is not plain data")


def dumps(message: Any, keep: Callable[[Any], dict] | None = None) -> bytes:
    """Encode one message (any plain value) into a frame."""
    arrays: list[np.ndarray] = []
    text = json.dumps(_encode(message, arrays, keep), allow_nan=True).encode()
    parts = [_HEADER.pack(len(text), len(arrays)), text]
    for arr in arrays:
        data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).reshape(arr.shape)  # keeps 0-d arrays 0-d
        head = _ARRAY.pack(data.dtype.str.encode(), data.ndim) + struct.pack(f">{data.ndim}Q", *data.shape)
        parts += [_LEN.pack(len(head) + data.nbytes), head, data.tobytes()]
    return b"".join(parts)


def _array(blob: bytes, limits: FrameLimits) -> np.ndarray:
    """The array of one blob (a writable copy), or ProtocolError."""
    if len(blob) < _ARRAY.size:
        raise ProtocolError("bad array: truncated header")
    code, ndim = _ARRAY.unpack_from(blob)
    if code not in DTYPES or ndim > MAX_DIMS:
        raise ProtocolError(f"bad array: dtype {code.rstrip(bytes(1))[:4]!r} with {ndim} dimensions is not plain data")
    start = _ARRAY.size + 8 * ndim
    if len(blob) < start:
        raise ProtocolError("bad array: truncated header")
    shape = struct.unpack_from(f">{ndim}Q", blob, _ARRAY.size)
    count = bound = 1
    for n in shape:
        count, bound = count * n, bound * max(n, 1)
    if bound * 8 > limits.array_bytes:  # e.g. an empty (0, 2**62) array: no data, but absurd dimensions
        raise ProtocolError("bad array: its dimensions are too large")
    dtype = np.dtype(code.rstrip(bytes(1)).decode())
    if count * dtype.itemsize != len(blob) - start:
        raise ProtocolError("bad array: its dimensions do not match its data")
    try:
        return np.frombuffer(blob, dtype=dtype, offset=start).reshape(shape).copy()
    except ValueError as exc:  # dimensions numpy itself refuses
        raise ProtocolError(f"bad array: {str(exc)[:200]}") from None


def _read_exact(fd: int, n: int, read: Callable[[int, int], bytes]) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _nesting(text: bytes) -> int:
    """Maximum bracket depth of a JSON text (strings skipped), without parsing it."""
    depth = worst = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            worst = max(worst, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return worst


def read_frame(fd: int, read: Callable[[int, int], bytes] = os.read, limits: FrameLimits = TRUSTED) -> tuple[Any, list]:
    """Read one frame from a file descriptor: (json value, list of raw arrays)."""
    json_len, n_arrays = _HEADER.unpack(_read_exact(fd, _HEADER.size, read))
    if json_len > limits.json_bytes or n_arrays > 100_000:
        raise ProtocolError("frame too large")
    text = _read_exact(fd, json_len, read)
    if limits is not TRUSTED and _nesting(text) > limits.depth:
        raise ProtocolError("value nested too deeply")
    doc = json.loads(text)
    arrays, widened = [], 0
    for _ in range(n_arrays):
        (size,) = _LEN.unpack(_read_exact(fd, _LEN.size, read))
        if size > limits.array_bytes:
            raise ProtocolError("frame too large")
        arr = _array(_read_exact(fd, size, read), limits)
        widened += arr.size * 8
        if widened > limits.array_bytes:
            raise ProtocolError("arrays too large")
        arrays.append(arr)
    return doc, arrays


def loads(doc: Any, arrays: list, resolve: Callable[[dict], Any] | None = None, plain_arrays: bool = False) -> Any:
    """Decode a frame read by ``read_frame``; see the module docstring for ``plain_arrays``."""
    if plain_arrays:
        arrays = [_plain_array(a) for a in arrays]
    return _decode(doc, arrays, resolve, set())


def write_frame(fd: int, data: bytes) -> None:
    """Write a whole frame to a file descriptor."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
