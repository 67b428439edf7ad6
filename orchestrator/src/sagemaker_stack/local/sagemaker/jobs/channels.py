"""What data a job's request moves between S3 and its container, read from the request alone.

Pure functions, no I/O: `job_data(step_type, job_name, arguments)` turns a CreateProcessingJob
or CreateTrainingJob request into the copies SageMaker makes around the container:
- processing: each `ProcessingInputs[].S3Input` is copied to its `LocalPath` before the start,
  each `ProcessingOutputConfig.Outputs[].S3Output` uploaded from its `LocalPath` (at the end, or
  all along for `Continuous`); `/opt/ml/config/processingjobconfig.json` and `resourceconfig.json`
  are written;
- training: each `InputDataConfig` channel is copied to `/opt/ml/input/data/<channel>`,
  `/opt/ml/input/config/{hyperparameters,resourceconfig,inputdataconfig}.json` are written,
  `/opt/ml/model` becomes `<S3OutputPath>/<job>/output/model.tar.gz` (and `/opt/ml/output/data`
  `output.tar.gz`), and `CheckpointConfig` is synced both ways.
What the emulator cannot do as SageMaker does (Pipe mode, Athena/Redshift inputs, Feature Store
outputs, file systems) is a ChannelError with the reason, never a job that quietly does less.
Paths are kept relative to /opt/ml, the job's private folder (see isolation).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONTAINER_ROOT = "/opt/ml"
PROCESSING_ROOT = "/opt/ml/processing/"
DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
HOST = "algo-1"  # SageMaker's name for the first (here: only) instance of a job
S3_DATA_TYPES = ("S3Prefix", "ManifestFile")


class ChannelError(ValueError):
    """The request names data the job cannot have; the message is the job's FailureReason."""


@dataclass(frozen=True)
class Download:
    name: str  # the input or channel name, for messages
    uri: str
    data_type: str  # S3Prefix / ManifestFile
    local: str  # relative to /opt/ml
    must_exist: bool = True  # an input channel must hold objects; a checkpoint prefix may be empty


@dataclass(frozen=True)
class Upload:
    name: str
    local: str  # a folder, relative to /opt/ml
    uri: str
    continuous: bool  # uploaded while the job runs, not only when it ends


@dataclass(frozen=True)
class JobData:
    """The copies around one job's container, and the folders and files it starts with."""

    downloads: tuple[Download, ...] = ()
    uploads: tuple[Upload, ...] = ()
    folders: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)  # relative path -> text
    model_output: str | None = None  # training: where model.tar.gz and output.tar.gz go

    @property
    def copies_data(self) -> bool:
        """Whether the job's definition moves data through container paths."""
        return bool(self.downloads or self.uploads)

    def first_copy(self) -> str:
        """One of the data settings, named as the request names it (for messages)."""
        if self.downloads:
            return f"input {self.downloads[0].name!r} at {CONTAINER_ROOT}/{self.downloads[0].local}"
        return f"output {self.uploads[0].name!r} at {CONTAINER_ROOT}/{self.uploads[0].local}"


def job_data(step_type: str, job_name: str, arguments: Mapping[str, Any]) -> JobData:
    """The data a job of `step_type` ("Processing"/"Training") moves; ChannelError if it cannot."""
    if step_type == "Training":
        return _training(job_name, arguments)
    return _processing(job_name, arguments)


