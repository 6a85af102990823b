"""The shard hash: FNV-1a 64 over the UTF-8 bytes of `nameOrig`, shard = hash % N.

Chosen because it is fully specified in a few lines (any language can reproduce it), has
published test vectors, and vectorises in numpy with no third-party hash library whose
output could change between versions. Parameters (FNV spec, 64-bit):
    h = 0xcbf29ce484222325
    for each byte b: h = ((h XOR b) * 0x100000001b3) mod 2**64
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

FNV64_OFFSET = 0xCBF29CE484222325
FNV64_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1


def fnv1a64(data: bytes | str) -> int:
    """Reference FNV-1a 64 of one value (str is hashed as its UTF-8 bytes)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    h = FNV64_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV64_PRIME) & _MASK64
    return h


def shard_of(name: str, shards: int) -> int:
    """The shard of one customer id (the same rule as `shard_ids`)."""
    return fnv1a64(name) % shards


def fnv1a64_array(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """FNV-1a 64 of every value of a string array, vectorised (uint64, one per value).

    Works column-wise over byte positions: step j folds byte j into every value whose
    length exceeds j, so the cost is (longest value) numpy passes over the array.
    """
    if isinstance(values, pa.ChunkedArray):
        parts = [fnv1a64_array(chunk) for chunk in values.chunks]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    if values.null_count:
        raise ValueError("cannot hash null values")
    values = values.cast(pa.string()) if values.type != pa.string() else values
    n = len(values)
    h = np.full(n, FNV64_OFFSET, dtype=np.uint64)
    if n == 0:
        return h
    _, offsets_buf, data_buf = values.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[values.offset : values.offset + n + 1]
    if data_buf is None:
        return h
    data = np.frombuffer(data_buf, dtype=np.uint8)
    if data.size == 0:
        return h
    starts = offsets[:-1].astype(np.int64)
    lengths = (offsets[1:] - offsets[:-1]).astype(np.int64)
    prime = np.uint64(FNV64_PRIME)
    last = data.size - 1
    shortest = int(lengths.min())
    # uint64 array arithmetic wraps modulo 2**64, exactly as the spec requires.
    for j in range(shortest):
        h ^= data[starts + j]
        h *= prime
    for j in range(shortest, int(lengths.max())):
        active = lengths > j
        byte = data[np.minimum(starts + j, last)].astype(np.uint64)
        h = np.where(active, (h ^ byte) * prime, h)
    return h


def shard_ids(values: pa.Array | pa.ChunkedArray, shards: int) -> np.ndarray:
    """`fnv1a64(value) % shards` for every value (int64)."""
    return (fnv1a64_array(values) % np.uint64(shards)).astype(np.int64)
