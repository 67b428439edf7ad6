"""The flavor: settings defaults, config from a StackConfig, cheap import, settings merging."""

from __future__ import annotations

import json
import subprocess
import sys

from zenml.config.pipeline_configurations import PipelineConfiguration, PipelineConfigurationUpdate
from zenml.config.step_configurations import StepConfiguration, StepConfigurationUpdate
from zenml.enums import StackComponentType
from zenml.utils import pydantic_utils

from sagemaker_stack.config import StackConfig
from sagemaker_stack.flavor import (
    SagemakerPipelinesOrchestratorConfig,
    SagemakerPipelinesOrchestratorFlavor,
    SagemakerPipelinesOrchestratorSettings,
    config_kwargs_from_stack_config,
)
from sagemaker_stack.orchestrator.snapshot_spec import resolve_step_settings
from sagemaker_stack.orchestrator.spec import ResolvedStepSettings

ROLE = "arn:aws:iam::123456789012:role/demo-execution"
OTHER_ROLE = "arn:aws:iam::123456789012:role/gpu-jobs"
KEY = "orchestrator:sagemaker"


def stack_config(**overrides: object) -> StackConfig:
    values: dict[str, object] = {
        "stack_name": "demo",
        "region": "eu-west-1",
        "account": "123456789012",
        "resource_prefix": "demo",
        "execution_role_arn": ROLE,
        "bucket_name": "demo-artifacts-123456789012",
        "artifact_path": "s3://demo-artifacts-123456789012/zenml",
        "registry_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "repository_name": "demo-zenml",
        "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:demo-zenml-AbCdEf",
        "scheduler_role_arn": "arn:aws:iam::123456789012:role/demo-scheduler",
    }
    values.update(overrides)
    return StackConfig.model_validate(values)


def test_settings_defaults() -> None:
    settings = SagemakerPipelinesOrchestratorSettings()
    assert settings.instance_type is None  # ResourceSettings choose, else ml.t3.medium
    assert settings.execution_role is None and settings.processor_role is None
    assert settings.volume_size_in_gb == 30
    assert settings.max_runtime_in_seconds == 86400
    assert settings.tags == {} and settings.pipeline_tags == {} and settings.environment == {}
    # Ours differ from ZenML's built-in flavor here (training steps, a 300 s warm pool).
    assert settings.use_training_step is None and settings.keep_alive_period_in_seconds is None
    assert settings.input_data_s3_mode == "File" and settings.output_data_s3_mode == "EndOfJob"
    assert settings.processor_args == {} and settings.estimator_args == {} and settings.job_arguments == {}
    assert settings.use_spot_instances is False and settings.max_wait_time_in_seconds is None
    assert settings.retries == 0 and settings.max_parallel_steps is None
    assert settings.synchronous is True


def test_every_field_of_zenmls_builtin_flavor_exists_with_its_type() -> None:
    """A config written for ZenML's `sagemaker` orchestrator means the same here (same names, types)."""
    from zenml.integrations.aws.flavors.sagemaker_orchestrator_flavor import SagemakerOrchestratorSettings

    ours = SagemakerPipelinesOrchestratorSettings.model_fields
    for name, field in SagemakerOrchestratorSettings.model_fields.items():
        assert name in ours, name
        theirs_type = str(field.annotation).replace("typing.", "").replace("Optional[", "")
        assert ours[name].annotation is not None, name
        # Both accept the same values: validate ZenML's own default (or a sample) with ours.
        sample = field.get_default(call_default_factory=True)
        if sample is not None:
            SagemakerPipelinesOrchestratorSettings.model_validate({name: sample})
        assert theirs_type  # the annotation exists on both sides


def test_deprecated_names_migrate_as_in_zenml() -> None:
    settings = SagemakerPipelinesOrchestratorSettings(processor_role=OTHER_ROLE, processor_tags={"a": "b"})
    assert settings.execution_role == OTHER_ROLE and settings.tags == {"a": "b"}


def test_config_from_stack_config() -> None:
    config = SagemakerPipelinesOrchestratorConfig(**config_kwargs_from_stack_config(stack_config()))
    assert config.execution_role_arn == ROLE
    assert config.region == "eu-west-1"
    assert config.bucket == "demo-artifacts-123456789012"
    assert config.secret_arn.startswith("arn:aws:secretsmanager:")
    assert config.resource_prefix == "demo"
    assert config.scheduler_role_arn == "arn:aws:iam::123456789012:role/demo-scheduler"
    assert config.endpoint_url is None
    assert config.is_remote and config.is_schedulable and config.is_synchronous
    assert not config.is_local
    assert (
        SagemakerPipelinesOrchestratorConfig(
            **config_kwargs_from_stack_config(stack_config(endpoint_url="http://127.0.0.1:5000")),
            synchronous=False,
        ).is_synchronous
        is False
    )


