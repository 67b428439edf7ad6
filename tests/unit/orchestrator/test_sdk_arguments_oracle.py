"""Oracle: `processor_args` / `estimator_args` and the data channels mean what the SageMaker SDK does.

Each mapped keyword is given to the SDK's `Processor` / `Estimator` (as ZenML's built-in flavor
does) and to our settings; the step's request must be the same. Every keyword the SDK's
constructors take is in our table (mapped or refused with a reason), so a new SDK keyword fails
here instead of being silently refused as unknown.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest

from sagemaker_stack.orchestrator import sdk_arguments
from sagemaker_stack.orchestrator.definition import step_definition
from sagemaker_stack.orchestrator.job_request import training_output_path
from sagemaker_stack.orchestrator.names import sagemaker_step_name
from sagemaker_stack.orchestrator.spec import PipelineSpec
from sagemaker_stack.orchestrator.validation import validate_spec
from tests.support.specs import OUTPUT, PARAMETER, SNAPSHOT, oracle_step
from tests.unit.orchestrator.test_definition_oracle import (
    SDK_ONLY_TRAINING_MEMBERS,
    plain,
    sdk_environment,
)
from tests.unit.orchestrator.test_definition_oracle import (
    sdk_arguments as sdk_step_arguments,
)

PROCESSOR_ARGS: dict[str, Any] = {
    "volume_kms_key": "arn:aws:kms:us-east-1:123456789012:key/1111aaaa-11aa-11aa-11aa-111111aaaaaa",
    "output_kms_key": "arn:aws:kms:us-east-1:123456789012:key/2222bbbb-22bb-22bb-22bb-222222bbbbbb",
    "instance_type": "ml.c5.xlarge",
    "volume_size_in_gb": 50,
    "max_runtime_in_seconds": 600,
    "role": "arn:aws:iam::123456789012:role/other",
    "tags": {"sdk": "yes"},
    "instance_count": 1,
    "network_config": {
        "enable_network_isolation": False,
        "security_group_ids": ["sg-0123456789abcdef0"],
        "subnets": ["subnet-0123456789abcdef0"],
        "encrypt_inter_container_traffic": True,
    },
}

ESTIMATOR_ARGS: dict[str, Any] = {
    "instance_type": "ml.p3.2xlarge",  # no local storage: a volume key is allowed
    "instance_count": 1,
    "role": "arn:aws:iam::123456789012:role/other",
    "volume_size": 80,
    "volume_kms_key": "arn:aws:kms:us-east-1:123456789012:key/1111aaaa-11aa-11aa-11aa-111111aaaaaa",
    "max_run": 3600,
    "use_spot_instances": True,
    "max_wait": 7200,
    "checkpoint_s3_uri": "s3://b/checkpoints",
    "checkpoint_local_path": "/opt/ml/checkpoints",
    "input_mode": "FastFile",
    "output_path": "s3://b/models",
    "output_kms_key": "arn:aws:kms:us-east-1:123456789012:key/2222bbbb-22bb-22bb-22bb-222222bbbbbb",
    "hyperparameters": {"epochs": 3, "lr": "0.1"},
    "tags": {"sdk": "yes"},
    "subnets": ["subnet-0123456789abcdef0"],
    "security_group_ids": ["sg-0123456789abcdef0"],
    "metric_definitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}],
    "encrypt_inter_container_traffic": True,
    "enable_network_isolation": False,
    "enable_sagemaker_metrics": True,
    "max_retry_attempts": 2,
    "keep_alive_period_in_seconds": 120,
    "training_repository_access_mode": "Vpc",
    "training_repository_credentials_provider_arn": "arn:aws:lambda:us-east-1:123456789012:function:creds",
    "disable_output_compression": True,
    "enable_infra_check": True,
    "enable_remote_debug": True,
    "enable_session_tag_chaining": True,
    "training_plan": "arn:aws:sagemaker:us-east-1:123456789012:training-plan/plan",
    "instance_placement_config": {"EnableMultipleJobs": True},
    "debugger_hook_config": False,
    "disable_profiler": True,
}


def sdk_processing_request(step: Any, session: Any, args: dict[str, Any], inputs: Any = None) -> Any:
    from sagemaker.network import NetworkConfig
    from sagemaker.processing import Processor
    from sagemaker.workflow.steps import ProcessingStep

    settings = step.settings
    values = dict(args)
    if isinstance(values.get("network_config"), dict):
        values["network_config"] = NetworkConfig(**values["network_config"])
    values.setdefault("role", settings.role_arn)
    values.setdefault("tags", [{"Key": k, "Value": v} for k, v in sorted(settings.tags.items())] or None)
    values.setdefault("instance_type", settings.instance_type)
    values.setdefault("volume_size_in_gb", settings.volume_size_in_gb)
    values.setdefault("max_runtime_in_seconds", settings.max_runtime_in_seconds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        processor = Processor(
            image_uri=step.image,
            entrypoint=list(step.entrypoint),
            env=sdk_environment(),
            sagemaker_session=session,
            **{"instance_count": 1, **values},
        )
        processing_inputs, processing_outputs = inputs or (None, None)
        return plain(
            ProcessingStep(
                name=sagemaker_step_name(step.name),
                step_args=processor.run(
                    arguments=sdk_step_arguments(step), inputs=processing_inputs, outputs=processing_outputs
                ),
            ).to_request()
        )


def sdk_training_request(step: Any, session: Any, args: dict[str, Any], inputs: Any = None) -> Any:
    from sagemaker.estimator import Estimator
    from sagemaker.workflow.steps import TrainingStep

    settings = step.settings
    values = dict(args)
    values.setdefault("role", settings.role_arn)
    values.setdefault("tags", [{"Key": k, "Value": v} for k, v in sorted(settings.tags.items())] or None)
    values.setdefault("instance_type", settings.instance_type)
    values.setdefault("volume_size", settings.volume_size_in_gb)
    values.setdefault("max_run", settings.max_runtime_in_seconds)
    values.setdefault("output_path", training_output_path(OUTPUT, step))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = Estimator(
            image_uri=step.image,
            environment=sdk_environment(),
            container_entry_point=list(step.entrypoint),
            container_arguments=sdk_step_arguments(step),
            sagemaker_session=session,
            **{"instance_count": 1, "disable_profiler": True, **values},
        )
        request = plain(
            TrainingStep(
                name=sagemaker_step_name(step.name), step_args=estimator.fit(inputs=inputs)
            ).to_request()
        )
    for member in SDK_ONLY_TRAINING_MEMBERS:
        request["Arguments"].pop(member, None)
    return request


def test_every_processor_keyword_maps_like_the_sdk(session: Any) -> None:
    step = oracle_step("prep", sdk_arguments=PROCESSOR_ARGS, input_data_s3_uri=None)
    validate_spec(PipelineSpec(pipeline_name="zenml-oracle", steps=(step,), parameters={PARAMETER: SNAPSHOT}))
    ours = step_definition(step)
    sdk = sdk_processing_request(step, session, PROCESSOR_ARGS)
    assert ours == sdk
    # What ZenML's flavor would have lost: each keyword reached the API.
    assert ours["Arguments"]["NetworkConfig"]["VpcConfig"]["Subnets"] == ["subnet-0123456789abcdef0"]
    assert ours["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.c5.xlarge"


def test_every_estimator_keyword_maps_like_the_sdk(session: Any) -> None:
    step = oracle_step("fit", use_training_step=True, sdk_arguments=ESTIMATOR_ARGS)
    validate_spec(
        PipelineSpec(
            pipeline_name="zenml-oracle",
            steps=(step,),
            output_s3_uri=OUTPUT,
            parameters={PARAMETER: SNAPSHOT},
        )
    )
    ours = step_definition(step, OUTPUT)
    sdk = sdk_training_request(step, session, ESTIMATOR_ARGS)
    assert ours == sdk
    assert ours["Arguments"]["EnableManagedSpotTraining"] is True
    assert ours["Arguments"]["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 7200,
    }


def test_data_channels_are_the_sdk_inputs_and_outputs_zenml_builds(session: Any) -> None:
    from sagemaker.processing import ProcessingInput, ProcessingOutput

    step = oracle_step(
        "prep",
        input_data_s3_uri={"train": "s3://b/train", "test": "s3://b/test"},
        input_data_s3_mode="Pipe",
        output_data_s3_uri={"model": "s3://b/model"},
        output_data_s3_mode="Continuous",
    )
    inputs = [
        ProcessingInput(
            source=uri,
            destination=f"/opt/ml/processing/input/data/{name}",
            input_name=name,
            s3_input_mode="Pipe",
        )
        for name, uri in (("train", "s3://b/train"), ("test", "s3://b/test"))
    ]
    outputs = [
        ProcessingOutput(
            source="/opt/ml/processing/output/data/model",
            destination="s3://b/model",
            output_name="model",
            s3_upload_mode="Continuous",
        )
    ]
    assert step_definition(step) == sdk_processing_request(step, session, {}, (inputs, outputs))
    single = oracle_step("one", input_data_s3_uri="s3://b/in", output_data_s3_uri="s3://b/out")
    inputs = [
        ProcessingInput(source="s3://b/in", destination="/opt/ml/processing/input/data", input_name="data")
    ]
    outputs = [
        ProcessingOutput(
            source="/opt/ml/processing/output/data", destination="s3://b/out", output_name="data"
        )
    ]
    assert step_definition(single) == sdk_processing_request(single, session, {}, (inputs, outputs))


def test_training_channels_are_the_sdk_training_inputs(session: Any) -> None:
    from sagemaker.inputs import TrainingInput

    step = oracle_step(
        "fit",
        use_training_step=True,
        input_data_s3_uri={"train": "s3://b/train", "validation": "s3://b/val"},
        input_data_s3_mode="FastFile",
        output_data_s3_uri="s3://b/models",
    )
    inputs = {
        "train": TrainingInput(s3_data="s3://b/train", input_mode="FastFile"),
        "validation": TrainingInput(s3_data="s3://b/val", input_mode="FastFile"),
    }
    expected = sdk_training_request(step, session, {"output_path": "s3://b/models"}, inputs)
    assert step_definition(step, OUTPUT) == expected
    one = oracle_step("fit", use_training_step=True, input_data_s3_uri="s3://b/train")
    expected = sdk_training_request(
        one, session, {}, TrainingInput(s3_data="s3://b/train", input_mode="File")
    )
    assert step_definition(one, OUTPUT) == expected  # the SDK's channel name: 'training'


def _sdk_keywords(*classes: Any) -> set[str]:
    names: set[str] = set()
    for cls in classes:
        parameters = inspect.signature(cls.__init__).parameters
        names |= {name for name, p in parameters.items() if name != "self" and p.kind is not p.VAR_KEYWORD}
    return names


def test_every_sdk_keyword_is_mapped_or_refused_with_a_reason() -> None:
    from sagemaker.estimator import Estimator, EstimatorBase
    from sagemaker.processing import Processor

    assert _sdk_keywords(Processor) == set(sdk_arguments.PROCESSOR)
    assert _sdk_keywords(Estimator, EstimatorBase) == set(sdk_arguments.ESTIMATOR)
    for table in (sdk_arguments.PROCESSOR, sdk_arguments.ESTIMATOR):
        for name, keyword in table.items():
            assert keyword.refusal or keyword.path is not None, name


@pytest.mark.parametrize(
    ("kind", "key", "fragments"),
    [
        (
            "Processing",
            "instance_typo",
            ["'instance_typo'", "did you mean 'instance_type'", "volume_kms_key"],
        ),
        ("Processing", "max_run", ["'max_run'", "estimator_args key", "training steps"]),
        ("Training", "volume_size_in_gb", ["'volume_size_in_gb'", "processor_args key"]),
        ("Processing", "env", ["'env'", "environment"]),
        ("Training", "source_dir", ["'source_dir'", "script mode"]),
        ("Processing", "base_job_name", ["'base_job_name'", "names each execution's jobs"]),
        ("Training", "instance_count", []),  # 1 is fine
    ],
)
def test_unusable_keys_are_refused_by_name(kind: str, key: str, fragments: list[str]) -> None:
    value = 1 if key == "instance_count" else "x"
    _, problems = sdk_arguments.map_arguments(kind, {key: value})
    if not fragments:
        assert problems == []
        return
    assert len(problems) == 1
    for fragment in fragments:
        assert fragment in problems[0]


def test_more_than_one_instance_is_refused() -> None:
    _, problems = sdk_arguments.map_arguments("Processing", {"instance_count": 2})
    assert "instance_count = 2" in problems[0] and "one instance" in problems[0]


def test_a_bad_value_names_the_sdk_keyword() -> None:
    step = oracle_step(
        "prep", sdk_arguments={"volume_size_in_gb": 0, "network_config": {"subnets": "no-list"}}
    )
    with pytest.raises(ValueError) as error:
        validate_spec(
            PipelineSpec(pipeline_name="zenml-oracle", steps=(step,), parameters={PARAMETER: SNAPSHOT})
        )
    message = str(error.value)
    assert "processor_args.volume_size_in_gb = 0" in message and "between 1 and 16384" in message
    assert "processor_args.network_config" in message and "Subnets" in message
