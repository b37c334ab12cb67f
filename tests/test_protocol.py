"""The wire format: plain data round-trips, nothing is ever unpickled, malformed frames are refused."""

import io
import os
import struct

import numpy as np
import pytest

from grader.sandbox import protocol


def roundtrip(value, keep=None, plain=True):
    r, w = os.pipe()
    try:
        protocol.write_frame(w, protocol.dumps(value, keep=keep))
        doc, arrays = protocol.read_frame(r)
    finally:
        os.close(r)
        os.close(w)
    return protocol.loads(doc, arrays, resolve=lambda h: h, plain_arrays=plain)


def test_plain_values_round_trip():
    value = {"a": [1, 2.5, None, True, "x"], "t": (1, (2, 3)), "nan": float("nan")}
    got = roundtrip(value)
    assert got["a"] == [1, 2.5, None, True, "x"]
    assert got["t"] == (1, (2, 3))
    assert np.isnan(got["nan"])


def test_arrays_become_float64_or_int64_base_class():
    class Sub(np.ndarray):
        pass

    sub = np.arange(6, dtype=np.float32).reshape(2, 3).view(Sub)
    got = roundtrip({"f": sub, "i": np.arange(3, dtype=np.int8), "b": np.array([True, False])})
    assert type(got["f"]) is np.ndarray and got["f"].dtype == np.float64
    assert got["i"].dtype == np.int64 and got["b"].dtype == bool
    np.testing.assert_array_equal(got["f"], np.arange(6).reshape(2, 3))


def test_numpy_scalars_come_back_as_python_numbers():
    assert roundtrip(np.float32(1.5)) == 1.5
    assert isinstance(roundtrip(np.int64(3)), int)


def test_objects_need_a_handle():
    with pytest.raises(TypeError):
        protocol.dumps({"x": object()})
    got = roundtrip([object()], keep=lambda o: {"__handle__": 7, "type": "builtins.object"})
    assert got == [{"__handle__": 7, "type": "builtins.object"}]


def test_object_arrays_and_pickles_are_refused():
    with pytest.raises(TypeError):
        protocol.dumps(np.array([object()], dtype=object))
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    blob = buf.getvalue()
    frame = protocol._HEADER.pack(len(b'{"__nd__": 0}'), 1) + b'{"__nd__": 0}' + protocol._LEN.pack(len(blob)) + blob
    r, w = os.pipe()
    os.write(w, frame)
    os.close(w)
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(r)
    os.close(r)


def frame_with_blob(blob: bytes) -> int:
    """A pipe holding one frame whose only value is one array: ``blob``."""
    text = b'{"__nd__": 0}'
    r, w = os.pipe()
    os.write(w, protocol._HEADER.pack(len(text), 1) + text + protocol._LEN.pack(len(blob)) + blob)
    os.close(w)
    return r


def test_array_blobs_round_trip_every_shape_and_plain_dtype():
    values = [
        np.array(2.5),  # 0-d
        np.zeros((0, 3)),
        np.arange(24, dtype=">i4").reshape(2, 3, 4),  # big-endian: sent little-endian
        np.array([1.5, -2.0], dtype=np.float16),
        np.array([[True], [False]]),
        np.arange(6, dtype=np.uint8)[::2],  # not contiguous
    ]
    got = roundtrip(values, plain=False)
    for want, arr in zip(values, got):
        assert arr.shape == want.shape and arr.dtype == want.dtype.newbyteorder("<")
        np.testing.assert_array_equal(arr, want)
        assert arr.flags.writeable  # student code may write into its inputs (and is told so)


@pytest.mark.parametrize(
    "blob, why",
    [
        (protocol._ARRAY.pack(b"|O8\0", 1) + struct.pack(">Q", 1) + bytes(8), "not plain data"),  # objects
        (protocol._ARRAY.pack(b"<M8\0", 1) + struct.pack(">Q", 1) + bytes(8), "not plain data"),  # datetimes
        (protocol._ARRAY.pack(b"<f8\0", 1) + struct.pack(">Q", 10**6) + bytes(8), "do not match"),  # a huge shape
        (protocol._ARRAY.pack(b"<f8\0", 2) + struct.pack(">Q", 1), "truncated"),
        (protocol._ARRAY.pack(b"<f8\0", 33) + bytes(8 * 33), "not plain data"),  # more dimensions than numpy 1 has
        (protocol._ARRAY.pack(b"<f8\0", 2) + struct.pack(">QQ", 0, 2**63), "too large"),  # empty, absurd
        (protocol._ARRAY.pack(b"<f8\0", 3) + struct.pack(">QQQ", 0, 2**20, 2**20), "too large"),  # 0 x 8 TiB
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}", "not plain data"),  # an .npy file is not a blob
        (b"<f8", "truncated"),
    ],
)
def test_forged_array_blobs_are_refused(blob, why):
    r = frame_with_blob(blob)
    try:
        with pytest.raises(protocol.ProtocolError, match=why):
            protocol.read_frame(r)
    finally:
        os.close(r)


def test_an_array_referenced_twice_decodes_to_two_arrays():
    text = b'[{"__nd__": 0}, {"__nd__": 0}]'
    blob = protocol.dumps(np.zeros(3))[protocol._HEADER.size + len(b'{"__nd__": 0, "scalar": false}') :]
    r, w = os.pipe()
    os.write(w, protocol._HEADER.pack(len(text), 1) + text + blob)
    os.close(w)
    try:
        a, b = protocol.loads(*protocol.read_frame(r, limits=protocol.UNTRUSTED), plain_arrays=True)
    finally:
        os.close(r)
    a[0] = 1.0
    assert b[0] == 0.0  # a worker cannot make two answers one array


def test_truncated_and_oversized_frames_are_refused():
    r, w = os.pipe()
    os.write(w, protocol._HEADER.pack(protocol.MAX_FRAME + 1, 0))
    os.close(w)
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(r)
    os.close(r)
    r, w = os.pipe()
    os.write(w, protocol._HEADER.pack(100, 0) + b"{")
    os.close(w)
    with pytest.raises(EOFError):
        protocol.read_frame(r)
    os.close(r)
