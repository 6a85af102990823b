"""The shard hash is part of the data contract: pin it with vectors."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pachflow_split.hashing import fnv1a64, fnv1a64_array, shard_ids, shard_of

# Published FNV-1a 64 test vectors (the FNV reference suite).
STANDARD = {
    "": 0xCBF29CE484222325,
    "a": 0xAF63DC4C8601EC8C,
    "foobar": 0x85944171F73967E8,
}

# PaySim customer ids -> (hash, shard of 16): pinned so a change of implementation that
# moves customers between shards fails here. Other tools must reproduce these.
PAYSIM = {
    "C1231006815": (0x31474CCF8707EDA1, 1),
    "C1305486145": (0x2C92DE907DC659FF, 15),
}


@pytest.mark.parametrize(("text", "expected"), STANDARD.items())
def test_split_hash_standard_vectors(text: str, expected: int) -> None:
    assert fnv1a64(text) == expected
    assert int(fnv1a64_array(pa.array([text]))[0]) == expected


@pytest.mark.parametrize(("name", "pinned"), PAYSIM.items())
def test_split_hash_pinned_paysim_ids(name: str, pinned: tuple[int, int]) -> None:
    value, shard = pinned
    assert fnv1a64(name) == value
    assert shard_of(name, 16) == shard == value % 16


def test_split_hash_vectorised_matches_reference_on_mixed_lengths() -> None:
    names = ["", "C1", "C12345678901234567890", "é", "M9", "C1231006815", "C0"] * 3
    array = pa.array(names)
    assert [int(h) for h in fnv1a64_array(array)] == [fnv1a64(n) for n in names]
    # Sliced and chunked arrays (offsets into shared buffers) hash the same values.
    assert [int(h) for h in fnv1a64_array(array.slice(3, 5))] == [fnv1a64(n) for n in names[3:8]]
    chunked = pa.chunked_array([array.slice(0, 4), array.slice(4)])
    assert [int(h) for h in fnv1a64_array(chunked)] == [fnv1a64(n) for n in names]
    assert shard_ids(array, 7).tolist() == [fnv1a64(n) % 7 for n in names]


def test_split_hash_rejects_nulls() -> None:
    with pytest.raises(ValueError, match="null"):
        fnv1a64_array(pa.array(["C1", None]))
