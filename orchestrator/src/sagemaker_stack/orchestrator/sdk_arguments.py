"""`processor_args` / `estimator_args`: the SageMaker SDK's keyword arguments as API fields.

ZenML's built-in flavor passes these dicts to the SDK's `Processor(...)` / `Estimator(...)`; we
never import the SDK on the submit path, so each keyword the SDK 2.x documents is mapped here to
the CreateProcessingJob / CreateTrainingJob member it sets, exactly as the SDK renders it in a
pipeline step (the unit test `test_sdk_arguments_oracle` builds the same step with the SDK and
compares). As in the built-in flavor, an SDK argument wins over the first-class setting of the
same meaning (`role` over `execution_role`, `max_run` over `max_runtime_in_seconds`, ...).

Keywords the SDK has but that cannot mean anything here are refused with the reason and what to
use instead: what the orchestrator itself sets (the image, the step's command, its environment),
what has no effect in a pipeline step (`base_job_name`: SageMaker names each execution's jobs),
script mode (`source_dir`, `entry_point`: ZenML ships the step's code itself), and SDK objects a
YAML or JSON setting cannot hold (debugger rules, profiler and TensorBoard configuration; use
`job_arguments` with the API's own members for those). An unknown key is refused by name, with
the list of the keys that exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

#: A member of a job request, e.g. ("ResourceConfig", "InstanceType").
Path = tuple[str, ...]


@dataclass(frozen=True)
class Assignment:
    """One member of the job request set from a setting, and the setting's name for messages."""

    path: Path
    value: Any
    source: str


@dataclass(frozen=True)
class Keyword:
    """How one SDK keyword argument becomes part of the request (or why it cannot)."""

    path: Path | None = None
    convert: Callable[[Any], Any] | None = None
    refusal: str | None = None


def _tags(value: Any) -> Any:
    """The SDK's `format_tags`: a dict becomes a tag list (sorted here, for a stable definition)."""
    if isinstance(value, Mapping):
        return [{"Key": key, "Value": value[key]} for key in sorted(value)]
    return value


def _hyperparameters(value: Any) -> Any:
    """The SDK sends every hyperparameter value as a string (`str(v)`)."""
    if isinstance(value, Mapping):
        return {str(key): item if isinstance(item, str) else str(item) for key, item in value.items()}
    return value


_NETWORK_KEYS: Final = (
    "enable_network_isolation",
    "security_group_ids",
    "subnets",
    "encrypt_inter_container_traffic",
)


def _network_config(value: Any) -> Any:
    """`sagemaker.network.NetworkConfig(**value)._to_request_dict()`, from a plain dict."""
    if not isinstance(value, Mapping):
        return value
    unknown = sorted(set(value) - set(_NETWORK_KEYS))
    if unknown:
        raise ValueError(
            f"network_config has unknown keys {unknown}: NetworkConfig takes {list(_NETWORK_KEYS)}"
        )
    request: dict[str, Any] = {"EnableNetworkIsolation": value.get("enable_network_isolation", False)}
    if value.get("encrypt_inter_container_traffic") is not None:
        request["EnableInterContainerTrafficEncryption"] = value["encrypt_inter_container_traffic"]
    if value.get("security_group_ids") is not None or value.get("subnets") is not None:
        request["VpcConfig"] = {
            "SecurityGroupIds": value.get("security_group_ids"),
            "Subnets": value.get("subnets"),
        }
    return request


#: What a conversion returns for a value the SDK does not send at all.
OMIT: Final = object()


def _only_true(value: Any) -> Any:
    """The SDK's switches that it sends only when on (`if enable_network_isolation: ...`)."""
    return True if value is True else (OMIT if value in (False, None) else value)


def _one_instance(value: Any) -> Any:
    if value != 1:
        raise ValueError(
            f"instance_count = {value!r}: a ZenML step runs on one instance (each instance would run "
            "the whole step again); ZenML's built-in flavor also always uses 1. Remove it"
        )
    return value


def _compression(value: Any) -> Any:
    """`disable_output_compression=True` is CompressionType NONE; False leaves the default (GZIP)."""
    return "NONE" if value is True else value


