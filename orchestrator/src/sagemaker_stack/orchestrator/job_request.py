"""One step's CreateProcessingJob / CreateTrainingJob request, and which setting set each member.

The request is assembled in three layers, each later one winning where the built-in flavor's
precedence says so:
1. the first-class settings (`instance_type`, `execution_role`, the data channels, spot, ...);
2. `processor_args` / `estimator_args` (`sdk_arguments`), which override the setting of the same
   meaning, as they do in ZenML's built-in flavor;
3. `job_arguments`, raw API members merged in last; one that touches a member an earlier layer
   set is a conflict, reported with both names instead of silently replacing either.

Every leaf member remembers its source (`JobRequest.sources`), so that a problem botocore's
model finds at `ResourceConfig.InstanceType` is reported as `estimator_args.instance_type` or
`instance_type`, whichever set it. The data channels follow ZenML's flavor: one URI is read at
/opt/ml/processing/input/data (a training job's 'training' channel) and written from
/opt/ml/processing/output/data (a training job's output path); a dict names one channel per key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from sagemaker_stack.orchestrator.names import sagemaker_step_name
from sagemaker_stack.orchestrator.sdk_arguments import Assignment, Path, map_arguments
from sagemaker_stack.orchestrator.spec import DataLocation, StepSpec
from sagemaker_stack.step.environment_parts import split_value

PROCESSING_INPUT_ROOT: Final = "/opt/ml/processing/input/data"
PROCESSING_OUTPUT_ROOT: Final = "/opt/ml/processing/output/data"
#: The channel name the SDK gives a training job's single input (`Estimator.fit(inputs=uri)`).
DEFAULT_TRAINING_CHANNEL: Final = "training"
#: The name of the single (string) processing input or output.
DEFAULT_PROCESSING_CHANNEL: Final = "data"
JOB_ARGUMENTS: Final = "job_arguments"


class JobRequest:
    """A nested request dict plus the setting that set each leaf (lists and scalars are leaves)."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {}
        self.sources: dict[Path, str] = {}
        self.conflicts: list[tuple[Path, str]] = []

    def set(self, path: Path, value: Any, source: str, spread: bool = True) -> None:
        """Set `path` (a non-empty dict is spread over its leaves unless `spread` is False: an
        expression SageMaker resolves is one value), replacing what was there."""
        if spread and isinstance(value, Mapping) and value:
            for key, item in value.items():
                self.set((*path, str(key)), item, source)
            return
        for other in [known for known in self.sources if _overlaps(known, path)]:
            del self.sources[other]
        node = self.body
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = dict(value) if isinstance(value, Mapping) else value
        self.sources[path] = source

    def merge(self, raw: Mapping[str, Any], source: str = JOB_ARGUMENTS) -> None:
        """Merge raw members; a leaf that meets one another layer set is recorded as a conflict."""
        for path, value in _leaves(raw, ()):
            owner = next((self.sources[known] for known in self.sources if _overlaps(known, path)), None)
            if owner is not None and owner != source:
                self.conflicts.append((path, owner))
            else:
                self.set(path, value, source)

    def get(self, path: Path) -> Any:
        """The member at `path`, or None when the request has none."""
        current: Any = self.body
        for part in path:
            current = current.get(part) if isinstance(current, dict) else None
        return current

    def source_of(self, path: Path) -> str | None:
        """The setting behind `path`: its own leaf, the leaf above it, or the leaves below it."""
        for length in range(len(path), 0, -1):
            if path[:length] in self.sources:
                return self.sources[path[:length]]
        below = sorted({source for known, source in self.sources.items() if known[: len(path)] == path})
        return " / ".join(below) if below else None


def _overlaps(one: Path, other: Path) -> bool:
    shorter = min(len(one), len(other))
    return one[:shorter] == other[:shorter]


def _leaves(value: Mapping[str, Any], path: Path) -> Iterator[tuple[Path, Any]]:
    for key, item in value.items():
        if isinstance(item, Mapping) and item:
            yield from _leaves(item, (*path, str(key)))
        else:
            yield (*path, str(key)), item


def channels(location: DataLocation, default_name: str) -> list[tuple[str, str, str]]:
    """(channel name, S3 URI, container sub-path) for a data setting: one URI or a dict."""
    if location is None:
        return []
    if isinstance(location, str):
        return [(default_name, location, "")]
    return [(str(name), str(uri), f"/{name}") for name, uri in location.items()]


