"""A saved tree PipelineModel scored with numpy: the score (`scores.fraud_score` of its
probability) and prediction Spark gives each row, without a JVM. train evaluates with it
(pachflow_train.classifier.evaluate_arrays) and scoring scores with it
(pachflow_scoring.score), whenever `load` accepts the model.

`SavedTrees.load` reads OUTPUT_DIR/model as `PipelineModel.write().save` writes it (Spark
4): `metadata/` (the pipeline's stage uids) and `stages/<i>_<uid>/`: the VectorAssembler's
metadata, and the classifier's metadata JSON with its nodes in `data/*.parquet`, one row
per node in pre-order (`id`, `leftChild`, `rightChild`, `impurityStats`, `split`), for an
ensemble one `(treeID, nodeData)` row per node. What MLlib computes from them (Spark 4.2):

- A continuous split sends a row left when value <= threshold (ContinuousSplit.shouldGoLeft;
  NaN goes right, but the assembler refuses NaN, and so does `score`).
- Decision tree: rawPrediction is the leaf's impurityStats (class weights), probability
  those divided by their sum, prediction the index of the largest raw value, the first on
  a tie (DenseVector.argmax; no `thresholds` param is set by `classifier.fit`).
- Random forest: rawPrediction adds, tree by tree, each leaf's stats divided by their sum
  (trees whose leaf has none add nothing); probability and prediction as above. The sums
  are made in the same order here, so the doubles are the same.
- The score is `round(probability[1], 4)` (`spark_round`).

GBT is not scored here (load raises NotImplementedError): its margin is a BLAS dot product
of the trees' outputs with their weights and its probability goes through Math.exp, whose
last bits are the JVM's choice; Spark evaluates those models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pachflow_contracts import MODEL_INPUTS
from pachflow_features.scores import SCORE_DECIMALS

PIPELINE = "org.apache.spark.ml.PipelineModel"
#: What pyspark's own PipelineModel writer records (a Spark Connect session saves a
#: pipeline built in Python with it; the stages are the same JVM models' files).
PYTHON_PIPELINE = "pyspark.ml.pipeline.PipelineModel"
ASSEMBLER = "org.apache.spark.ml.feature.VectorAssembler"
_ML = "org.apache.spark.ml.classification."
DECISION_TREE = _ML + "DecisionTreeClassificationModel"
RANDOM_FOREST = _ML + "RandomForestClassificationModel"
GBT = _ML + "GBTClassificationModel"
#: Rows scored at a time: the walk's gathers stay in cache (measured: 1 << 14 to 1 << 16
#: score 6.4 M rows x 21 inputs fastest, ~0.35 s for a depth-4 tree, either memory order).
CHUNK_ROWS = 1 << 14


def spark_round(values: np.ndarray, decimals: int = SCORE_DECIMALS) -> np.ndarray:
    """Spark's `round(x, decimals)` of doubles: BigDecimal.valueOf(x) (the decimal string
    Double.toString gives) set to `decimals` places HALF_UP, back to the nearest double.

    Away from a half, that is the nearest multiple of 10^-decimals, computed as k / 10^d
    (IEEE division is correctly rounded, as BigDecimal.doubleValue is). Within a hair of
    a half (where the double's decimal string decides) each value is rounded from its
    shortest repr with Decimal, as Java rounds its string: equal to Spark's at every half
    in [0, 1] and its neighbouring doubles (tested against Spark)."""
    values = np.asarray(values, np.float64)
    scale = 10.0**decimals
    scaled = values * scale
    out: np.ndarray = np.floor(scaled + 0.5) / scale
    fraction = scaled - np.floor(scaled)
    near = np.abs(fraction - 0.5) < 1e-6
    halves, where = np.unique(values[near], return_inverse=True)
    quantum = Decimal(1).scaleb(-decimals)
    rounded = [float(Decimal(repr(float(v))).quantize(quantum, ROUND_HALF_UP)) for v in halves]
    out[near] = np.asarray(rounded, np.float64)[where]
    return out


#: (start, stop) -> the float64 matrix of those rows
RowsOf = Callable[[int, int], np.ndarray]


class _Rows(NamedTuple):
    """A chunk of rows as the walk reads them: row i's input f is flat[base[i] + f]."""

    flat: np.ndarray
    base: np.ndarray


@dataclass(frozen=True)
class _Tree:
    """One tree as arrays indexed by node id; a leaf's children are itself and its
    threshold +inf, so a walk of `depth` steps leaves every row at its leaf."""

    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    children: np.ndarray  # int64: node 2i is node i's left child, 2i + 1 its right
    raw: np.ndarray  # (nodes, classes) float64: what a row at the node adds to rawPrediction
    depth: int

    @property
    def splits(self) -> np.ndarray:
        """The ids of the nodes that split the rows (not leaves)."""
        return np.flatnonzero(self.children[::2] != np.arange(len(self.feature)))

    def leaves(self, rows: _Rows) -> np.ndarray:
        """The leaf of each row."""
        node = np.zeros(len(rows.base), np.int64)
        for _ in range(self.depth):
            # value <= threshold goes left (NaN, which would go right, is refused before)
            right = rows.flat[rows.base + self.feature[node]] > self.threshold[node]
            node = self.children[2 * node + right]
        return node


@dataclass(frozen=True)
class SavedTrees:
    """A saved DecisionTree or RandomForest classifier behind VectorAssembler(MODEL_INPUTS)."""

    classifier: str  # the model class's short name, e.g. DecisionTreeClassificationModel
    trees: tuple[_Tree, ...]
    num_classes: int
    ensemble: bool  # a random forest: leaf shares are summed over the trees

    @classmethod
    def load(cls, model_dir: Path) -> SavedTrees:
        """The model `PipelineModel.write().save(model_dir)` wrote. ValueError naming the
        file when the directory is not such a model; NotImplementedError for a classifier
        scored by Spark only (GBT)."""
        model_dir = Path(model_dir)
        pipeline = _metadata(model_dir)
        if pipeline.get("class") not in (PIPELINE, PYTHON_PIPELINE):
            found = pipeline.get("class")
            raise ValueError(
                f"{_metadata_file(model_dir)}: expected {PIPELINE} or {PYTHON_PIPELINE}, "
                f"found {found!r}"
            )
        uids = pipeline.get("paramMap", {}).get("stageUids")
        if not isinstance(uids, list) or len(uids) != 2:
            raise ValueError(
                f"{_metadata_file(model_dir)}: expected two stages (VectorAssembler, a tree "
                f"classifier) in paramMap.stageUids, found {uids!r}"
            )
        stage_dirs = [model_dir / "stages" / f"{i}_{uid}" for i, uid in enumerate(uids)]
        assembler = _metadata(stage_dirs[0])
        inputs = assembler.get("paramMap", {}).get("inputCols")
        if assembler.get("class") != ASSEMBLER or inputs != list(MODEL_INPUTS):
            raise ValueError(
                f"{_metadata_file(stage_dirs[0])}: expected a {ASSEMBLER} of this version's "
                f"model inputs {list(MODEL_INPUTS)}, found {assembler.get('class')!r} of {inputs!r}"
            )
        meta = _metadata(stage_dirs[1])
        kind = str(meta.get("class"))
        name = kind.rsplit(".", 1)[-1]
        if kind == GBT:
            raise NotImplementedError(f"{name}: not scored with numpy; Spark evaluates it")
        if kind not in (DECISION_TREE, RANDOM_FOREST):
            raise ValueError(
                f"{_metadata_file(stage_dirs[1])}: expected {DECISION_TREE} or "
                f"{RANDOM_FOREST}, found {kind!r}"
            )
        if "thresholds" in meta.get("paramMap", {}):
            raise NotImplementedError(f"{name} with thresholds: Spark evaluates it")
        num_classes = meta.get("numClasses")
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                f"{_metadata_file(stage_dirs[1])}: expected numClasses >= 2, found {num_classes!r}"
            )
        nodes = _node_rows(stage_dirs[1] / "data", ensemble=kind == RANDOM_FOREST)
        ensemble = kind == RANDOM_FOREST
        trees = tuple(_tree(rows, num_classes, where, ensemble) for where, rows in nodes)
        return cls(name, trees, num_classes, ensemble)

    def score(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(score, prediction) of each row of `x` (float64, columns MODEL_INPUTS in order):
        what Spark's transform gives as fraud_score() and `prediction`."""
        x = np.asarray(x, np.float64)
        if x.ndim != 2 or x.shape[1] != len(MODEL_INPUTS):
            raise ValueError(
                f"expected rows of the {len(MODEL_INPUTS)} model inputs, got shape {x.shape}"
            )
        return self._score(len(x), lambda start, stop: x[start:stop])

    def score_columns(self, columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """`score` of the matrix these columns make (MODEL_INPUTS in order, any numeric
        dtype: converted to double chunk by chunk, as VectorAssembler does), without ever
        holding it: 6.35 M customers x 21 inputs are 1 GB of doubles."""
        arrays = [np.asarray(c) for c in columns]
        lengths = {len(a) for a in arrays}
        if len(arrays) != len(MODEL_INPUTS) or len(lengths) > 1:
            raise ValueError(
                f"expected {len(MODEL_INPUTS)} model input columns of one length, got "
                f"{len(arrays)} of lengths {sorted(lengths)}"
            )
        n = lengths.pop() if lengths else 0

        def rows(start: int, stop: int) -> np.ndarray:
            chunk = np.empty((min(stop, n) - start, len(arrays)))
            for i, a in enumerate(arrays):
                chunk[:, i] = a[start:stop]
            return chunk

        return self._score(n, rows)

    def _score(self, n: int, rows_of: RowsOf) -> tuple[np.ndarray, np.ndarray]:
        if not n:
            return np.empty(0), np.empty(0)
        if not self.ensemble:  # every row gets its leaf's outputs, computed once per node
            (tree,) = self.trees
            with np.errstate(divide="ignore", invalid="ignore"):  # stats summing to 0: no row
                node_score, node_prediction = _outputs(tree.raw)
            leaves = np.concatenate([tree.leaves(rows) for rows in _chunks(n, rows_of)])
            return node_score[leaves], node_prediction[leaves]
        return _outputs(np.concatenate([self._votes(rows) for rows in _chunks(n, rows_of)]))

    def _votes(self, rows: _Rows) -> np.ndarray:
        """A random forest's rawPrediction of each row: its trees' shares, added in order."""
        votes = np.zeros((len(rows.base), self.num_classes))
        for tree in self.trees:
            votes += tree.raw[tree.leaves(rows)]
        return votes


def _chunks(n: int, rows_of: RowsOf) -> Iterator[_Rows]:
    """Rows [0, n) in chunks of CHUNK_ROWS, as the walk reads them."""
    for start in range(0, n, CHUNK_ROWS):
        chunk = np.ascontiguousarray(rows_of(start, start + CHUNK_ROWS), np.float64)
        if np.isnan(chunk).any():
            raise ValueError("NaN among the model inputs (Spark's VectorAssembler refuses it)")
        yield _Rows(chunk.ravel(), np.arange(len(chunk), dtype=np.int64) * chunk.shape[1])


def _outputs(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, prediction) of rawPredictions: probability = raw / its sum, its class-1
    value rounded; prediction = the index of the first largest raw value."""
    return spark_round(raw[:, 1] / _sum(raw)), np.argmax(raw, axis=1).astype(np.float64)


def _sum(values: np.ndarray) -> np.ndarray:
    """Row sums added left to right, as Scala's `sum` of an array does."""
    total = values[:, 0].copy()
    for c in range(1, values.shape[1]):
        total += values[:, c]
    return total


def _metadata_file(stage_dir: Path) -> Path:
    parts = sorted((stage_dir / "metadata").glob("part-*"))
    if len(parts) != 1:
        raise ValueError(
            f"{stage_dir / 'metadata'}: expected one part-* file (a saved Spark ML model's "
            f"metadata), found {len(parts)}"
        )
    return parts[0]


def _metadata(stage_dir: Path) -> dict[str, Any]:
    path = _metadata_file(stage_dir)
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a Spark ML metadata JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: not a Spark ML metadata JSON object")
    return meta


_NODE_COLUMNS = ("id", "leftChild", "rightChild", "impurityStats", "split")


def _node_rows(data_dir: Path, ensemble: bool) -> list[tuple[str, dict[str, Any]]]:
    """[(where, {column: array})] per tree, in tree order."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted(data_dir.glob("part-*.parquet"))
    if not files:
        raise ValueError(
            f"{data_dir}: expected the tree's nodes in part-*.parquet files, found none"
        )
    tables = []
    for path in files:
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise ValueError(f"{path}: not a Parquet file of tree nodes ({exc})") from None
        if ensemble:
            if not {"treeID", "nodeData"} <= set(table.column_names):
                raise ValueError(
                    f"{path}: expected columns treeID, nodeData, found {table.column_names}"
                )
            nodes = pa.Table.from_struct_array(table["nodeData"].combine_chunks())
            table = nodes.append_column("treeID", table["treeID"])
        missing = [c for c in _NODE_COLUMNS if c not in table.column_names]
        if missing:
            raise ValueError(
                f"{path}: expected tree node columns {list(_NODE_COLUMNS)}, missing {missing}"
            )
        tables.append(table)
    table = pa.concat_tables(tables, promote_options="default")
    where = str(data_dir)
    if not ensemble:
        return [(where, _columns(table))]
    trees = []
    for tree_id in range(int(pc.max(table["treeID"]).as_py()) + 1):
        rows = table.filter(pc.equal(table["treeID"], tree_id))
        if rows.num_rows == 0:
            raise ValueError(f"{where}: no nodes of tree {tree_id}")
        trees.append((f"{where} (tree {tree_id})", _columns(rows)))
    return trees


def _columns(table: Any) -> dict[str, Any]:
    split = table["split"].combine_chunks()
    return {
        "id": table["id"].to_numpy(),
        "left": table["leftChild"].to_numpy(),
        "right": table["rightChild"].to_numpy(),
        "stats": table["impurityStats"].to_pylist(),
        "feature": split.field("featureIndex").to_numpy(zero_copy_only=False),
        "threshold": split.field("leftCategoriesOrThreshold").to_pylist(),
        "categories": split.field("numCategories").to_numpy(zero_copy_only=False),
    }


def _tree(nodes: dict[str, Any], num_classes: int, where: str, ensemble: bool) -> _Tree:
    """Node rows -> arrays indexed by id, checked as MLlib's loader checks them (ids
    0..n-1, children after their parent: pre-order)."""
    order = np.argsort(nodes["id"], kind="stable")
    n = len(order)
    ids, left, right = (
        np.asarray(nodes[k])[order].astype(np.int64) for k in ("id", "left", "right")
    )
    if not np.array_equal(ids, np.arange(n)):
        raise ValueError(f"{where}: expected node ids 0..{n - 1}")
    internal = left != -1
    if (internal & ((left <= ids) | (right <= ids) | (left >= n) | (right >= n))).any():
        raise ValueError(
            f"{where}: a node's children are not later nodes of the tree (pre-order ids)"
        )
    if (np.asarray(nodes["categories"])[order][internal] != -1).any():
        raise NotImplementedError(f"{where}: categorical splits are not scored with numpy")
    stats = [nodes["stats"][i] for i in order]
    if any(len(s) != num_classes for s in stats):
        raise ValueError(f"{where}: expected {num_classes} impurityStats per node")
    thresholds = [nodes["threshold"][i] for i in order]
    if any(len(t) != 1 for t, inner in zip(thresholds, internal, strict=True) if inner):
        raise ValueError(f"{where}: expected one threshold per continuous split")
    threshold = np.array(
        [t[0] if inner else np.inf for t, inner in zip(thresholds, internal, strict=True)]
    )
    feature = np.where(internal, np.asarray(nodes["feature"])[order], 0).astype(np.int64)
    if ((feature < 0) | (feature >= len(MODEL_INPUTS))).any():
        raise ValueError(
            f"{where}: a split's feature index is outside the {len(MODEL_INPUTS)} inputs"
        )
    depth = np.zeros(n, np.int64)
    for i in range(n):  # pre-order: a parent's depth is known before its children's
        if internal[i]:
            depth[left[i]] = depth[right[i]] = depth[i] + 1
    raw = np.array(stats, np.float64).reshape(n, num_classes)
    if ensemble:  # a forest adds each tree's stats / their sum (none when they sum to 0)
        total = _sum(raw)[:, None]
        raw = np.divide(raw, total, out=np.zeros_like(raw), where=total != 0)
    children = np.stack([np.where(internal, left, ids), np.where(internal, right, ids)], axis=1)
    return _Tree(feature, threshold, children.ravel(), raw, int(depth.max()))