_SET_BY_ORCHESTRATOR: Final = "the orchestrator sets it for every step"
_IMAGE: Final = Keyword(refusal=f"{_SET_BY_ORCHESTRATOR}: the step's image comes from its Docker settings")
_SESSION: Final = Keyword(refusal=f"{_SET_BY_ORCHESTRATOR}: no SageMaker SDK session is used")
_JOB_NAME: Final = Keyword(
    refusal="it has no effect in a pipeline step: SageMaker Pipelines names each execution's jobs itself"
)
_SCRIPT_MODE: Final = Keyword(
    refusal="it is the SDK's script mode, which uploads code: ZenML ships the step's code itself"
)
_COMMAND: Final = Keyword(refusal=f"{_SET_BY_ORCHESTRATOR}: it is the command that runs the ZenML step")
_ENVIRONMENT: Final = Keyword(
    refusal="use the `environment` setting (it keeps secrets out of the definition)"
)


def _sdk_object(member: str) -> Keyword:
    return Keyword(
        refusal=f"it takes a SageMaker SDK object, which a setting cannot hold: use job_arguments "
        f"{{'{member}': ...}} with the API's own fields instead"
    )


def _no_op(expected: Any, member: str) -> Keyword:
    """An SDK switch whose only allowed value asks for what the orchestrator already does."""

    def check(value: Any) -> Any:
        if value != expected:
            raise ValueError(
                f"only {expected!r} is supported (the orchestrator never sends {member}); "
                f"use job_arguments {{'{member}': ...}} to configure it"
            )
        return None

    return Keyword(path=(), convert=check)


def _common(role_path: Path = ("RoleArn",)) -> dict[str, Keyword]:
    return {
        "role": Keyword(role_path),
        "image_uri": _IMAGE,
        "sagemaker_session": _SESSION,
        "base_job_name": _JOB_NAME,
        "tags": Keyword(("Tags",), _tags),
    }


#: `sagemaker.processing.Processor.__init__` keywords (SDK 2.x).
PROCESSOR: Final[Mapping[str, Keyword]] = {
    **_common(),
    "instance_count": Keyword(("ProcessingResources", "ClusterConfig", "InstanceCount"), _one_instance),
    "instance_type": Keyword(("ProcessingResources", "ClusterConfig", "InstanceType")),
    "volume_size_in_gb": Keyword(("ProcessingResources", "ClusterConfig", "VolumeSizeInGB")),
    "volume_kms_key": Keyword(("ProcessingResources", "ClusterConfig", "VolumeKmsKeyId")),
    # The SDK sends it only when the step has outputs (ProcessingOutputConfig needs Outputs).
    "output_kms_key": Keyword(("ProcessingOutputConfig", "KmsKeyId")),
    "max_runtime_in_seconds": Keyword(("StoppingCondition", "MaxRuntimeInSeconds")),
    "network_config": Keyword(("NetworkConfig",), _network_config),
    "entrypoint": _COMMAND,
    "env": _ENVIRONMENT,
}