def test_config_holds_no_secret_value() -> None:
    kwargs = config_kwargs_from_stack_config(stack_config())
    assert set(kwargs) == {
        "execution_role_arn",
        "region",
        "bucket",
        "secret_arn",
        "resource_prefix",
        "scheduler_role_arn",
        "endpoint_url",
        "base_image",
    }


def test_flavor_properties() -> None:
    flavor = SagemakerPipelinesOrchestratorFlavor()
    assert flavor.name == "sagemaker_pipelines"
    assert flavor.type == StackComponentType.ORCHESTRATOR
    assert flavor.config_class is SagemakerPipelinesOrchestratorConfig
    assert flavor.display_name == "SageMaker Pipelines"
    assert flavor.logo_url.startswith("https://")
    schema = flavor.config_schema
    assert {"execution_role_arn", "region", "bucket", "secret_arn", "resource_prefix"} <= set(
        schema["required"]
    )
    model = flavor.to_model(is_custom=True)
    assert model.source == "sagemaker_stack.flavor.SagemakerPipelinesOrchestratorFlavor"


def test_flavor_source_is_what_zenml_flavor_register_accepts() -> None:
    from zenml.stack.flavor import validate_flavor_source

    _, flavor = validate_flavor_source(
        "sagemaker_stack.flavor.SagemakerPipelinesOrchestratorFlavor",
        StackComponentType.ORCHESTRATOR,
        validate_component_classes=False,
    )
    assert flavor.name == "sagemaker_pipelines"


def test_implementation_class_is_imported_lazily() -> None:
    from zenml.orchestrators import BaseOrchestrator

    implementation = SagemakerPipelinesOrchestratorFlavor().implementation_class
    assert issubclass(implementation, BaseOrchestrator)
    assert implementation.__module__ == "sagemaker_stack.orchestrator.sagemaker_orchestrator"


def test_importing_the_flavor_imports_no_sdk_and_no_aws_client() -> None:
    code = (
        "import json, sys\n"
        "import sagemaker_stack.flavor\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sagemaker', 'boto3', 'sagemaker_stack'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert not [m for m in modules if m == "sagemaker" or m.startswith("sagemaker.")]
    assert "boto3" not in modules
    assert not [m for m in modules if m.startswith("sagemaker_stack.orchestrator")]


def test_resolve_uses_execution_role_unless_one_is_set() -> None:
    resolved = resolve_step_settings(SagemakerPipelinesOrchestratorSettings(), ROLE)
    assert resolved == ResolvedStepSettings(
        instance_type="ml.t3.medium", role_arn=ROLE, volume_size_in_gb=30, max_runtime_in_seconds=86400
    )
    custom = SagemakerPipelinesOrchestratorSettings(execution_role=OTHER_ROLE)
    assert resolve_step_settings(custom, ROLE).role_arn == OTHER_ROLE
    assert resolve_step_settings(custom, ROLE, instance_type="ml.g5.xlarge").instance_type == "ml.g5.xlarge"


def test_zenml_merges_step_settings_over_pipeline_settings_field_by_field() -> None:
    """What ZenML 0.98's compiler stores for a step, which `get_settings(step)` returns and the
    orchestrator resolves as is: step fields win, fields only the pipeline set survive, tags merge."""
    pipeline_settings = SagemakerPipelinesOrchestratorSettings(
        instance_type="ml.m5.xlarge",
        retries=2,
        tags={"team": "ml", "env": "dev"},
        processor_args={"volume_kms_key": "alias/a", "network_config": {"subnets": ["s"]}},
        max_parallel_steps=3,
    )
    step_settings = SagemakerPipelinesOrchestratorSettings(
        instance_type="ml.g5.xlarge",
        volume_size_in_gb=100,
        processor_tags={"env": "gpu"},  # the deprecated name still merges into `tags`
        processor_args={"volume_kms_key": "alias/b"},
    )
    pipeline = pydantic_utils.update_model(
        PipelineConfiguration(name="p"), PipelineConfigurationUpdate(settings={KEY: pipeline_settings})
    )
    step = pydantic_utils.update_model(
        StepConfiguration(name="s"), StepConfigurationUpdate(settings={KEY: step_settings})
    )
    merged_config = step.apply_pipeline_configuration(pipeline, exclude_hook_sources=False)
    merged = SagemakerPipelinesOrchestratorSettings.model_validate(dict(merged_config.settings[KEY]))
    resolved = resolve_step_settings(merged, ROLE)
    assert resolved.instance_type == "ml.g5.xlarge"  # set on the step
    assert resolved.volume_size_in_gb == 100
    assert resolved.retries == 2  # only set on the pipeline: a step default must not win
    assert resolved.tags == {"team": "ml", "env": "gpu"}
    # SDK arguments merge key by key like every dict setting (a step's key wins).
    assert resolved.sdk_arguments == {"volume_kms_key": "alias/b", "network_config": {"subnets": ["s"]}}
    assert merged.max_parallel_steps == 3