def split_s3_uri(uri: Any, what: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` URI; ChannelError naming `what` otherwise."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ChannelError(
            f"ClientError: {what} has S3 URI {uri!r}; the emulator reads s3://bucket/key URIs "
            "(not https:// object URLs)"
        )
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ChannelError(f"ClientError: {what} has S3 URI {uri!r}, which names no bucket")
    return bucket, key


# -- processing ------------------------------------------------------------------------------


def _processing(job_name: str, arguments: Mapping[str, Any]) -> JobData:
    downloads: list[Download] = []
    for index, item in enumerate(arguments.get("ProcessingInputs") or []):
        name = str(item.get("InputName") or f"input-{index}")
        what = f"processing input {name!r}"
        if item.get("DatasetDefinition"):
            raise ChannelError(
                f"ClientError: {what} reads a DatasetDefinition (Athena or Redshift), which the "
                "emulator cannot run; export the data to S3 and use S3Input"
            )
        source = item.get("S3Input") or {}
        if item.get("AppManaged") or not source:
            continue  # the container's own code fetches it, as on SageMaker
        if source.get("S3InputMode", "File") == "Pipe":
            raise _pipe(what)
        if source.get("S3CompressionType", "None") not in ("None", None):
            raise ChannelError(
                f"ClientError: {what}: S3CompressionType {source['S3CompressionType']} can only be used "
                "with S3InputMode Pipe"
            )
        split_s3_uri(source.get("S3Uri"), what)
        data_type = _data_type(source.get("S3DataType", "S3Prefix"), what)
        local = _processing_path(source.get("LocalPath"), what)
        downloads.append(Download(name, source["S3Uri"], data_type, local))
    _unique([item.local for item in downloads], "ProcessingInputs")
    uploads: list[Upload] = []
    for index, item in enumerate((arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []):
        name = str(item.get("OutputName") or f"output-{index}")
        if item.get("FeatureStoreOutput"):
            raise ChannelError(
                f"ClientError: processing output {name!r} writes to a SageMaker Feature Store, which "
                "the emulator does not have; use S3Output"
            )
        target = item.get("S3Output") or {}
        if item.get("AppManaged") or not target:
            continue
        split_s3_uri(target.get("S3Uri"), f"processing output {name!r}")
        local = _processing_path(target.get("LocalPath"), f"processing output {name!r}")
        continuous = target.get("S3UploadMode", "EndOfJob") == "Continuous"
        uploads.append(Upload(name, local, target["S3Uri"], continuous))
    _unique([item.local for item in uploads], "ProcessingOutputConfig.Outputs")
    config = {
        "ProcessingJobName": job_name,
        **{key: arguments[key] for key in _PROCESSING_CONFIG_KEYS if key in arguments},
    }
    files = {
        "config/processingjobconfig.json": json.dumps(config, indent=2, default=str),
        "config/resourceconfig.json": json.dumps({"current_host": HOST, "hosts": [HOST]}),
    }
    folders = tuple(dict.fromkeys([*(item.local for item in downloads), *(item.local for item in uploads)]))
    return JobData(tuple(downloads), tuple(uploads), folders, files)


_PROCESSING_CONFIG_KEYS = (
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "ProcessingResources",
    "AppSpecification",
    "Environment",
    "NetworkConfig",
    "RoleArn",
    "StoppingCondition",
)


def _processing_path(value: Any, what: str) -> str:
    """A LocalPath as SageMaker allows it (under /opt/ml/processing/), relative to /opt/ml."""
    path = posixpath.normpath(str(value or ""))
    if not path.startswith(PROCESSING_ROOT):
        raise ChannelError(
            f"ClientError: {what} has LocalPath {value!r}; LocalPath must be an absolute path that "
            f"begins with {PROCESSING_ROOT}"
        )
    return path[len(CONTAINER_ROOT) + 1 :]


# -- training ---------------------------------------------------------------------------------


def _training(job_name: str, arguments: Mapping[str, Any]) -> JobData:
    specification = arguments.get("AlgorithmSpecification") or {}
    default_mode = specification.get("TrainingInputMode") or "File"
    downloads: list[Download] = []
    input_config: dict[str, dict[str, str]] = {}
    for channel in arguments.get("InputDataConfig") or []:
        name = str(channel.get("ChannelName") or "")
        what = f"training channel {name!r}"
        mode = channel.get("InputMode") or default_mode
        if mode == "Pipe":
            raise _pipe(what)
        source = channel.get("DataSource") or {}
        s3 = source.get("S3DataSource")
        if not s3:
            raise ChannelError(
                f"ClientError: {what} reads a FileSystemDataSource (EFS or FSx for Lustre), which the "
                "emulator does not have; use S3DataSource"
            )
        if channel.get("CompressionType", "None") not in ("None", None):
            raise ChannelError(
                f"ClientError: {what}: CompressionType {channel['CompressionType']} can only be used "
                "with Pipe input mode; in File mode leave it unset or set it to None"
            )
        split_s3_uri(s3.get("S3Uri"), what)
        data_type = _data_type(s3.get("S3DataType", "S3Prefix"), what)
        downloads.append(Download(name, s3["S3Uri"], data_type, f"input/data/{name}"))
        entry = {
            "TrainingInputMode": mode,
            "S3DistributionType": s3.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if channel.get("ContentType"):
            entry["ContentType"] = channel["ContentType"]
        input_config[name] = entry
    uploads: list[Upload] = []
    checkpoint = arguments.get("CheckpointConfig") or {}
    if checkpoint.get("S3Uri"):
        split_s3_uri(checkpoint["S3Uri"], "CheckpointConfig")
        local = posixpath.normpath(checkpoint.get("LocalPath") or DEFAULT_CHECKPOINT_PATH)
        if not local.startswith(CONTAINER_ROOT + "/"):
            raise ChannelError(
                f"ClientError: CheckpointConfig.LocalPath {local!r} is outside {CONTAINER_ROOT}: the "
                f"emulator gives a job its own {CONTAINER_ROOT} only; use a path under it (default "
                f"{DEFAULT_CHECKPOINT_PATH})"
            )
        relative = local[len(CONTAINER_ROOT) + 1 :]
        downloads.append(Download("checkpoints", checkpoint["S3Uri"], "S3Prefix", relative, must_exist=False))
        uploads.append(Upload("checkpoints", relative, checkpoint["S3Uri"], continuous=True))
    output_path = (arguments.get("OutputDataConfig") or {}).get("S3OutputPath")
    split_s3_uri(output_path, "OutputDataConfig.S3OutputPath")
    resources = arguments.get("ResourceConfig") or {}
    instance_type = str(resources.get("InstanceType") or "")
    group = "homogeneousCluster"
    resource_config = {
        "current_host": HOST,
        "current_instance_type": instance_type,
        "current_group_name": group,
        "hosts": [HOST],
        "instance_groups": [{"instance_group_name": group, "instance_type": instance_type, "hosts": [HOST]}],
        "network_interface_name": "eth0",
    }
    hyperparameters = {
        str(key): str(value) for key, value in (arguments.get("HyperParameters") or {}).items()
    }
    files = {
        "input/config/hyperparameters.json": json.dumps(hyperparameters),
        "input/config/resourceconfig.json": json.dumps(resource_config),
        "input/config/inputdataconfig.json": json.dumps(input_config),
    }
    folders = ("model", "output/data", "input/config", *(item.local for item in downloads))
    return JobData(
        tuple(downloads),
        tuple(uploads),
        tuple(dict.fromkeys(folders)),
        files,
        model_output=f"{str(output_path).rstrip('/')}/{job_name}/output",
    )


# -- shared -----------------------------------------------------------------------------------


def _data_type(value: Any, what: str) -> str:
    if value == "AugmentedManifestFile":
        raise ChannelError(
            f"ClientError: {what}: AugmentedManifestFile can only be used with Pipe input mode"
        )
    if value not in S3_DATA_TYPES:
        raise ChannelError(
            f"ClientError: {what} has S3DataType {value!r}; use one of {', '.join(S3_DATA_TYPES)}"
        )
    return str(value)


def _pipe(what: str) -> ChannelError:
    return ChannelError(
        f"ClientError: {what} uses Pipe input mode, which the emulator does not emulate (it copies "
        "data before the container starts); use File (or FastFile for training)"
    )


def _unique(paths: list[str], what: str) -> None:
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            raise ChannelError(
                f"ClientError: two of {what} use LocalPath {CONTAINER_ROOT}/{path}; each must have its own"
            )
        seen.add(path)
