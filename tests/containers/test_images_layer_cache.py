"""A changed input reaches the image even where podman's layer cache cannot see it:
podman < 5.4 reuses a cached RUN step when only the content of its bind mounts changed,
so the steps that mount the builder's scripts or libs/spark's sources are keyed by a hash
of them (docker/images.sh passes it as a build arg). Each test changes one such input in
a copy of the repo, builds under a throwaway registry and looks for the change inside."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.containers, pytest.mark.slow]

REGISTRY = "localhost/pachflow-cache-test"


def _contains(images, ref: str, path: str) -> bool:
    result = subprocess.run(
        [images.engine, "run", "--rm", "--entrypoint", "", ref, "test", "-e", path],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _remove_tags(images, repo: Path, *refs: str) -> None:
    shared = images.images_sh("shared-tags", repo=repo, REGISTRY=REGISTRY).stdout.split()
    for ref in (*refs, *shared):
        subprocess.run([images.engine, "rmi", ref], capture_output=True, check=False)


def test_a_changed_install_script_re_runs_the_install_steps(images, repo_copy):
    """The pins and the package layers are made by the builder's install-package, which
    is bind-mounted: an edited script must run again, not be answered from the cache."""
    script = repo_copy / "docker" / "builder" / "install-package.sh"
    text = script.read_text()
    for step in ("requirements", "wheels"):  # a marker once the step's venv exists
        text = text.replace(
            f"  {step}:?*)\n", f"  {step}:?*)\n    trap 'touch $venv/.{step}-changed' EXIT\n"
        )
    script.write_text(text)
    tag = f"{REGISTRY}/pachflow-split:{images.version('split')}"
    installed = images.images_sh("installed-tag", "split", repo=repo_copy, REGISTRY=REGISTRY)
    try:
        built = images.images_sh("build", "split", repo=repo_copy, REGISTRY=REGISTRY)
        assert built.returncode == 0, built.stderr[-3000:]
        assert _contains(images, tag, "/opt/venv/.requirements-changed"), "stale pins layer"
        assert _contains(images, tag, "/opt/venv/.wheels-changed"), "stale package layer"
    finally:
        _remove_tags(images, repo_copy, tag, installed.stdout.strip())


def test_changed_spark_sources_re_make_the_class_archive(images, repo_copy):
    """The Spark runtime's class archive is made by libs/spark's own code, bind-mounted
    for that step: changed sources must make it again. The changed code leaves a marker
    and stops there: the step re-running is what is checked here, and archiving Spark's
    classes (a Spark job, ~40 s) is checked on the real images (test_images_build)."""
    cds = repo_copy / "libs" / "spark" / "src" / "pachflow_spark" / "cds.py"
    marker = "/opt/venv/share/pachflow/workload-changed"
    cds.write_text(
        cds.read_text().replace(
            'if __name__ == "__main__":\n',
            f'if __name__ == "__main__":\n    Path("{marker}").parent.mkdir(parents=True)\n'
            f'    Path("{marker}").touch()\n    sys.exit(0)\n',
        )
    )
    runtime = images.images_sh("shared-tags", "spark", repo=repo_copy, REGISTRY=REGISTRY)
    try:
        built = images.images_sh("build-shared", "spark", repo=repo_copy, REGISTRY=REGISTRY)
        assert built.returncode == 0, built.stderr[-3000:]
        assert built.stdout.split() == runtime.stdout.split()
        assert _contains(images, runtime.stdout.strip(), marker), "stale class-archive layer"
    finally:
        _remove_tags(images, repo_copy)