def environment_limit(training: bool) -> int:
    """The longest environment value a job kind takes (botocore: 256 processing, 512 training)."""
    from sagemaker_stack.orchestrator import service_model

    shape = "TrainingEnvironmentValue" if training else "ProcessingEnvironmentValue"
    return int(service_model.shape(shape).metadata["max"])


def split_environment(step: StepSpec) -> dict[str, Any]:
    """The step's Environment member, sorted, long string values split into parts."""
    limit = environment_limit(step.settings.use_training_step)
    environment: dict[str, Any] = {}
    for key in sorted(step.environment):
        value = step.environment[key]
        if isinstance(value, str):
            environment.update(split_value(key, value, limit))
        else:  # an expression, or a wrong type that validation reports
            environment[key] = dict(value) if isinstance(value, Mapping) else value
    return environment


def build(step: StepSpec, output_s3_uri: str | None = None) -> JobRequest:
    """The step's job request (without the job name: SageMaker names jobs per execution)."""
    settings = step.settings
    request = JobRequest()
    if settings.use_training_step:
        resources: Path = ("ResourceConfig",)
        request.set(("AlgorithmSpecification", "TrainingImage"), step.image, "the step's image")
        request.set(
            ("AlgorithmSpecification", "TrainingInputMode"), "File", "estimator_args.input_mode (default)"
        )
        container: Path = ("AlgorithmSpecification",)
    else:
        resources = ("ProcessingResources", "ClusterConfig")
        request.set(("AppSpecification", "ImageUri"), step.image, "the step's image")
        container = ("AppSpecification",)
    if step.entrypoint:
        request.set(
            (*container, "ContainerEntrypoint"), list(step.entrypoint), "entrypoint (ZenML's step command)"
        )
    if step.arguments:
        request.set(
            (*container, "ContainerArguments"),
            [_plain(item) for item in step.arguments],
            "arguments (ZenML's step command)",
        )
    request.set((*resources, "InstanceCount"), 1, "the orchestrator (one instance per step)")
    request.set((*resources, "InstanceType"), settings.instance_type, "instance_type")
    request.set((*resources, "VolumeSizeInGB"), settings.volume_size_in_gb, "volume_size_in_gb")
    if settings.use_training_step and settings.keep_alive_period_in_seconds is not None:
        request.set(
            (*resources, "KeepAlivePeriodInSeconds"),
            settings.keep_alive_period_in_seconds,
            "keep_alive_period_in_seconds",
        )
    request.set(("RoleArn",), settings.role_arn, "execution_role")
    request.set(
        ("StoppingCondition", "MaxRuntimeInSeconds"),
        settings.max_runtime_in_seconds,
        "max_runtime_in_seconds",
    )
    if step.environment:
        # Set as one leaf: the environment is the policy's (no secret) and only the policy's.
        request.body["Environment"] = split_environment(step)
        request.sources[("Environment",)] = "environment"
    if settings.tags:
        request.set(
            ("Tags",), [{"Key": key, "Value": settings.tags[key]} for key in sorted(settings.tags)], "tags"
        )
    if settings.use_training_step:
        _training_data(request, step, output_s3_uri)
    else:
        _processing_data(request, step)
    _network_and_keys(request, step, resources)
    assignments, _ = map_arguments(
        "Training" if settings.use_training_step else "Processing", settings.sdk_arguments
    )
    for assignment in assignments:
        _apply_sdk(request, assignment)
    if settings.job_arguments:
        request.merge(settings.job_arguments)
    return request


def _network_and_keys(request: JobRequest, step: StepSpec, resources: Path) -> None:
    """The VPC, traffic encryption and KMS members (both job kinds name them differently).

    A processing step without outputs still carries the output key, with an empty Outputs list
    (CreateProcessingJob allows 0 to 10 outputs): the key then names how SageMaker would encrypt
    any, so every step of a stack with a key says which key it uses.
    """
    settings = step.settings
    training = settings.use_training_step
    network: Path = () if training else ("NetworkConfig",)
    if settings.subnets:
        request.set((*network, "VpcConfig", "Subnets"), list(settings.subnets), "subnets")
    if settings.security_group_ids:
        request.set(
            (*network, "VpcConfig", "SecurityGroupIds"),
            list(settings.security_group_ids),
            "security_group_ids",
        )
    if settings.inter_container_traffic_encryption:
        request.set(
            (*network, "EnableInterContainerTrafficEncryption"),
            True,
            "enable_inter_container_traffic_encryption",
        )
    if settings.volume_kms_key_id:
        request.set((*resources, "VolumeKmsKeyId"), settings.volume_kms_key_id, "volume_kms_key_id")
    if settings.output_kms_key_id:
        output: Path = ("OutputDataConfig",) if training else ("ProcessingOutputConfig",)
        request.set((*output, "KmsKeyId"), settings.output_kms_key_id, "output_kms_key_id")
        if not training and "Outputs" not in request.body[output[0]]:
            request.set((*output, "Outputs"), [], "output_kms_key_id (a step without outputs)")


