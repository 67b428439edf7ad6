"""A YAML `settings: orchestrator:` block written for ZenML's built-in SageMaker flavor, run here.

Every field of ZenML's `SagemakerOrchestratorSettings` is set (the deprecated names on a step),
the pipeline runs on the emulator through a real ZenML server, and the definition read back holds
what each field means. The data settings are honoured: each step reads its input channels' files
at the container paths the built-in flavor uses, and what it writes to its output channel (the
processing step) or its model folder (the training step) appears in S3 under the URIs the block
names. The same block with an unknown `processor_args` key is refused, naming it.
"""

from __future__ import annotations

import io
import json
import string
import tarfile
from pathlib import Path
from typing import Any

import yaml

from tests.support.e2e_stack import BUCKET, E2EStack

#: 600 characters of every printable kind but quotes and whitespace YAML would fold.
LONG_VALUE = ("".join(c for c in string.ascii_letters + string.digits + "-_.:/+=@%,;") * 20)[:600]
KMS = "arn:aws:kms:us-east-1:123456789012:key/0b4d3f7e-2d0e-4b8a-9a8e-0c6f1f3f1d2a"
#: The input channels' objects: several under each prefix the block names, one of them nested.
DATA = {
    "data/train/a.csv": "1,2\n",
    "data/train/b.csv": "3,4\n",
    "data/train/more/c.csv": "5,6\n",
    "data/test/d.csv": "7,8\n",
}


def settings_block(role_arn: str) -> dict[str, Any]:
    return {
        "enable_cache": False,
        "settings": {
            "orchestrator": {
                "synchronous": True,
                "instance_type": "ml.m5.large",
                "execution_role": role_arn,
                "volume_size_in_gb": 40,
                "max_runtime_in_seconds": 3600,
                "tags": {"team": "ml"},
                "pipeline_tags": {"project": "parity"},
                "keep_alive_period_in_seconds": 120,
                "use_training_step": False,
                "processor_args": {
                    "volume_kms_key": KMS,
                    "network_config": {"enable_network_isolation": False},
                },
                "estimator_args": {"max_retry_attempts": 2, "hyperparameters": {"epochs": 3}},
                "environment": {"LONG_SETTING": LONG_VALUE},
                "input_data_s3_mode": "File",
                "input_data_s3_uri": {
                    "train": f"s3://{BUCKET}/data/train",
                    "test": f"s3://{BUCKET}/data/test",
                },
                "output_data_s3_mode": "EndOfJob",
                "output_data_s3_uri": {"report": f"s3://{BUCKET}/out/report"},
            }
        },
        "steps": {
            "fit": {
                "settings": {
                    "orchestrator": {
                        "use_training_step": True,
                        "instance_type": "ml.m5.xlarge",
                        "processor_role": role_arn,  # deprecated: execution_role
                        "processor_tags": {"stage": "fit"},  # deprecated: tags
                        "input_data_s3_uri": f"s3://{BUCKET}/data/train",
                        "output_data_s3_uri": f"s3://{BUCKET}/models",
                    }
                }
            }
        },
    }


def write(tmp_path: Path, block: dict[str, Any]) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(block))
    return str(path)


def definition_of(stack: E2EStack, name_part: str) -> dict[str, Any]:
    sagemaker = stack.client("sagemaker")
    names = [
        item["PipelineName"]
        for item in sagemaker.list_pipelines(PipelineNamePrefix="e2e-")["PipelineSummaries"]
        if name_part in item["PipelineName"]
    ]
    assert len(names) == 1, names
    described = sagemaker.describe_pipeline(PipelineName=names[0])
    return {"definition": json.loads(described["PipelineDefinition"]), "arn": described["PipelineArn"]}


