"""What a job request copies, and how objects land in the job's /opt/ml, with no server and no S3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sagemaker_stack.local.sagemaker.jobs.channels import ChannelError, job_data
from sagemaker_stack.local.sagemaker.jobs.data import DataError, Uploader, stage_in
from tests.support.object_store import DictStore


def processing(*inputs: dict[str, Any], outputs: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {"ProcessingInputs": list(inputs), "ProcessingOutputConfig": {"Outputs": list(outputs)}}


def s3_input(uri: str, local: str, **extra: Any) -> dict[str, Any]:
    return {
        "InputName": "in",
        "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix", **extra},
    }


def files_under(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): path.read_text() for path in root.rglob("*") if path.is_file()}


def test_objects_land_at_their_key_relative_to_the_prefix_and_a_single_object_at_its_name(
    tmp_path: Path,
) -> None:
    store = DictStore({"b": {"d/x.csv": b"x", "d/sub/y.csv": b"y", "d/": b"", "single.csv": b"s"}})
    data = job_data(
        "Processing",
        "job",
        processing(
            s3_input("s3://b/d", "/opt/ml/processing/input/d"),
            {
                "InputName": "one",
                "S3Input": {"S3Uri": "s3://b/single.csv", "LocalPath": "/opt/ml/processing/one"},
            },
        ),
    )
    stage_in(data, store, tmp_path, role="r", region="us-east-1")

    assert files_under(tmp_path / "processing") == {
        "input/d/x.csv": "x",
        "input/d/sub/y.csv": "y",
        "one/single.csv": "s",
    }
    assert json.loads((tmp_path / "config/resourceconfig.json").read_text())["current_host"] == "algo-1"


def test_an_object_key_that_climbs_out_of_the_local_path_is_refused(tmp_path: Path) -> None:
    store = DictStore({"b": {"d/../../../etc/evil": b"x"}})
    data = job_data("Processing", "job", processing(s3_input("s3://b/d/", "/opt/ml/processing/input")))

    with pytest.raises(DataError, match="outside the input's LocalPath"):
        stage_in(data, store, tmp_path, role="r", region="us-east-1")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            processing(s3_input("s3://b/d", "/tmp/data")),
            "must be an absolute path that begins with /opt/ml/processing/",
        ),
        (processing(s3_input("s3://b/d", "/opt/ml/processing/../x")), "begins with /opt/ml/processing/"),
        (processing(s3_input("https://b.s3.amazonaws.com/d", "/opt/ml/processing/d")), "s3://bucket/key"),
        (processing(s3_input("s3://b/d", "/opt/ml/processing/d", S3InputMode="Pipe")), "Pipe input mode"),
        (
            processing(s3_input("s3://b/d", "/opt/ml/processing/d", S3CompressionType="Gzip")),
            "only be used with",
        ),
        (
            processing(
                s3_input("s3://b/d", "/opt/ml/processing/d"), s3_input("s3://b/e", "/opt/ml/processing/d")
            ),
            "use LocalPath /opt/ml/processing/d",
        ),
        (
            processing({"InputName": "q", "DatasetDefinition": {"AthenaDatasetDefinition": {}}}),
            "Athena or Redshift",
        ),
        (
            processing(outputs=({"OutputName": "f", "FeatureStoreOutput": {"FeatureGroupName": "g"}},)),
            "Feature Store",
        ),
    ],
)
def test_what_the_emulator_cannot_copy_as_sagemaker_does_is_refused_by_name(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ChannelError, match=message.replace("(", r"\(")):
        job_data("Processing", "job", arguments)


def training(**extra: Any) -> dict[str, Any]:
    return {
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://b/models/"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        **extra,
    }


def channel(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://b/{name}"}},
        **extra,
    }


def test_a_training_jobs_channels_config_files_and_model_location() -> None:
    data = job_data(
        "Training",
        "fit-1",
        training(InputDataConfig=[channel("train"), channel("test", ContentType="text/csv")]),
    )

    assert [(item.name, item.local) for item in data.downloads] == [
        ("train", "input/data/train"),
        ("test", "input/data/test"),
    ]
    assert data.model_output == "s3://b/models/fit-1/output"
    config = json.loads(data.files["input/config/inputdataconfig.json"])
    assert config["test"] == {
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
        "ContentType": "text/csv",
    }
    assert (
        json.loads(data.files["input/config/resourceconfig.json"])["current_instance_type"] == "ml.m5.large"
    )
    assert {"model", "output/data"} <= set(data.folders)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"InputDataConfig": [channel("train", InputMode="Pipe")]}, "Pipe input mode"),
        (
            {"AlgorithmSpecification": {"TrainingInputMode": "Pipe"}, "InputDataConfig": [channel("t")]},
            "Pipe input mode",
        ),
        ({"InputDataConfig": [channel("t", CompressionType="Gzip")]}, "only be used with Pipe"),
        (
            {"InputDataConfig": [{"ChannelName": "fs", "DataSource": {"FileSystemDataSource": {}}}]},
            "FileSystemDataSource",
        ),
        ({"CheckpointConfig": {"S3Uri": "s3://b/c", "LocalPath": "/checkpoints"}}, "outside /opt/ml"),
        ({"OutputDataConfig": {}}, "OutputDataConfig.S3OutputPath"),
    ],
)
def test_training_data_the_emulator_cannot_copy_is_refused(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ChannelError, match=message):
        job_data("Training", "fit", training(**extra))


def test_end_of_job_outputs_are_uploaded_only_when_the_container_succeeded(tmp_path: Path) -> None:
    store = DictStore({"b": {}})
    outputs = (
        {
            "OutputName": "end",
            "S3Output": {
                "S3Uri": "s3://b/end",
                "LocalPath": "/opt/ml/processing/end",
                "S3UploadMode": "EndOfJob",
            },
        },
        {
            "OutputName": "live",
            "S3Output": {
                "S3Uri": "s3://b/live/",
                "LocalPath": "/opt/ml/processing/live",
                "S3UploadMode": "Continuous",
            },
        },
    )
    data = job_data("Processing", "job", processing(outputs=outputs))
    stage_in(data, store, tmp_path, role="r", region="us-east-1")
    (tmp_path / "processing/end/e.txt").write_text("e")
    (tmp_path / "processing/live/l.txt").write_text("l")

    Uploader(data, store, tmp_path).finish(succeeded=False)

    assert store.buckets["b"] == {"live/l.txt": b"l"}
