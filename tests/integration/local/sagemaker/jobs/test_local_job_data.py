"""A job's data settings on the emulator: inputs copied in, outputs copied out, each job its own /opt/ml.

Every step here is a hand-written definition whose code only looks at the container paths the
definition names, as a step on SageMaker would; what it saw is reported back through S3 or a
file under the test's own folder.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from sagemaker_stack.local.sagemaker.jobs import isolation
from tests.support.emulator import BUCKET, Pipelines, python_step

pytestmark = [
    pytest.mark.skipif(
        not isolation.available().available,
        reason=f"no private /opt/ml on this machine: {isolation.available().reason}",
    ),
]

#: A step body that lists every file under a folder, with its content, as JSON into another folder.
LIST_FILES = (
    "import json, os, pathlib, sys\n"
    "root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
    "seen = {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob('*') if p.is_file()}\n"
    "out.mkdir(parents=True, exist_ok=True)\n"
    "(out / 'seen.json').write_text(json.dumps(seen, sort_keys=True))\n"
)


def command_step(
    name: str, code: str, *args: str, step_type: str = "Processing", **arguments: Any
) -> dict[str, Any]:
    step = python_step(name, code, step_type=step_type, arguments=arguments)
    key = "AppSpecification" if step_type == "Processing" else "AlgorithmSpecification"
    step["Arguments"][key]["ContainerArguments"] = list(args)
    return step


def processing_input(name: str, uri: str, local: str, **extra: str) -> dict[str, Any]:
    source = {"S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix", "S3InputMode": "File", **extra}
    return {"InputName": name, "S3Input": source}


def processing_output(name: str, uri: str, local: str, mode: str = "EndOfJob") -> dict[str, Any]:
    return {"OutputName": name, "S3Output": {"S3Uri": uri, "LocalPath": local, "S3UploadMode": mode}}


def put(pipelines: Pipelines, key: str, body: str) -> None:
    pipelines.s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())


def read(pipelines: Pipelines, key: str) -> str:
    return str(pipelines.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode())


def keys(pipelines: Pipelines, prefix: str) -> list[str]:
    listed = pipelines.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def tar_members(pipelines: Pipelines, key: str) -> dict[str, bytes]:
    body = pipelines.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        return {
            member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
        }


def job_name(pipelines: Pipelines, arn: str, step: str, kind: str = "ProcessingJob") -> str:
    return str(pipelines.steps(arn)[step]["Metadata"][kind]["Arn"].rsplit("/", 1)[-1])


def test_a_processing_step_reads_its_inputs_files_and_its_outputs_appear_in_s3(pipelines: Pipelines) -> None:
    put(pipelines, "data/train/a.csv", "1,2\n")
    put(pipelines, "data/train/b.csv", "3,4\n")
    put(pipelines, "data/train/nested/c.csv", "5,6\n")
    put(pipelines, "data/test/only.csv", "7,8\n")
    put(pipelines, "elsewhere/not-an-input.csv", "no")
    step = command_step(
        "report",
        LIST_FILES
        + "(out / 'config.json').write_text(open('/opt/ml/config/processingjobconfig.json').read())\n",
        "/opt/ml/processing/input/data",
        "/opt/ml/processing/output/data/report",
        ProcessingInputs=[
            processing_input("train", f"s3://{BUCKET}/data/train", "/opt/ml/processing/input/data/train"),
            processing_input("test", f"s3://{BUCKET}/data/test/", "/opt/ml/processing/input/data/test"),
        ],
        ProcessingOutputConfig={
            "Outputs": [
                processing_output(
                    "report", f"s3://{BUCKET}/out/report", "/opt/ml/processing/output/data/report"
                )
            ]
        },
    )
    arn = pipelines.start(step)

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded", pipelines.steps(arn)
    assert keys(pipelines, "out/report/") == ["out/report/config.json", "out/report/seen.json"]
    assert json.loads(read(pipelines, "out/report/seen.json")) == {
        "train/a.csv": "1,2\n",
        "train/b.csv": "3,4\n",
        "train/nested/c.csv": "5,6\n",
        "test/only.csv": "7,8\n",
    }
    config = json.loads(read(pipelines, "out/report/config.json"))
    assert config["ProcessingJobName"] == job_name(pipelines, arn, "report")
    assert [item["InputName"] for item in config["ProcessingInputs"]] == ["train", "test"]


def test_a_manifest_file_input_copies_the_objects_it_lists(pipelines: Pipelines) -> None:
    put(pipelines, "pool/x/1.txt", "one")
    put(pipelines, "pool/y/2.txt", "two")
    put(pipelines, "pool/y/unlisted.txt", "no")
    manifest = [{"prefix": f"s3://{BUCKET}/pool/"}, "x/1.txt", "y/2.txt"]
    put(pipelines, "manifests/m.json", json.dumps(manifest))
    step = command_step(
        "listed",
        LIST_FILES,
        "/opt/ml/processing/input/data",
        "/opt/ml/processing/output/data",
        ProcessingInputs=[
            processing_input(
                "m",
                f"s3://{BUCKET}/manifests/m.json",
                "/opt/ml/processing/input/data",
                S3DataType="ManifestFile",
            )
        ],
        ProcessingOutputConfig={
            "Outputs": [processing_output("out", f"s3://{BUCKET}/listed", "/opt/ml/processing/output/data")]
        },
    )
    arn = pipelines.start(step)

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded", pipelines.steps(arn)
    assert json.loads(read(pipelines, "listed/seen.json")) == {"x/1.txt": "one", "y/2.txt": "two"}


def test_a_training_step_reads_its_channel_and_its_model_is_uploaded_as_model_tar_gz(
    pipelines: Pipelines,
) -> None:
    put(pipelines, "train/part-0.txt", "alpha")
    put(pipelines, "train/part-1.txt", "beta")
    put(pipelines, "checkpoints/run/step-1.ckpt", "from an earlier run")
    code = (
        "import json, pathlib\n"
        "data = pathlib.Path('/opt/ml/input/data/training')\n"
        "words = [p.read_text() for p in sorted(data.iterdir())]\n"
        "config = json.load(open('/opt/ml/input/config/inputdataconfig.json'))\n"
        "params = json.load(open('/opt/ml/input/config/hyperparameters.json'))\n"
        "earlier = pathlib.Path('/opt/ml/checkpoints/step-1.ckpt').read_text()\n"
        "pathlib.Path('/opt/ml/checkpoints/step-2.ckpt').write_text('new')\n"
        "model = pathlib.Path('/opt/ml/model')\n"
        "(model / 'weights.json').write_text(json.dumps({'words': words, 'epochs': params['epochs'],"
        " 'mode': config['training']['TrainingInputMode'], 'earlier': earlier}))\n"
        "pathlib.Path('/opt/ml/output/data/metrics.txt').write_text('accuracy=1')\n"
    )
    channel = {
        "ChannelName": "training",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train"}},
        "InputMode": "FastFile",
    }
    step = python_step(
        "fit",
        code,
        step_type="Training",
        arguments={
            "InputDataConfig": [channel],
            "HyperParameters": {"epochs": "3"},
            "CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/checkpoints/run"},
        },
    )
    arn = pipelines.start(step)

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded", pipelines.steps(arn)
    job = job_name(pipelines, arn, "fit", "TrainingJob")
    model = tar_members(pipelines, f"out/{job}/output/model.tar.gz")
    assert list(model) == ["weights.json"]
    assert json.loads(model["weights.json"]) == {
        "words": ["alpha", "beta"],
        "epochs": "3",
        "mode": "FastFile",
        "earlier": "from an earlier run",
    }
    assert tar_members(pipelines, f"out/{job}/output/output.tar.gz") == {"metrics.txt": b"accuracy=1"}
    assert read(pipelines, "checkpoints/run/step-2.ckpt") == "new"


def test_two_steps_at_once_writing_the_same_container_path_never_see_each_others_files(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    marker = f"who-{uuid.uuid4().hex}.txt"
    # Each step writes its name at the same container path, waits until the other has written
    # too, then lists the folder: on SageMaker each has its own container, so each sees one file.
    code = (
        "import os, pathlib, sys, time\n"
        "name, other, marker, flags = sys.argv[1], sys.argv[2], sys.argv[3], pathlib.Path(sys.argv[4])\n"
        "out = pathlib.Path('/opt/ml/processing/output/data')\n"
        "(out / marker).write_text(name)\n"
        "(flags / name).touch()\n"
        "deadline = time.time() + 60\n"
        "while not (flags / other).exists() and time.time() < deadline: time.sleep(0.1)\n"
        "(out / 'listing.txt').write_text(' '.join(sorted(p.name for p in out.iterdir())))\n"
    )

    def step(name: str, other: str) -> dict[str, Any]:
        output = processing_output("data", f"s3://{BUCKET}/{name}", "/opt/ml/processing/output/data")
        return command_step(
            name, code, name, other, marker, str(tmp_path), ProcessingOutputConfig={"Outputs": [output]}
        )

    arn = pipelines.start(step("left", "right"), step("right", "left"))

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded", pipelines.steps(arn)
    for name in ("left", "right"):
        assert read(pipelines, f"{name}/{marker}") == name
        assert read(pipelines, f"{name}/listing.txt") == marker  # its own file only
    assert not Path("/opt/ml/processing/output/data", marker).exists(), "a step wrote into the host's /opt/ml"


def test_a_missing_input_prefix_fails_the_job_with_sagemakers_reason_before_the_code_runs(
    pipelines: Pipelines, tmp_path: Path
) -> None:
    ran = tmp_path / "ran"
    step = command_step(
        "reads",
        "import pathlib, sys; pathlib.Path(sys.argv[1]).touch()",
        str(ran),
        ProcessingInputs=[
            processing_input("train", f"s3://{BUCKET}/nothing/here", "/opt/ml/processing/input/data/train")
        ],
    )
    arn = pipelines.start(step)

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Failed"
    reason = pipelines.steps(arn)["reads"]["FailureReason"]
    assert reason.startswith(f'ClientError: No S3 objects found under S3 URL "s3://{BUCKET}/nothing/here"')
    assert "that objects exist under that S3 prefix" in reason
    job = pipelines.sagemaker.describe_processing_job(ProcessingJobName=job_name(pipelines, arn, "reads"))
    assert job["ProcessingJobStatus"] == "Failed" and job["FailureReason"] == reason
    assert not ran.exists()


def test_a_continuous_output_is_uploaded_while_the_job_runs(pipelines: Pipelines, tmp_path: Path) -> None:
    release = tmp_path / "release"
    code = (
        "import pathlib, sys, time\n"
        "pathlib.Path('/opt/ml/processing/output/logs/early.txt').write_text('early')\n"
        "deadline = time.time() + 60\n"
        "while not pathlib.Path(sys.argv[1]).exists() and time.time() < deadline: time.sleep(0.1)\n"
    )
    output = processing_output("logs", f"s3://{BUCKET}/live", "/opt/ml/processing/output/logs", "Continuous")
    arn = pipelines.start(
        command_step("live", code, str(release), ProcessingOutputConfig={"Outputs": [output]})
    )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and keys(pipelines, "live/") != ["live/early.txt"]:
        time.sleep(0.2)
    assert keys(pipelines, "live/") == ["live/early.txt"]
    assert pipelines.steps(arn)["live"]["StepStatus"] == "Executing"
    release.touch()
    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Succeeded"


def test_an_output_to_a_missing_bucket_fails_the_job_with_the_upload_error(pipelines: Pipelines) -> None:
    code = "import pathlib; pathlib.Path('/opt/ml/processing/output/data/x.txt').write_text('x')"
    output = processing_output("data", "s3://no-such-bucket-here/out", "/opt/ml/processing/output/data")
    arn = pipelines.start(command_step("writes", code, ProcessingOutputConfig={"Outputs": [output]}))

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Failed"
    reason = pipelines.steps(arn)["writes"]["FailureReason"]
    assert reason == (
        "ClientError: Artifact upload failed:Unable to upload file to s3://no-such-bucket-here/out/x.txt "
        "(NoSuchBucket: The specified bucket does not exist)"
    )


def test_a_training_jobs_failure_file_is_its_failure_reason(pipelines: Pipelines) -> None:
    code = (
        "import pathlib, sys; pathlib.Path('/opt/ml/output/failure').write_text('loss diverged'); sys.exit(2)"
    )
    arn = pipelines.start(python_step("fit", code, step_type="Training"))

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Failed"
    assert pipelines.steps(arn)["fit"]["FailureReason"] == "AlgorithmError: loss diverged"


def test_pipe_mode_is_refused_with_the_reason(pipelines: Pipelines) -> None:
    put(pipelines, "data/a.csv", "1")
    inputs = [processing_input("d", f"s3://{BUCKET}/data", "/opt/ml/processing/input/d", S3InputMode="Pipe")]
    arn = pipelines.start(command_step("piped", "pass", ProcessingInputs=inputs))

    assert pipelines.wait(arn)["PipelineExecutionStatus"] == "Failed"
    reason = pipelines.steps(arn)["piped"]["FailureReason"]
    assert reason.startswith("ClientError: processing input 'd' uses Pipe input mode")
    assert "use File" in reason
