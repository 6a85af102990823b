"""What `make images` promises about every image: tag = the stage's version, OCI labels,
a content label that makes a changed stage refuse to reuse its tag, a non-root user, no
build tools or tests inside, Spark stages sharing one runtime."""

from __future__ import annotations

import subprocess

import pytest

pytestmark = [pytest.mark.containers, pytest.mark.slow]

STAGES = ("split", "etl", "train", "provenance", "score")


def in_image(images, ref: str, script: str) -> list[str]:
    return [images.engine, "run", "--rm", "--entrypoint", "", ref, "sh", "-c", script]


def run_in(images, ref: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        in_image(images, ref, script), capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("stage", STAGES)
def test_image_labels_and_user(images, stage):
    info = images.inspect(images.tag(stage))
    labels = info["Config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == images.version(stage)
    assert labels["org.opencontainers.image.title"] == f"pachflow-{stage}"
    assert labels["org.opencontainers.image.revision"]
    assert labels["org.opencontainers.image.source"]
    hashes = images.images_sh("content-hash", stage).stdout.split()
    assert labels["io.pachflow.content"] == hashes[1]
    assert info["Config"]["User"] == f"{images.uid}:{images.uid}"


@pytest.mark.parametrize("stage", STAGES)
def test_image_holds_the_stage_and_nothing_of_the_build(images, stage):
    script = (
        f"command -v pachflow-{stage} >/dev/null || echo 'no console script'; "
        "test -e /opt/uv && echo 'uv left in the image'; "
        "ls -d /opt/wheels /opt/venv-requirements.txt /opt/export 2>/dev/null; "
        "test -e /root/.cache && echo 'a cache left in the image'; "
        "test -e /run/secrets/ca && echo 'the CA secret left in the image'; "
        "find /opt/venv -type d -name tests | head -3; "
        "python3 -c 'import sys; print(sys.version_info[:2])'"
    )
    result = run_in(images, images.tag(stage), script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == ["(3, 11)"], result.stdout


def test_spark_stages_share_one_runtime_stack(images):
    """etl, train and score are the Spark runtime's layers (Java + PySpark, stored once)
    plus small layers of their own."""
    runtime_tag = images.images_sh("spark-runtime-tag").stdout.strip()
    runtime = images.inspect(runtime_tag)
    layers = runtime["RootFS"]["Layers"]
    for stage in ("etl", "train", "score"):
        info = images.inspect(images.tag(stage))
        assert info["RootFS"]["Layers"][: len(layers)] == layers, stage
        assert info["Size"] - runtime["Size"] < 0.25 * runtime["Size"], stage
    result = run_in(images, images.tag("etl"), "java -version 2>&1 | head -1")
    assert '"17.' in result.stdout, result.stdout


def test_python_stages_share_the_python_runtime_and_no_builder_layer(images):
    """split and provenance are the python runtime's layers plus their two own ones (pins,
    then the package: the wheels and the pins list are bind-mounted, not copied); nothing
    of the builder image (uv, scripts) is among them."""
    builder_tag, python_tag, _ = images.images_sh("shared-tags").stdout.split()
    runtime = images.inspect(python_tag)["RootFS"]["Layers"]
    builder = set(images.inspect(builder_tag)["RootFS"]["Layers"]) - set(runtime)
    for stage in ("split", "provenance"):
        layers = images.inspect(images.tag(stage))["RootFS"]["Layers"]
        assert layers[: len(runtime)] == runtime, stage
        assert len(layers) - len(runtime) == 2, stage  # pins, package
        assert not builder & set(layers), stage


def test_changed_content_refuses_to_reuse_the_tag(images):
    """A tag whose image was built from other content (here: another stage's image under
    split's tag) must not be overwritten silently: Pachyderm would keep the old one."""
    split = images.tag("split")
    original = images.inspect(split)["Id"]
    try:
        subprocess.run([images.engine, "tag", images.tag("provenance"), split], check=True)
        refused = images.images_sh("build", "split", OVERWRITE="")
        assert refused.returncode == 2
        assert f"{split} already exists with different content" in refused.stderr
        assert "bump the version" in refused.stderr
        assert images.inspect(split)["Id"] != original, "nothing may be built after a refusal"
    finally:
        subprocess.run([images.engine, "tag", original, split], check=True)
    same = images.images_sh("build", "split", OVERWRITE="")
    assert same.returncode == 0, same.stderr
    assert "is up to date" in same.stderr
    assert images.inspect(split)["Id"] == original


def test_unpullable_base_falls_back_to_the_local_base(images):
    """Air-gapped: when BASE_IMAGE can be neither found nor pulled, the images are built
    on the registry-free local base (made with debootstrap) instead of failing."""
    registry = "localhost/pachflow-fallback-test"
    tag = f"{registry}/pachflow-split:{images.version('split')}"
    try:
        # Nothing listens on port 1: a 1 s pull timeout spares podman's three retries.
        result = images.images_sh(
            "build",
            "split",
            REGISTRY=registry,
            BASE_IMAGE="localhost:1/no-such-base:0",
            PULL_TIMEOUT="1",
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "cannot pull localhost:1/no-such-base:0" in result.stderr
        assert "building on the local base localhost/pachflow-base:bookworm" in result.stderr
        base_layers = images.inspect("localhost/pachflow-base:bookworm")["RootFS"]["Layers"]
        assert images.inspect(tag)["RootFS"]["Layers"][: len(base_layers)] == base_layers
    finally:
        made = [
            images.images_sh(
                command, *args, REGISTRY=registry, BASE_IMAGE="localhost/pachflow-base:bookworm"
            ).stdout.split()
            for command, *args in (("shared-tags",), ("installed-tag", "split"))
        ]
        for ref in (tag, *made[0], *made[1]):
            subprocess.run([images.engine, "rmi", ref], capture_output=True, check=False)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_cli_starts_in_its_image(images, stage):
    """`--help` imports the whole CLI: a dependency missing from the package's own
    pyproject (present locally only through another package) fails here."""
    images.require_stage(stage)
    result = subprocess.run(
        [images.engine, "run", "--rm", images.tag(stage), f"pachflow-{stage}", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Usage: pachflow-{stage}" in result.stdout


# Starts Spark as a stage does and prints where SparkContext's class was loaded from.
SPARK_CLASS_SOURCE = """
from pachflow_spark import SparkSettings, build_session
log = "-Xlog:class+load=info:file=/tmp/classes.log"
spark = build_session("cds-check", SparkSettings("local[1]", "512m", 1), java_options=log)
spark.range(10).count()
spark.stop()
print(next(l for l in open("/tmp/classes.log") if "org.apache.spark.SparkContext " in l))
"""


SPARK_STAGES = ("etl", "train", "score")


@pytest.fixture(scope="module")
def spark_class_sources(images) -> dict[str, subprocess.CompletedProcess[str]]:
    """Spark started in each Spark stage's image, the three at once: a JVM start is mostly
    one core's work, so side by side they take ~60 % as long as one after another."""
    script = f"python -c '{SPARK_CLASS_SOURCE}' 2>&1"
    started = {
        stage: subprocess.Popen(
            in_image(images, images.tag(stage), script),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for stage in SPARK_STAGES
    }
    finished = {}
    for stage, run in started.items():
        stdout, _ = run.communicate()
        finished[stage] = subprocess.CompletedProcess(run.args, run.returncode, stdout, "")
    return finished


@pytest.mark.parametrize("stage", SPARK_STAGES)
def test_spark_stages_start_from_the_runtime_class_archive(images, spark_class_sources, stage):
    """The runtime image carries Spark's class archive and the stage's JVM maps it (a stale
    one would be ignored silently, costing ~2.5 s per start)."""
    images.require_stage(stage)
    result = spark_class_sources[stage]
    assert result.returncode == 0, result.stdout[-3000:]
    assert "source: shared objects file (top)" in result.stdout, result.stdout[-3000:]
