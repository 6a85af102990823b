"""pachflow_features.hashing.xxhash64 is Spark's F.xxhash64 bit for bit: the Arrow paths
hold out, digest and sample the same customers as Spark does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from pachflow_features.hashing import xxhash64
from pachflow_spark import SparkSettings, build_session

pytestmark = pytest.mark.spark

#: Lengths 0..80 cover XXH64's 32-byte stripes and its 8-, 4- and 1-byte tails; multi-byte
#: UTF-8 strings hash their bytes (not their characters); PaySim-like ids; one long string.
VALUES = [
    "".join(chr(48 + (i * 7 + j) % 75) for j in range(n)) for n in range(81) for i in range(2)
]
VALUES += ["é" * n for n in range(0, 40, 3)] + ["Müller-€-客户", "🙂" * 9, "x" * 200]
VALUES += [f"C{n}" for n in (1234567890, 1, 98765, 2000000001, 123456789)]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    yield build_session("pachflow-hashing-tests", SparkSettings("local[2]", "1g", 2))


@pytest.fixture(scope="module")
def sparks(spark: Any) -> list[Any]:
    """Spark's hashes of VALUES: alone, with one int (the hold-out's seed 42 and 7), two."""
    from pyspark.sql import functions as F

    frame = spark.createDataFrame([(i, v) for i, v in enumerate(VALUES)], "i int, s string")
    return (
        frame.select(
            "i",
            F.xxhash64("s"),
            F.xxhash64("s", F.lit(42)),
            F.xxhash64("s", F.lit(7)),
            F.xxhash64("s", F.lit(7), F.lit(-3)),
        )
        .orderBy("i")
        .collect()
    )


@pytest.mark.parametrize("ints", [(), (42,), (7,), (7, -3)], ids=["none", "42", "7", "7,-3"])
@pytest.mark.parametrize("kind", ["string", "large_string", "chunked"])
def test_equals_sparks_xxhash64(sparks: list[Any], ints: tuple[int, ...], kind: str) -> None:
    column = {(): 1, (42,): 2, (7,): 3, (7, -3): 4}[ints]
    if kind == "chunked":  # several chunks, one empty, sliced arrays (non-zero offsets)
        whole = pa.array(VALUES)
        ids: Any = pa.chunked_array([whole[:50], whole[50:50], whole[50:121], whole[121:]])
    else:
        ids = pa.array(VALUES, getattr(pa, kind)())
    got = xxhash64(ids, *ints)
    assert got.dtype == np.uint64
    assert got.view(np.int64).tolist() == [r[column] for r in sparks]


def test_xor_of_many_hashes_is_sparks_bit_xor(spark: Any) -> None:
    """train's held-out digest: `bit_xor(xxhash64(nameOrig))` formatted as 16 hex digits
    (ClassCounts.test_digest) is the XOR of the uint64 hashes."""
    from pyspark.sql import functions as F

    ids = [f"C{n}" for n in range(10**9, 10**9 + 5000 * 7919, 7919)]
    x = spark.createDataFrame([(v,) for v in ids], "s string").agg(
        F.bit_xor(F.xxhash64("s")).alias("x")
    )
    theirs = x.collect()[0]["x"]
    ours = int(np.bitwise_xor.reduce(xxhash64(pa.array(ids))))
    assert f"{ours:016x}" == f"{theirs & (1 << 64) - 1:016x}"


def test_empty_and_null_input() -> None:
    assert xxhash64(pa.array([], pa.string())).shape == (0,)
    assert xxhash64(pa.chunked_array([], pa.string()), 7).dtype == np.uint64
    with pytest.raises(ValueError, match="1 null ids"):
        xxhash64(pa.array(["C1", None]))


def test_seed_keyword_is_xxh64s_seed() -> None:
    """Another seed than Spark's 42: XXH64's published values for seed 0."""
    got = xxhash64(pa.array(["", "abc"]), seed=0)
    assert got.tolist() == [0xEF46DB3751D8E999, 0x44BC2CF5AD770999]


def test_folding_ints_into_hashes_continues_spark_s_hash() -> None:
    """One pass over the strings serves every seeded rule: xxhash64(ids, i, j) is the
    ids' hash with i, then j, folded in."""
    import pyarrow as pa

    from pachflow_features.hashing import fold_ints, xxhash64

    ids = pa.array([f"C{i}" for i in range(1000)] + ["", "ünï"])
    assert (fold_ints(xxhash64(ids), 42) == xxhash64(ids, 42)).all()
    assert (fold_ints(xxhash64(ids), 7, -3) == xxhash64(ids, 7, -3)).all()
    assert (fold_ints(xxhash64(ids)) == xxhash64(ids)).all()
