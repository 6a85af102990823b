"""The Kubernetes path's files: train's S3 variant (pipelines/cluster/train.json) makes a
valid DAG with the default split, etl and provenance specs (`pachflow validate`, pinned
image, canonical format), reads through Pachyderm's S3 gateway and points at the Spark
Connect server infra/spark deploys, whose Spark and Hadoop match the clients'. Every
manifest there parses and holds together. Applying them needs Kubernetes: the live check
runs where `kubectl` reaches a cluster with the server, and skips naming that here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pachflow.pipeline_spec.validate import validate_files
from pachflow_spark import parse_endpoint
from pachflow_spark.object_store import hadoop_aws_package

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"
CLUSTER_SPECS = sorted((PIPELINES / "cluster").glob("*.json"))
MANIFESTS = sorted((ROOT / "infra" / "spark").glob("*.yaml"))
PACHFLOW = str(Path(sys.executable).parent / "pachflow")


def dag_with(variant: Path) -> list[Path]:
    """The committed DAG with `variant` in place of the spec of the same pipeline."""
    return [variant if p.name == variant.name else p for p in sorted(PIPELINES.glob("*.json"))]


def documents() -> dict[tuple[str, str], dict]:
    return {
        (d["kind"], d["metadata"]["name"]): d
        for path in MANIFESTS
        for d in yaml.safe_load_all(path.read_text())
        if d
    }


def server_conf() -> dict[str, str]:
    container = documents()[("Deployment", "spark-connect")]["spec"]["template"]["spec"]
    args = container["containers"][0]["args"]
    return dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--conf")


def test_there_is_a_cluster_variant_and_a_manifest():
    assert [p.name for p in CLUSTER_SPECS] == ["train.json"]
    assert [p.name for p in MANIFESTS] == ["spark-connect.yaml"]


@pytest.mark.parametrize("variant", CLUSTER_SPECS, ids=lambda p: p.name)
def test_each_variant_makes_a_valid_dag_with_the_committed_specs(variant):
    report = validate_files(dag_with(variant))
    assert report.ok, report.problems
    done = subprocess.run(
        [PACHFLOW, "validate", *map(str, dag_with(variant))], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = variant.read_text()
    assert text == json.dumps(json.loads(text), indent=2) + "\n"  # canonical, like pin writes


def test_train_reads_through_the_s3_gateway_from_the_connect_server():
    spec = json.loads((PIPELINES / "cluster" / "train.json").read_text())
    pfs = spec["input"]["pfs"]
    assert pfs["s3"] is True and pfs["glob"] == "/"  # pachd's rule for s3 inputs
    assert spec["transform"]["cmd"][1] == f"s3a://{pfs['repo']}"  # the input's bucket, S3A
    endpoint = parse_endpoint(spec["transform"]["env"]["PACHFLOW_SPARK_MASTER"])
    service = documents()[("Service", "spark-connect")]
    host, port = endpoint.addresses[0]
    assert endpoint.is_connect
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    assert host == f"{name}.{namespace}.svc.cluster.local"
    assert port == service["spec"]["ports"][0]["port"]
    assert port == int(server_conf()["spark.connect.grpc.binding.port"])


def test_etl_stays_on_the_workers_reading_pfs():
    etl = json.loads((PIPELINES / "etl.json").read_text())
    assert "s3" not in etl["input"]["pfs"] and "/pfs/split" in etl["transform"]["cmd"]
    assert etl["transform"]["env"]["PACHFLOW_SPARK_MASTER"].startswith("local")


def test_the_server_matches_the_clients_spark_and_hadoop():
    import pyspark

    deploy = documents()[("Deployment", "spark-connect")]
    images = {server_conf()["spark.kubernetes.container.image"]}
    images.add(deploy["spec"]["template"]["spec"]["containers"][0]["image"])
    assert images == {f"apache/spark:{pyspark.__version__}"}
    assert server_conf()["spark.jars.packages"] == hadoop_aws_package()


def test_executors_reach_the_driver_at_a_fixed_name_and_ports():
    conf, docs = server_conf(), documents()
    headless = docs[("Service", "spark-connect-driver")]
    assert headless["spec"]["clusterIP"] == "None"
    assert conf["spark.driver.host"].startswith(f"{headless['metadata']['name']}.spark.svc")
    ports = {p["port"] for p in headless["spec"]["ports"]}
    assert ports == {int(conf["spark.driver.port"]), int(conf["spark.blockManager.port"])}
    role = docs[("Role", "spark-connect-executors")]
    assert "pods" in role["rules"][0]["resources"] and "create" in role["rules"][0]["verbs"]
    deploy = docs[("Deployment", "spark-connect")]["spec"]["template"]["spec"]
    assert (
        deploy["serviceAccountName"]
        == docs[("ServiceAccount", "spark-connect")]["metadata"]["name"]
    )


def _server_deployed() -> bool:
    if shutil.which("kubectl") is None:
        return False
    probe = subprocess.run(
        ["kubectl", "-n", "spark", "get", "deploy/spark-connect"], capture_output=True, timeout=20
    )
    return probe.returncode == 0


@pytest.mark.cluster
@pytest.mark.skipif(
    not _server_deployed(),
    reason="needs kubectl and a Kubernetes cluster with infra/spark/spark-connect.yaml applied "
    "(none on this machine)",
)
def test_the_deployed_server_answers_with_the_clients_version():
    import pyspark

    forward = subprocess.Popen(
        ["kubectl", "-n", "spark", "port-forward", "svc/spark-connect", "15002:15002"]
    )
    try:
        from pachflow_spark import SparkSettings, build_session

        spark = build_session("probe", SparkSettings("sc://127.0.0.1:15002", timeout=60))
        assert spark.version == pyspark.__version__
        assert spark.range(10).count() == 10
        spark.stop()
    finally:
        forward.terminate()
