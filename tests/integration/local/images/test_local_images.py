"""Images in the emulator: built by its docker stand-in, pushed to its ECR, run by its engine."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from sagemaker_stack.local import Emulator
from tests.support.emulator import Pipelines, python_step
from tests.support.images import build_and_push, checked, docker, login, registry

#: A tiny pure-Python package from PyPI that the emulator's own environment does not have.
REQUIREMENT = "inflection==0.5.1"
APP = """\
FROM python:3.11-slim
WORKDIR /app
ARG FLAVOUR=plain
ENV GREETING="hello $FLAVOUR" DATA_DIR=/app/data
COPY requirements.txt .
RUN pip install uv && uv pip install --no-cache-dir -r requirements.txt
COPY . .
RUN chmod -R a+rw . && mkdir -p data
"""
#: A step body that reports what its container sees, as JSON in $OUT.
REPORT = """\
import json, os, sys
import inflection, zenml
json.dump({
    "camel": inflection.camelize("emulated_image"),
    "zenml": zenml.__file__,
    "python": sys.executable,
    "greeting": os.environ["GREETING"],
    "data_dir": os.environ["DATA_DIR"],
    "cwd": os.getcwd(),
    "files": sorted(os.listdir(".")),
}, open(os.environ["OUT"], "w"))
"""


def _app_context(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "Dockerfile").write_text(APP)
    (path / "requirements.txt").write_text(REQUIREMENT + "\n")
    (path / "main.py").write_text("print('the app')\n")
    return path


def _run_step(
    emulator: Emulator, image: str, code: str, out: Path, step_type: str = "Processing"
) -> dict[str, Any]:
    pipelines = Pipelines(emulator)
    arn = pipelines.start(
        python_step("report", code, environment={"OUT": str(out)}, image=image, step_type=step_type)
    )
    described = pipelines.wait(arn)
    step = pipelines.steps(arn)["report"]
    return {"execution": described, "step": step}


def test_image_with_a_requirement_is_pushed_and_its_step_imports_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    assert importlib.util.find_spec("inflection") is None, "the emulator's environment must lack the package"
    uri = build_and_push(
        emulator, _app_context(tmp_path / "app"), "app", "v1", build_args={"FLAVOUR": "local"}
    )

    ecr = emulator.client("ecr")
    details = ecr.describe_images(repositoryName="app")["imageDetails"]
    assert [detail["imageTags"] for detail in details] == [["v1"]]
    digest = details[0]["imageDigest"]
    manifest = ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])["images"][0]
    assert digest == "sha256:" + hashlib.sha256(manifest["imageManifest"].encode()).hexdigest()
    config_digest = json.loads(manifest["imageManifest"])["config"]["digest"]
    assert config_digest[7:19] in checked(docker(emulator, "images")), (
        "ECR's config digest is the local image"
    )

    out = tmp_path / "report.json"
    result = _run_step(emulator, uri, REPORT, out)
    assert result["execution"]["PipelineExecutionStatus"] == "Succeeded", result["step"].get("FailureReason")
    report = json.loads(out.read_text())
    assert report["camel"] == "EmulatedImage"
    assert report["greeting"] == "hello local"
    assert Path(report["python"]).parent.parent.parent.parent == emulator.image_store / "layers"
    # ZenML is not reinstalled: it is imported from the emulator's own site-packages (the root
    # layer), and the image's site-packages holds only its copied metadata, no zenml package.
    root_site = Path(sysconfig.get_paths()["purelib"])
    assert Path(report["zenml"]).is_relative_to(root_site)
    image_site = Path(report["python"]).parent.parent / "lib" / "python3.11" / "site-packages"
    assert (image_site / "inflection.py").exists() and not (image_site / "zenml").exists()
    # The fresh working folder starts with WORKDIR's content, and WORKDIR in ENV means that folder.
    assert {"main.py", "requirements.txt", "data", "Dockerfile"} <= set(report["files"])
    assert report["data_dir"] == str(Path(report["cwd"]) / "data")


def test_build_log_shows_only_the_missing_package_installed(emulator: Emulator, tmp_path: Path) -> None:
    context = _app_context(tmp_path / "app")
    output = checked(docker(emulator, "build", "--no-cache", "-t", "app:log", str(context)))
    assert "already satisfied by the emulator's Python environment" in output  # `pip install uv`
    assert "Installed 1 package" in output and "+ inflection==0.5.1" in output


def test_image_built_on_a_pushed_image_has_both_layers(emulator: Emulator, tmp_path: Path) -> None:
    build_and_push(emulator, _app_context(tmp_path / "app"), "app", "base")
    digest = emulator.client("ecr").describe_images(repositoryName="app")["imageDetails"][0]["imageDigest"]
    # By digest: no local tag names it, so the build finds it in the emulated ECR.
    child = f"FROM {registry()}/app@{digest}\nRUN python -m pip install six==1.16.0\n"
    uri = build_and_push(emulator, tmp_path / "child", "app", "child", dockerfile=child)
    code = (
        "import json, os, six, inflection\n"
        "json.dump([six.__version__, os.environ['GREETING']], open(os.environ['OUT'], 'w'))"
    )

    out = tmp_path / "out.json"
    result = _run_step(emulator, uri, code, out, step_type="Training")
    assert result["execution"]["PipelineExecutionStatus"] == "Succeeded", result["step"].get("FailureReason")
    assert json.loads(out.read_text()) == ["1.16.0", "hello plain"]


def test_conflicting_pin_wins_in_the_image_and_leaves_the_lower_layer_untouched(
    emulator: Emulator, tmp_path: Path
) -> None:
    import six  # in the emulator's environment, at another version than the image pins

    lower = Path(six.__file__)
    before = hashlib.sha256(lower.read_bytes()).hexdigest(), six.__version__
    uri = build_and_push(
        emulator, tmp_path / "pin", "pin", "v1", dockerfile="FROM python:3.11\nRUN pip install six==1.16.0\n"
    )
    out = tmp_path / "out.json"
    code = "import json, os, six; json.dump([six.__version__, six.__file__], open(os.environ['OUT'], 'w'))"

    assert _run_step(emulator, uri, code, out)["execution"]["PipelineExecutionStatus"] == "Succeeded"
    version, path = json.loads(out.read_text())
    assert version == "1.16.0" != before[1]
    assert Path(path).is_relative_to(emulator.image_store)
    assert (hashlib.sha256(lower.read_bytes()).hexdigest(), six.__version__) == before


def test_rebuild_with_the_same_dockerfile_reuses_the_image_and_no_cache_builds_another(
    emulator: Emulator, tmp_path: Path
) -> None:
    context = _app_context(tmp_path / "app")
    first = checked(docker(emulator, "build", "-q", "-t", "app:one", str(context))).strip()
    again = docker(emulator, "build", "-t", "app:two", str(context))
    fresh = checked(docker(emulator, "build", "-q", "--no-cache", "-t", "app:three", str(context))).strip()

    assert "Using cache" in checked(again) and first[7:19] in again.stdout
    assert fresh != first
    listing = [line.split()[:3] for line in checked(docker(emulator, "images")).splitlines()]
    short = {tag: image for repository, tag, image in listing if repository == "app"}
    assert (short["one"], short["two"], short["three"]) == (first[7:19], first[7:19], fresh[7:19])


MISSING_MANIFEST = (
    "ClientError: API error (404): manifest for {uri} not found: manifest unknown: Requested image not found"
)
CANNOT_PULL = (
    "ClientError: Cannot pull algorithm container. Either the image does not exist or its permissions are "
    "incorrect."
)
MISSING_REPOSITORY = (
    "ClientError: API error (404): repository {registry}/never-pushed not found: name unknown: The "
    "repository with name 'never-pushed' does not exist in the registry with id '123456789012'"
)
NOT_ECR = (
    "ClientError: Invalid image URI python:3.11-slim. Please provide a valid Amazon Elastic Container "
    "Registry path"
)


@pytest.mark.parametrize(
    ("step_type", "how", "reason"),
    [
        ("Processing", "deleted", MISSING_MANIFEST),
        ("Training", "deleted", CANNOT_PULL),
        ("Processing", "never pushed", MISSING_REPOSITORY),
        (
            "Training",
            "never pushed",
            "ClientError: Cannot find repository: never-pushed in registry ID: 123456789012",
        ),
        ("Processing", "not ECR", NOT_ECR),
    ],
)
def test_step_whose_image_is_not_in_ecr_fails_with_sagemakers_reason(
    emulator: Emulator, tmp_path: Path, step_type: str, how: str, reason: str
) -> None:
    if how == "deleted":
        uri = build_and_push(emulator, tmp_path / "gone", "gone", "v1", dockerfile="FROM python:3.11-slim\n")
        emulator.client("ecr").batch_delete_image(repositoryName="gone", imageIds=[{"imageTag": "v1"}])
    else:
        uri = f"{registry()}/never-pushed:v1" if how == "never pushed" else "python:3.11-slim"
    out = tmp_path / "never-written"

    result = _run_step(emulator, uri, "open(__import__('os').environ['OUT'], 'w')", out, step_type=step_type)
    assert result["execution"]["PipelineExecutionStatus"] == "Failed"
    assert result["step"]["FailureReason"].startswith(reason.format(uri=uri, registry=registry()))
    assert not out.exists()
    if how == "deleted":  # the job was created and failed pulling its image, as on SageMaker
        job = result["step"]["Metadata"][f"{step_type}Job"]["Arn"].rsplit("/", 1)[-1]
        sagemaker = emulator.client("sagemaker")
        described = (
            sagemaker.describe_processing_job(ProcessingJobName=job)
            if step_type == "Processing"
            else sagemaker.describe_training_job(TrainingJobName=job)
        )
        assert described["FailureReason"] == result["step"]["FailureReason"]


def test_unsupported_instruction_fails_the_build_naming_the_line(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\n\nRUN apt-get update && apt-get install -y git\n"
    )
    result = docker(emulator, "build", "-t", "apt:v1", str(tmp_path))

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ERROR: Dockerfile line 3: RUN apt-get update && apt-get install -y git: the emulator cannot run "
        "`apt-get`: an image here is a Python environment, not an OS (RUN may use pip / python -m pip / "
        "uv pip install, echo, true, cd, chmod, mkdir, rm, touch); install OS packages in a real Docker build"
    ]
    assert "apt:v1" not in checked(docker(emulator, "images"))


def test_bad_requirement_fails_the_build_with_uvs_error(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install inflection==0.0.404\n")
    result = docker(emulator, "build", "-t", "bad:v1", str(tmp_path))

    assert result.returncode == 1
    assert "inflection==0.0.404" in result.stdout and "No solution found" in result.stdout  # uv's own words
    assert result.stderr.strip() == (
        "ERROR: Dockerfile line 2: RUN pip install inflection==0.0.404: "
        "the command returned a non-zero code: 1"
    )
    assert "bad:v1" not in checked(docker(emulator, "images"))


def test_push_without_login_fails_like_docker(emulator: Emulator, tmp_path: Path) -> None:
    fresh_store = {"EMULATOR_IMAGE_STORE": str(tmp_path / "store")}
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    emulator.client("ecr").create_repository(repositoryName="nologin")
    uri = f"{registry()}/nologin:v1"
    checked(docker(emulator, "build", "-t", uri, str(tmp_path), env=fresh_store))

    result = docker(emulator, "push", uri, env=fresh_store)
    assert (result.returncode, result.stderr.strip()) == (1, "ERROR: no basic auth credentials")
    assert emulator.client("ecr").describe_images(repositoryName="nologin")["imageDetails"] == []


def test_push_to_a_repository_ecr_lacks_or_another_account_is_refused(
    emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    login(emulator)
    missing, elsewhere = f"{registry()}/missing:v1", "999999999999.dkr.ecr.us-east-1.amazonaws.com/x:v1"
    checked(docker(emulator, "build", "-t", missing, "-t", elsewhere, str(tmp_path)))

    result = docker(emulator, "push", missing)
    assert result.returncode == 1 and result.stderr.strip().endswith(
        "name unknown: The repository with name 'missing' does not exist in the registry "
        "with id '123456789012'"
    )
    result = docker(emulator, "push", elsewhere)
    assert result.returncode == 1 and "only this account's emulated ECR" in result.stderr


def test_unknown_option_is_a_usage_error(emulator: Emulator, tmp_path: Path) -> None:
    result = docker(emulator, "build", "--secret", "id=x", "-t", "x:1", str(tmp_path))
    assert result.returncode == 125 and "unrecognized arguments: --secret" in result.stderr
