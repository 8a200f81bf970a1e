"""Every file in deploy/ is parsed or checked: YAML with the fields the Spark operator requires
and arguments the job accepts, `bash -n` on every script, the Dockerfile's COPY sources and its
pip installs equal to the Makefile's. A new kind of file fails until it gets a check here."""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SCRIPT_SUFFIXES = {".sh", ".sbatch"}
#: Fields the kubeflow spark-operator's SparkApplication (v1beta2) CRD requires, or needs for a Python job.
OPERATOR_FIELDS = ("type", "mode", "image", "mainApplicationFile", "sparkVersion", "driver", "executor")


def test_every_deploy_file_has_a_check():
    kinds = {path.relative_to(DEPLOY).as_posix(): path.suffix for path in DEPLOY.rglob("*") if path.is_file()}
    unchecked = [name for name, suffix in kinds.items()
                 if suffix not in SCRIPT_SUFFIXES | {".yaml", ".md"} and Path(name).name != "Dockerfile"]
    assert unchecked == []


@pytest.mark.parametrize("guide", sorted(p.relative_to(REPO).as_posix() for p in DEPLOY.rglob("*.md")), ids=str)
def test_guide_commands_parse_and_name_existing_files(guide):
    text = (REPO / guide).read_text()
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        done = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
        assert done.returncode == 0, f"{guide}: {done.stderr}"
    named = set(re.findall(r"\bdeploy/[\w./-]+\.(?:sh|sbatch|yaml)", text))
    assert [path for path in sorted(named) if not (REPO / path).is_file()] == []


@pytest.mark.parametrize("script", sorted(p.relative_to(REPO).as_posix() for p in DEPLOY.rglob("*")
                                          if p.suffix in SCRIPT_SUFFIXES), ids=str)
def test_script_parses_with_bash_n(script):
    done = subprocess.run(["bash", "-n", str(REPO / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("manifest", sorted(p.relative_to(REPO).as_posix() for p in DEPLOY.rglob("*.yaml")), ids=str)
def test_spark_application_has_the_operators_fields_and_job_arguments(manifest):
    document = yaml.safe_load((REPO / manifest).read_text())
    assert document["apiVersion"] == "sparkoperator.k8s.io/v1beta2" and document["kind"] == "SparkApplication"
    assert document["metadata"]["name"]
    spec = document["spec"]
    assert [name for name in OPERATOR_FIELDS if name not in spec] == []
    assert spec["type"] == "Python" and spec["mode"] in ("cluster", "client")
    for role in ("driver", "executor"):
        assert spec[role]["cores"] >= 1 and re.fullmatch(r"\d+[mg]", spec[role]["memory"])
    job = re.fullmatch(r"local:///opt/dataflow/(jobs/\w+)\.py", spec["mainApplicationFile"]).group(1)
    assert (REPO / f"{job}.py").is_file()
    importlib.import_module(job.replace("/", ".")).parse_args([str(arg) for arg in spec["arguments"]])


def _pip_installs(lines: list[str]) -> set[str]:
    """The packages of every `pip install` line, flags dropped, `.[extras]` as `.`."""
    found = set()
    for line in lines:
        words = shlex.split(line.split("pip install", 1)[1].split("&&")[0].rstrip("\\"))
        found |= {re.sub(r"^\.\[.*\]$", ".", word) for word in words if not word.startswith("-")}
    return found


def test_dockerfile_installs_what_the_makefile_installs():
    docker = (DEPLOY / "Dockerfile").read_text()
    make = (REPO / "Makefile").read_text()
    assert _pip_installs([line for line in docker.splitlines() if "pip install" in line]) == \
        _pip_installs([line for line in make.splitlines() if "pip install" in line])
    for source in re.findall(r"^COPY (.+) \S+$", docker, flags=re.M):
        assert all((REPO / name).exists() for name in source.split()), source
