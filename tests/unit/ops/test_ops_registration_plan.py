"""The ZenML stack `register` derives from a StackConfig: names, configurations, the import file.

Pure: no ZenML store and no AWS, so the shape of what gets registered is checked in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import yaml  # type: ignore[import-untyped, unused-ignore]

from sagemaker_stack.config import StackConfig
from sagemaker_stack.flavor import (
    FLAVOR_SOURCE,
    STEP_OPERATOR_FLAVOR,
    STEP_OPERATOR_FLAVOR_SOURCE,
    SagemakerJobsStepOperatorConfig,
)
from sagemaker_stack.image_builder.flavor import IMAGE_BUILDER_FLAVOR, IMAGE_BUILDER_FLAVOR_SOURCE
from sagemaker_stack.ops.registration.plan import (
    MANAGED_LABEL,
    STACK_LABEL,
    orchestrator_configuration,
    plan_stack,
    stack_yaml,
    write_stack_yaml,
)

ACCOUNT = "123456789012"
BASE = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/sms-images:sagemaker-stack-cpu-0123456789abcdef"


def make_config(**overrides: object) -> StackConfig:
    values: dict[str, object] = {
        "stack_name": "sagemaker-stack",
        "region": "eu-west-1",
        "account": ACCOUNT,
        "resource_prefix": "sms",
        "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/sms-execution",
        "bucket_name": "sms-artifacts",
        "artifact_path": "s3://sms-artifacts/zenml",
        "registry_uri": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com",
        "repository_name": "sms-images",
        "secret_arn": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:sms-zenml-AbCdEf",
        "scheduler_role_arn": None,
    }
    values.update(overrides)
    return StackConfig.model_validate(values)


def test_components_are_named_after_the_zenml_stack() -> None:
    plan = plan_stack(make_config(), name="prod")
    assert plan.stack_name == "prod"
    assert [(c.component_type, c.name, c.flavor) for c in plan.components] == [
        ("artifact_store", "prod-artifacts", "s3"),
        ("container_registry", "prod-registry", "aws"),
        ("orchestrator", "prod-orchestrator", "sagemaker_pipelines"),
        ("step_operator", "prod-step-operator", STEP_OPERATOR_FLAVOR),
    ]
    assert plan.labels == {MANAGED_LABEL: "true", STACK_LABEL: "prod"}
    assert plan.service_account == "prod-steps"
    assert plan_stack(make_config()).stack_name == "sagemaker-stack"


def test_on_aws_the_artifact_store_has_no_endpoint_and_no_keys() -> None:
    store = plan_stack(make_config()).components[0].configuration
    assert store == {"path": "s3://sms-artifacts/zenml"}


def test_on_the_emulator_the_artifact_store_carries_its_endpoint() -> None:
    config = make_config(endpoint_url="http://127.0.0.1:4566")
    store = plan_stack(config).components[0].configuration
    assert store["client_kwargs"] == {"endpoint_url": "http://127.0.0.1:4566", "region_name": "eu-west-1"}
    assert orchestrator_configuration(config)["endpoint_url"] == "http://127.0.0.1:4566"


def test_registry_is_the_host_and_the_repository_is_the_default_repository() -> None:
    registry = plan_stack(make_config()).components[1].configuration
    # ZenML's AWS registry refuses a `/` in its uri; images go to <uri>/<default_repository>.
    assert registry == {
        "uri": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com",
        "default_repository": "sms-images",
    }


def test_orchestrator_configuration_leaves_out_unset_values() -> None:
    values = orchestrator_configuration(make_config())
    assert values == {
        "execution_role_arn": f"arn:aws:iam::{ACCOUNT}:role/sms-execution",
        "region": "eu-west-1",
        "bucket": "sms-artifacts",
        "secret_arn": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:sms-zenml-AbCdEf",
        "resource_prefix": "sms",
    }


def test_yaml_has_the_zenml_stack_export_format(tmp_path: Path) -> None:
    import zenml

    plan = plan_stack(make_config(), name="prod")
    data = stack_yaml(plan)
    assert data["stack_name"] == "prod"
    assert data["zenml_version"] == zenml.__version__
    assert set(data["components"]) == {
        "artifact_store",
        "container_registry",
        "orchestrator",
        "step_operator",
    }
    orchestrator = data["components"]["orchestrator"][0]
    assert orchestrator["flavor"] == "sagemaker_pipelines"
    assert orchestrator["configuration"]["resource_prefix"] == "sms"

    file = write_stack_yaml(plan, tmp_path / "prod.yaml")
    text = file.read_text()
    assert f"zenml orchestrator flavor register {FLAVOR_SOURCE}" in text
    assert f"zenml step-operator flavor register {STEP_OPERATOR_FLAVOR_SOURCE}" in text
    assert yaml.safe_load(text) == data


def test_the_step_operator_runs_jobs_with_the_orchestrators_stack_values() -> None:
    config = make_config(
        subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        security_group_id="sg-0123456789abcdef0",
        kms_key_arn=f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/12345678-1234-1234-1234-123456789012",
        scheduler_role_arn=f"arn:aws:iam::{ACCOUNT}:role/sms-scheduler",
        base_image=BASE,
    )
    plan = {component.component_type: component for component in plan_stack(config).components}
    step_operator = plan["step_operator"].configuration
    orchestrator = plan["orchestrator"].configuration
    assert plan["step_operator"].flavor_source == STEP_OPERATOR_FLAVOR_SOURCE
    assert step_operator == {key: value for key, value in orchestrator.items() if key != "scheduler_role_arn"}
    assert step_operator["subnets"] == ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    assert step_operator["volume_kms_key_id"] == config.kms_key_arn
    SagemakerJobsStepOperatorConfig(**step_operator)  # what ZenML will validate it as


def test_a_stack_with_an_image_builder_gets_our_codebuild_builder_and_base_image(tmp_path: Path) -> None:
    config = make_config(image_builder_project="sms-image-builder", base_image=BASE)
    plan = plan_stack(config, name="prod")
    builder = plan.components[-1]
    assert (builder.component_type, builder.name, builder.flavor) == (
        "image_builder",
        "prod-image-builder",
        IMAGE_BUILDER_FLAVOR,
    )
    assert builder.configuration == {
        "code_build_project": "sms-image-builder",
        "build_image": "aws/codebuild/standard:7.0",
    }
    assert builder.flavor_source == IMAGE_BUILDER_FLAVOR_SOURCE
    assert orchestrator_configuration(config)["base_image"] == BASE
    text = write_stack_yaml(plan, tmp_path / "prod.yaml").read_text()
    assert f"zenml image-builder flavor register {IMAGE_BUILDER_FLAVOR_SOURCE}" in text
    assert yaml.safe_load(text)["components"]["image_builder"][0]["configuration"] == builder.configuration


def test_a_stack_deployed_with_image_builder_none_gets_no_image_builder() -> None:
    kinds = [component.component_type for component in plan_stack(make_config()).components]
    assert "image_builder" not in kinds