#: `sagemaker.estimator.Estimator.__init__` keywords (SDK 2.x, with EstimatorBase's).
ESTIMATOR: Final[Mapping[str, Keyword]] = {
    **_common(),
    "instance_count": Keyword(("ResourceConfig", "InstanceCount"), _one_instance),
    "instance_type": Keyword(("ResourceConfig", "InstanceType")),
    "keep_alive_period_in_seconds": Keyword(("ResourceConfig", "KeepAlivePeriodInSeconds")),
    "volume_size": Keyword(("ResourceConfig", "VolumeSizeInGB")),
    "volume_kms_key": Keyword(("ResourceConfig", "VolumeKmsKeyId")),
    "training_plan": Keyword(("ResourceConfig", "TrainingPlanArn")),
    "instance_placement_config": Keyword(("ResourceConfig", "InstancePlacementConfig")),
    "max_run": Keyword(("StoppingCondition", "MaxRuntimeInSeconds")),
    "max_wait": Keyword(("StoppingCondition", "MaxWaitTimeInSeconds")),
    "input_mode": Keyword(("AlgorithmSpecification", "TrainingInputMode")),
    "metric_definitions": Keyword(("AlgorithmSpecification", "MetricDefinitions")),
    "enable_sagemaker_metrics": Keyword(("AlgorithmSpecification", "EnableSageMakerMetricsTimeSeries")),
    "training_repository_access_mode": Keyword(
        ("AlgorithmSpecification", "TrainingImageConfig", "TrainingRepositoryAccessMode")
    ),
    "training_repository_credentials_provider_arn": Keyword(
        (
            "AlgorithmSpecification",
            "TrainingImageConfig",
            "TrainingRepositoryAuthConfig",
            "TrainingRepositoryCredentialsProviderArn",
        )
    ),
    "output_path": Keyword(("OutputDataConfig", "S3OutputPath")),
    "output_kms_key": Keyword(("OutputDataConfig", "KmsKeyId")),
    "disable_output_compression": Keyword(("OutputDataConfig", "CompressionType"), _compression),
    "hyperparameters": Keyword(("HyperParameters",), _hyperparameters),
    "subnets": Keyword(("VpcConfig", "Subnets")),
    "security_group_ids": Keyword(("VpcConfig", "SecurityGroupIds")),
    "encrypt_inter_container_traffic": Keyword(("EnableInterContainerTrafficEncryption",), _only_true),
    "enable_network_isolation": Keyword(("EnableNetworkIsolation",), _only_true),
    "use_spot_instances": Keyword(("EnableManagedSpotTraining",), _only_true),
    "checkpoint_s3_uri": Keyword(("CheckpointConfig", "S3Uri")),
    "checkpoint_local_path": Keyword(("CheckpointConfig", "LocalPath")),
    "max_retry_attempts": Keyword(("RetryStrategy", "MaximumRetryAttempts")),
    "enable_infra_check": Keyword(("InfraCheckConfig", "EnableInfraCheck")),
    "enable_remote_debug": Keyword(("RemoteDebugConfig", "EnableRemoteDebug")),
    "enable_session_tag_chaining": Keyword(("SessionChainingConfig", "EnableSessionTagChaining")),
    "model_uri": Keyword(
        refusal="use input_data_s3_uri={'model': '<uri>'}: a channel the step reads at "
        "/opt/ml/input/data/model"
    ),
    "model_channel_name": Keyword(refusal="use input_data_s3_uri={'<channel>': '<uri>'}"),
    "environment": _ENVIRONMENT,
    "container_entry_point": _COMMAND,
    "container_arguments": _COMMAND,
    "entry_point": _SCRIPT_MODE,
    "source_dir": _SCRIPT_MODE,
    "dependencies": _SCRIPT_MODE,
    "git_config": _SCRIPT_MODE,
    "code_location": _SCRIPT_MODE,
    "container_log_level": _SCRIPT_MODE,
    "rules": _sdk_object("DebugRuleConfigurations"),
    "tensorboard_output_config": _sdk_object("TensorBoardOutputConfig"),
    "profiler_config": _sdk_object("ProfilerConfig"),
    "instance_groups": _sdk_object("ResourceConfig"),
    "debugger_hook_config": _no_op(False, "DebugHookConfig"),
    "disable_profiler": _no_op(True, "ProfilerConfig"),
}

SETTING_OF_KIND: Final = {"Processing": "processor_args", "Training": "estimator_args"}
_TABLE_OF_KIND: Final = {"Processing": PROCESSOR, "Training": ESTIMATOR}


def keywords(kind: str) -> Mapping[str, Keyword]:
    """The SDK keywords of a job kind ("Processing" or "Training")."""
    return _TABLE_OF_KIND[kind]


def map_arguments(kind: str, arguments: Mapping[str, Any]) -> tuple[list[Assignment], list[str]]:
    """(the request members `arguments` set, the problems of the keys that cannot be used).

    Values are not type-checked here: the request they end up in is checked against botocore's
    shapes, and each problem found there names the keyword through `Assignment.source`.
    """
    setting = SETTING_OF_KIND[kind]
    table = keywords(kind)
    assignments: list[Assignment] = []
    problems: list[str] = []
    for key in sorted(arguments):
        value = arguments[key]
        keyword = table.get(key)
        if keyword is None:
            problems.append(_unknown(setting, key, table, kind))
            continue
        if keyword.refusal is not None:
            problems.append(f"{setting} key {key!r} cannot be used: {keyword.refusal}")
            continue
        try:
            converted = keyword.convert(value) if keyword.convert else value
        except ValueError as error:
            problems.append(f"{setting} key {key!r}: {error}")
            continue
        if keyword.path and converted is not OMIT:
            assignments.append(Assignment(keyword.path, converted, f"{setting}.{key}"))
    return assignments, problems


def _unknown(setting: str, key: str, table: Mapping[str, Keyword], kind: str) -> str:
    usable = sorted(name for name, keyword in table.items() if keyword.refusal is None)
    close = difflib.get_close_matches(key, list(table), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    other_kind = "Training" if kind == "Processing" else "Processing"
    if key in _TABLE_OF_KIND[other_kind]:
        hint += f"({key!r} is a {SETTING_OF_KIND[other_kind]} key, for {other_kind.lower()} steps) "
    sdk_class = "Processor" if kind == "Processing" else "Estimator"
    return (
        f"{setting} key {key!r} is not a keyword of the SageMaker SDK's {sdk_class}: {hint}"
        f"the keys that can be used are {', '.join(usable)}"
    )