def test_a_builtin_flavor_yaml_block_runs_and_the_definition_means_each_field(
    e2e_stack: E2EStack, tmp_path: Path
) -> None:
    role = e2e_stack.env["E2E_ROLE_ARN"]
    s3 = e2e_stack.client("s3")
    for key, body in DATA.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    result = e2e_stack.zenml("run-config", "configured", write(tmp_path, settings_block(role)))
    assert result["error"] is None, result["_output"][-4000:]
    assert result["status"] == "completed"
    # The 600-character value reached the step's process byte for byte.
    assert result["setting"] == LONG_VALUE
    assert "Ignoring invalid setting attributes" not in result["_output"]

    described = definition_of(e2e_stack, "configured")
    steps = {step["Name"]: step for step in described["definition"]["Steps"]}
    echo, fit = steps["echo_setting"]["Arguments"], steps["fit"]["Arguments"]
    assert steps["echo_setting"]["Type"] == "Processing" and steps["fit"]["Type"] == "Training"
    # Role, instance, volume, runtime, job tags.
    assert echo["RoleArn"] == role and fit["RoleArn"] == role
    assert echo["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.large",
        "VolumeSizeInGB": 40,
        "VolumeKmsKeyId": KMS,  # processor_args
    }
    assert echo["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert echo["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert fit["Tags"] == [{"Key": "stage", "Value": "fit"}, {"Key": "team", "Value": "ml"}]
    assert echo["NetworkConfig"] == {"EnableNetworkIsolation": False}
    # Input and output channels with their modes, where ZenML's flavor puts them.
    inputs = {item["InputName"]: item["S3Input"] for item in echo["ProcessingInputs"]}
    assert inputs["train"]["LocalPath"] == "/opt/ml/processing/input/data/train"
    assert inputs["test"]["S3Uri"] == f"s3://{BUCKET}/data/test" and inputs["test"]["S3InputMode"] == "File"
    (output,) = echo["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"] == {
        "S3Uri": f"s3://{BUCKET}/out/report",
        "LocalPath": "/opt/ml/processing/output/data/report",
        "S3UploadMode": "EndOfJob",
    }
    # The training step: its channel, output path, warm pool, estimator_args.
    (channel,) = fit["InputDataConfig"]
    assert channel["ChannelName"] == "training" and channel["InputMode"] == "File"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/data/train"
    assert fit["OutputDataConfig"] == {"S3OutputPath": f"s3://{BUCKET}/models"}
    assert fit["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 120
    assert fit["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert fit["RetryStrategy"] == {"MaximumRetryAttempts": 2} and fit["HyperParameters"] == {"epochs": "3"}
    # The long value is split in the definition (no part over SageMaker's 256), never whole.
    parts = [key for key in echo["Environment"] if key.startswith("LONG_SETTING__PART_")]
    assert len(parts) == 3 and "LONG_SETTING" not in echo["Environment"]
    assert "".join(echo["Environment"][f"LONG_SETTING__PART_{i}"] for i in range(3)) == LONG_VALUE
    # The data settings are honoured: each step read its channels' files where the flavor puts them,
    # and its output channel (processing) or model (training) is in S3 where the block says.
    report = s3.get_object(Bucket=BUCKET, Key="out/report/files.json")["Body"].read()
    assert json.loads(report) == {
        "train/a.csv": "1,2\n",
        "train/b.csv": "3,4\n",
        "train/more/c.csv": "5,6\n",
        "test/d.csv": "7,8\n",
    }
    models = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="models/")["Contents"]]
    (model_key,) = [key for key in models if key.endswith("/output/model.tar.gz")]
    body = s3.get_object(Bucket=BUCKET, Key=model_key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        fitted = json.loads(archive.extractfile("files.json").read())  # type: ignore[union-attr]
    assert fitted == {"training/a.csv": "1,2\n", "training/b.csv": "3,4\n", "training/more/c.csv": "5,6\n"}
    # Pipeline tags are on the SageMaker pipeline.
    tags = e2e_stack.client("sagemaker").list_tags(ResourceArn=described["arn"])["Tags"]
    assert {"Key": "project", "Value": "parity"} in tags


def test_the_same_block_with_an_unknown_processor_args_key_is_refused_naming_it(
    e2e_stack: E2EStack, tmp_path: Path
) -> None:
    block = settings_block(e2e_stack.env["E2E_ROLE_ARN"])
    block["settings"]["orchestrator"]["processor_args"]["volume_kms_keyid"] = KMS
    result = e2e_stack.zenml("run-config", "configured", write(tmp_path, block))
    error = result["error"] or ""
    assert "processor_args key 'volume_kms_keyid'" in error, result["_output"][-3000:]
    assert "did you mean 'volume_kms_key'" in error
    assert "Traceback" not in error
