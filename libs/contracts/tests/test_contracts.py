import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pachflow_contracts import FEATURES, MODEL_INPUTS, TRANSACTIONS, ContractError
from pachflow_contracts.contract import VERSION_KEY


def _empty_table(schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([], schema=schema)


def test_a_file_written_with_the_stamped_schema_passes(tmp_path):
    path = tmp_path / "ok.parquet"
    pq.write_table(_empty_table(TRANSACTIONS.stamped_schema()), path)
    assert TRANSACTIONS.check_file(path).names == TRANSACTIONS.columns


def test_missing_column_names_file_column_and_expected_type(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(_empty_table(TRANSACTIONS.schema.remove(2)), path)
    with pytest.raises(ContractError) as err:
        TRANSACTIONS.check_file(path)
    msg = str(err.value)
    assert str(path) in msg and "missing column 'amount'" in msg and "double" in msg


def test_wrong_type_names_expected_and_found(tmp_path):
    schema = TRANSACTIONS.schema.set(0, pa.field("step", pa.string()))
    path = tmp_path / "bad.parquet"
    pq.write_table(_empty_table(schema), path)
    with pytest.raises(ContractError, match=r"column 'step': expected int32, found string"):
        TRANSACTIONS.check_file(path)


def test_a_newer_contract_version_is_refused(tmp_path):
    meta = dict(TRANSACTIONS.stamped_schema().metadata)
    meta[VERSION_KEY] = b"2"
    path = tmp_path / "v2.parquet"
    pq.write_table(_empty_table(TRANSACTIONS.schema.with_metadata(meta)), path)
    with pytest.raises(ContractError, match="version 2, expected version 1"):
        TRANSACTIONS.check_file(path)


def test_a_file_that_is_not_parquet_is_a_contract_error(tmp_path):
    path = tmp_path / "junk.parquet"
    path.write_text("not parquet")
    with pytest.raises(ContractError, match="not a readable Parquet file"):
        TRANSACTIONS.check_file(path)


def test_model_inputs_exclude_id_label_and_label_derived_columns():
    assert set(MODEL_INPUTS) <= set(FEATURES.columns)
    assert not {"nameOrig", "is_fraud", "is_flagged", "fraud_tx_count"} & set(MODEL_INPUTS)


def test_a_file_of_another_known_contract_is_named_instead_of_listing_columns(tmp_path):
    """features v1 (etl < 0.2) read where partials v1 are expected, and the other way."""
    from pachflow_contracts import PARTIALS

    old, new = tmp_path / "v1.parquet", tmp_path / "partials.parquet"
    pq.write_table(_empty_table(FEATURES.schema), old)
    pq.write_table(_empty_table(PARTIALS.schema), new)
    with pytest.raises(ContractError) as err:
        PARTIALS.check_file(old)
    assert str(err.value) == (
        f"{old}: does not match contract partials v1: it follows contract features v1 instead"
    )
    with pytest.raises(ContractError, match="it follows contract partials v1 instead"):
        FEATURES.check_file(new)


def test_feature_formulas_cover_every_feature_from_partial_columns():
    from pachflow_contracts import FEATURE_FORMULAS, PARTIALS

    assert list(FEATURE_FORMULAS) == FEATURES.columns
    assert {col for _, col in FEATURE_FORMULAS.values()} <= set(PARTIALS.columns)
