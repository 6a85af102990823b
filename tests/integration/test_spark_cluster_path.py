"""The cluster path's files: the cluster variant of the Spark pipelines (pipelines/cluster)
is a valid DAG with the default split and provenance specs, reaches its data through
Pachyderm's S3 gateway, and points at the Spark Connect server that infra/spark deploys,
whose Spark and Hadoop versions match the clients'. Applying them needs Kubernetes: the
live check runs where `kubectl` reaches a cluster with the server and skips here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pachflow.pipeline_spec.validate import validate_files
from pachflow_spark import parse_endpoint

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "pipelines" / "cluster"
MANIFEST = ROOT / "infra" / "spark" / "spark-connect.yaml"
OVERLAY = [
    ROOT / "pipelines" / "split.json",
    CLUSTER / "etl.json",
    CLUSTER / "train.json",
    ROOT / "pipelines" / "provenance.json",
]


def spec(name: str) -> dict:
    return json.loads((CLUSTER / f"{name}.json").read_text())


def manifests() -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(MANIFEST.read_text())}


def server_args() -> list[str]:
    deploy = manifests()[("Deployment", "spark-connect")]
    return deploy["spec"]["template"]["spec"]["containers"][0]["args"]


def server_conf() -> dict[str, str]:
    args = server_args()
    pairs = [args[i + 1] for i, a in enumerate(args) if a == "--conf"]
    return dict(p.split("=", 1) for p in pairs)


def test_the_overlay_is_a_valid_dag_with_pinned_images():
    report = validate_files(OVERLAY)
    assert report.ok, report.problems
    assert [s.name for s in report.specs] == ["split", "etl", "train", "provenance"]


@pytest.mark.parametrize("name", ["etl", "train"])
def test_spark_stages_read_through_the_s3_gateway_and_use_the_connect_server(name):
    s = spec(name)
    pfs = s["input"]["pfs"]
    assert pfs["s3"] is True and pfs["glob"] == "/"  # pachd's rule for s3 inputs
    assert s["transform"]["cmd"][1] == f"s3://{pfs['repo']}"  # the input's bucket
    endpoint = parse_endpoint(s["transform"]["env"]["PACHFLOW_SPARK_MASTER"])
    service = manifests()[("Service", "spark-connect")]
    host, port = endpoint.addresses[0]
    assert endpoint.is_connect
    assert (
        host
        == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    )
    assert (
        port
        == service["spec"]["ports"][0]["port"]
        == int(server_conf()["spark.connect.grpc.binding.port"])
    )
    assert s["sidecarResourceRequests"]["memory"]  # the sidecar now serves the data


def test_etl_writes_its_output_commit_through_the_gateway():
    s = spec("etl")
    assert s["s3Out"] is True and s["transform"]["cmd"][2] == "s3://out"


def test_the_server_matches_the_clients_spark_and_hadoop():
    import pyspark

    images = {server_conf()["spark.kubernetes.container.image"]}
    deploy = manifests()[("Deployment", "spark-connect")]
    images.add(deploy["spec"]["template"]["spec"]["containers"][0]["image"])
    assert images == {f"apache/spark:{pyspark.__version__}"}
    hadoop = sorted((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    version = hadoop[0].name.removeprefix("hadoop-client-api-").removesuffix(".jar")
    assert server_conf()["spark.jars.packages"] == f"org.apache.hadoop:hadoop-aws:{version}"


def test_executors_reach_the_driver_at_a_fixed_name_and_ports():
    conf = server_conf()
    headless = manifests()[("Service", "spark-connect-driver")]
    assert headless["spec"]["clusterIP"] == "None"
    assert conf["spark.driver.host"].startswith(f"{headless['metadata']['name']}.spark.svc")
    ports = {p["port"] for p in headless["spec"]["ports"]}
    assert ports == {int(conf["spark.driver.port"]), int(conf["spark.blockManager.port"])}
    role = manifests()[("Role", "spark-connect-executors")]
    assert "pods" in role["rules"][0]["resources"] and "create" in role["rules"][0]["verbs"]


def _cluster_reachable() -> bool:
    if shutil.which("kubectl") is None:
        return False
    probe = subprocess.run(
        ["kubectl", "-n", "spark", "get", "deploy/spark-connect"], capture_output=True, timeout=20
    )
    return probe.returncode == 0


@pytest.mark.skipif(
    not _cluster_reachable(),
    reason="needs kubectl and a Kubernetes cluster with infra/spark/spark-connect.yaml applied "
    "(none on this machine)",
)
def test_the_deployed_server_answers_with_the_clients_version():
    pf = subprocess.Popen(
        ["kubectl", "-n", "spark", "port-forward", "svc/spark-connect", "15002:15002"]
    )
    try:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote("sc://127.0.0.1:15002").getOrCreate()
        import pyspark

        assert spark.version == pyspark.__version__
        assert spark.range(10).count() == 10
        spark.stop()
    finally:
        pf.terminate()
