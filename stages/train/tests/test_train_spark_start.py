"""train starts its Spark session beside its MLflow connection (spark_start): what the
start raises reaches the stage as open_session's own error, where the session is asked for;
a Spark Connect session is opened in the asking thread (pyspark.ml needs it active there)."""

from __future__ import annotations

import pytest

from pachflow_spark import BadEndpoint, SparkSettings
from pachflow_spark.servers import free_port
from pachflow_train.spark_start import SessionStart


@pytest.mark.parametrize("scheme", ["spark", "sc"])
def test_a_start_that_fails_raises_open_sessions_error_where_the_session_is_asked_for(scheme):
    url = f"{scheme}://127.0.0.1:{free_port()}"  # nothing listens there
    starting = SessionStart("test", SparkSettings(master=url, timeout=0.5))
    assert (starting._thread is None) == (scheme == "sc")  # Connect: opened when asked for
    with pytest.raises(BadEndpoint, match=f"Spark endpoint {url} does not answer"):
        starting.session()
    starting.discard()  # a failed start leaves nothing to stop: no second error


@pytest.mark.spark
def test_discard_leaves_running_a_spark_the_process_had_before(spark):
    """In a process that already runs Spark (a notebook's, or the test session's, shared
    through getOrCreate), a train that fails before it needs Spark must not stop it."""
    starting = SessionStart("test", SparkSettings(master=spark.sparkContext.master))
    assert starting.session() is spark
    starting.discard()
    assert spark.range(3).count() == 3