def _apply_sdk(request: JobRequest, assignment: Assignment) -> None:
    if (
        assignment.path == ("ProcessingOutputConfig", "KmsKeyId")
        and "ProcessingOutputConfig" not in request.body
    ):
        return  # as the SDK: an output key only matters, and is only sent, when there are outputs
    request.set(assignment.path, assignment.value, assignment.source)


def _processing_data(request: JobRequest, step: StepSpec) -> None:
    settings = step.settings
    inputs = [
        {
            "InputName": name,
            "AppManaged": False,
            "S3Input": {
                "S3Uri": uri,
                "LocalPath": PROCESSING_INPUT_ROOT + sub_path,
                "S3DataType": "S3Prefix",
                "S3InputMode": settings.input_data_s3_mode,
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        }
        for name, uri, sub_path in channels(settings.input_data_s3_uri, DEFAULT_PROCESSING_CHANNEL)
    ]
    if inputs:
        request.set(("ProcessingInputs",), inputs, "input_data_s3_uri")
    outputs = [
        {
            "OutputName": name,
            "AppManaged": False,
            "S3Output": {
                "S3Uri": uri,
                "LocalPath": PROCESSING_OUTPUT_ROOT + sub_path,
                "S3UploadMode": settings.output_data_s3_mode,
            },
        }
        for name, uri, sub_path in channels(settings.output_data_s3_uri, DEFAULT_PROCESSING_CHANNEL)
    ]
    if outputs:
        request.set(("ProcessingOutputConfig", "Outputs"), outputs, "output_data_s3_uri")


def _training_data(request: JobRequest, step: StepSpec, output_s3_uri: str | None) -> None:
    settings = step.settings
    inputs = [
        {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": uri,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": settings.input_data_s3_mode,
        }
        for name, uri, _ in channels(settings.input_data_s3_uri, DEFAULT_TRAINING_CHANNEL)
    ]
    if inputs:
        request.set(("InputDataConfig",), inputs, "input_data_s3_uri")
    output = settings.output_data_s3_uri
    if isinstance(output, str):
        request.set(("OutputDataConfig", "S3OutputPath"), output, "output_data_s3_uri")
    elif output_s3_uri is not None:
        request.set(
            ("OutputDataConfig", "S3OutputPath"),
            training_output_path(output_s3_uri, step),
            "output_data_s3_uri (default: the stack's bucket)",
        )
    if settings.use_spot_instances:
        request.set(("EnableManagedSpotTraining",), True, "use_spot_instances")
        wait = settings.max_wait_time_in_seconds or settings.max_runtime_in_seconds
        request.set(("StoppingCondition", "MaxWaitTimeInSeconds"), wait, "max_wait_time_in_seconds")
    elif settings.max_wait_time_in_seconds is not None:
        request.set(
            ("StoppingCondition", "MaxWaitTimeInSeconds"),
            settings.max_wait_time_in_seconds,
            "max_wait_time_in_seconds",
        )
    if settings.checkpoint_s3_uri is not None:
        request.set(
            ("CheckpointConfig", "S3Uri"),
            _plain(settings.checkpoint_s3_uri),
            "checkpoint_s3_uri",
            spread=False,
        )


def training_output_path(output_s3_uri: str, step: StepSpec) -> str:
    """Where a training step's OutputDataConfig points."""
    return f"{output_s3_uri.rstrip('/')}/{sagemaker_step_name(step.name)}"


def _plain(value: Any) -> Any:
    """Mappings (parameter and execution variable expressions) as plain dicts, so the result is JSON-able."""
    return _to_plain(value) if isinstance(value, Mapping) else value


def _to_plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    return value
