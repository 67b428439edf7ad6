"""The base image's build context: the repository's recipe, package and locked versions, and a
tag that changes exactly when one of them does."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sagemaker_stack.config import StackConfig
from sagemaker_stack.ops.images import (
    ImageBuildError,
    build_base_image,
    build_context,
    buildspec,
    constraints,
    image_uri,
)
from tests.support.runtime_fakes import ACCOUNT

REPO = Path(__file__).resolve().parents[3]


def _config(**changes: object) -> StackConfig:
    values: dict[str, object] = {
        "stack_name": "sagemaker-stack",
        "region": "us-east-1",
        "account": ACCOUNT,
        "resource_prefix": "zenml-sagemaker",
        "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/execution",
        "bucket_name": "zenml-sagemaker-artifacts",
        "artifact_path": "s3://zenml-sagemaker-artifacts/zenml",
        "registry_uri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
        "repository_name": "zenml-sagemaker-zenml",
        "secret_arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:zenml-sagemaker/zenml-AbCdEf",
        "image_builder_project": "zenml-sagemaker-image-builder",
    }
    values.update(changes)
    return StackConfig.model_validate(values)


def _copy_repo(tmp_path: Path) -> Path:
    shutil.copytree(
        REPO / "orchestrator", tmp_path / "orchestrator", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "uv.lock", tmp_path / "uv.lock")
    return tmp_path


def test_the_context_holds_the_recipe_the_package_and_the_locked_versions() -> None:
    context = build_context(REPO, "cpu")
    assert context.files["Dockerfile"] == (REPO / "orchestrator/images/cpu.Dockerfile").read_bytes()
    assert "sagemaker-stack/pyproject.toml" in context.files
    assert "sagemaker-stack/src/sagemaker_stack/step/entrypoint.py" in context.files
    assert not [name for name in context.files if "__pycache__" in name or name.endswith(".pyc")]
    pins = context.files["constraints.txt"].decode().splitlines()
    assert "zenml==0.98.0" in pins
    assert all("==" in pin for pin in pins)
    with zipfile.ZipFile(io.BytesIO(context.zip())) as archive:
        assert sorted(archive.namelist()) == sorted(context.files)


def test_the_tag_changes_with_the_package_and_only_then(tmp_path: Path) -> None:
    repo = _copy_repo(tmp_path)
    first = build_context(repo, "cpu")
    assert build_context(repo, "cpu").digest == first.digest
    assert build_context(repo, "cpu").zip() == first.zip()  # the same bytes: the same S3 object
    entrypoint = repo / "orchestrator/src/sagemaker_stack/step/entrypoint.py"
    entrypoint.write_text(entrypoint.read_text() + "\n# changed\n")
    changed = build_context(repo, "cpu")
    assert changed.digest != first.digest
    assert image_uri(_config(), changed) != image_uri(_config(), first)
    assert build_context(repo, "cuda").digest != changed.digest


def test_constraints_pin_single_versions_and_skip_forks(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(
        "version = 1\n"
        '[[package]]\nname = "zenml"\nversion = "0.98.0"\nsource = { registry = "https://pypi.org/simple" }\n'
        '[[package]]\nname = "numpy"\nversion = "1.26.4"\nsource = { registry = "https://pypi.org/simple" }\n'
        '[[package]]\nname = "numpy"\nversion = "2.1.0"\nsource = { registry = "https://pypi.org/simple" }\n'
        '[[package]]\nname = "sagemaker-stack"\nversion = "0.1.0"\nsource = { editable = "orchestrator" }\n'
    )
    assert constraints(lock) == "zenml==0.98.0\n"


def test_the_buildspec_logs_in_builds_and_pushes_the_one_image() -> None:
    config = _config()
    image = f"{config.repository_uri}:sagemaker-stack-cpu-0123456789abcdef"
    spec = buildspec(config, image)
    assert f"docker login --username AWS --password-stdin {config.registry_uri}" in spec
    assert f"docker build -t {image} ." in spec and f"docker push {image}" in spec


def test_an_unknown_variant_and_a_missing_recipe_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageBuildError, match="unknown image variant 'tpu'"):
        build_context(REPO, "tpu")
    with pytest.raises(ImageBuildError, match=r"cpu\.Dockerfile is missing"):
        build_context(tmp_path, "cpu")


def test_a_stack_without_an_image_builder_says_how_to_get_one() -> None:
    with pytest.raises(ImageBuildError, match="image_builder=codebuild"):
        build_base_image(_config(image_builder_project=None), app_dir=REPO, echo=print)


@pytest.mark.parametrize("variant", ["cpu", "cuda"])
def test_the_recipes_are_hadolint_clean(variant: str) -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    dockerfile = REPO / "orchestrator" / "images" / f"{variant}.Dockerfile"
    result = subprocess.run([str(hadolint), str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_catch_a_bad_recipe(tmp_path: Path) -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = subprocess.run([str(hadolint), str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3007" in result.stdout and "DL3013" in result.stdout
