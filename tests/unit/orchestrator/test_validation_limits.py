"""validate_spec: every SageMaker limit rejected before any AWS call, named in the user's terms."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from sagemaker_stack.orchestrator.spec import (
    PIPELINE_EXECUTION_ARN,
    InvalidPipelineError,
    PipelineSpec,
    StepSpec,
)
from sagemaker_stack.orchestrator.validation import validate_spec
from tests.support.specs import SNAPSHOT, make_step

MODEL = botocore.session.get_session().get_service_model("sagemaker")


def limit(shape: str, bound: str) -> int:
    return int(MODEL.shape_for(shape).metadata[bound])


def make_spec(*steps: StepSpec, **fields: Any) -> PipelineSpec:
    fields.setdefault("pipeline_name", "zenml-demo")
    fields.setdefault("output_s3_uri", "s3://bucket/sagemaker-pipelines/zenml-demo")
    return PipelineSpec(steps=steps or (make_step(),), **fields)


def problems_of(spec: PipelineSpec) -> list[str]:
    with pytest.raises(InvalidPipelineError) as error:
        validate_spec(spec)
    assert isinstance(error.value, ValueError)
    return list(error.value.problems)


def only_problem(spec: PipelineSpec) -> str:
    problems = problems_of(spec)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_valid_pipeline_passes() -> None:
    spec = make_spec(
        make_step(
            "prep", environment={"A": "1", "RUN": PIPELINE_EXECUTION_ARN}, tags={"team": "ml"}, retries=2
        ),
        make_step(
            "fit",
            ("prep",),
            use_training_step=True,
            instance_type="ml.g5.xlarge",
            keep_alive_period_in_seconds=600,
        ),
        max_parallel_steps=2,
        tags={"project": "demo"},
        description="a demo",
    )
    validate_spec(spec)


def test_edge_values_from_the_service_model_are_accepted() -> None:
    validate_spec(
        make_spec(
            make_step(
                "small",
                volume_size_in_gb=limit("ProcessingVolumeSizeInGB", "min"),
                max_runtime_in_seconds=limit("ProcessingMaxRuntimeInSeconds", "min"),
            )
        )
    )
    validate_spec(
        make_spec(
            make_step(
                "big",
                volume_size_in_gb=limit("ProcessingVolumeSizeInGB", "max"),
                max_runtime_in_seconds=limit("ProcessingMaxRuntimeInSeconds", "max"),
            )
        )
    )
    keep_alive_max = limit("KeepAlivePeriodInSeconds", "max")
    validate_spec(
        make_spec(make_step("warm", use_training_step=True, keep_alive_period_in_seconds=keep_alive_max))
    )
    validate_spec(make_spec(make_step("cold", use_training_step=True, keep_alive_period_in_seconds=0)))
    validate_spec(make_spec(make_step("r", retries=20), make_step("r0", retries=0)))
    tags = {f"k{i}": "v" * limit("TagValue", "max") for i in range(limit("TagList", "max"))}
    validate_spec(make_spec(make_step(tags=tags)))
    env = {
        f"V{i}": "x" * limit("ProcessingEnvironmentValue", "max")
        for i in range(limit("ProcessingEnvironmentMap", "max"))
    }
    validate_spec(make_spec(make_step(environment=env)))
    validate_spec(make_spec(make_step("s" * 64)))  # StepName max 64: kept as is
    validate_spec(make_spec(pipeline_name="p" * limit("PipelineName", "max")))


@pytest.mark.parametrize(
    ("settings", "setting", "value", "allowed"),
    [
        ({"instance_type": "ml.t3.mediun"}, "instance_type", "'ml.t3.mediun'", "did you mean ml.t3.medium"),
        (
            {"instance_type": "ml.p4d.24xlarge"},
            "instance_type",
            "'ml.p4d.24xlarge'",
            "set use_training_step=True",
        ),
        ({"volume_size_in_gb": 0}, "volume_size_in_gb", "0", "between 1 and 16384"),
        ({"volume_size_in_gb": 16385}, "volume_size_in_gb", "16385", "between 1 and 16384"),
        ({"max_runtime_in_seconds": 0}, "max_runtime_in_seconds", "0", "between 1 and"),
        ({"max_runtime_in_seconds": 10**7}, "max_runtime_in_seconds", "10000000", "between 1 and 777600"),
        ({"role_arn": "arn:aws:iam::123456789012:user/someone"}, "execution_role", "user/someone", "pattern"),
        ({"role_arn": "not-a-role"}, "execution_role", "'not-a-role'", "between 20 and 2048"),
        ({"retries": 21}, "retries", "21", "between 0 and 20"),
        ({"retries": -1}, "retries", "-1", "between 0 and 20"),
    ],
)
def test_processing_limits_name_step_setting_value_and_allowed(
    settings: dict[str, Any], setting: str, value: str, allowed: str
) -> None:
    problem = only_problem(make_spec(make_step("trainer", **settings)))
    assert problem.startswith("step 'trainer': ")
    assert setting in problem and value in problem and allowed in problem


@pytest.mark.parametrize(
    ("settings", "setting", "allowed"),
    [
        ({"keep_alive_period_in_seconds": 21601}, "keep_alive_period_in_seconds", "between 0 and 21600"),
        ({"keep_alive_period_in_seconds": -1}, "keep_alive_period_in_seconds", "between 0 and 21600"),
        ({"instance_type": "ml.t2.medium"}, "instance_type", "TrainingInstanceType"),
        # Training's ResourceConfig uses OptionalVolumeSizeInGB (min 0, for local NVMe types).
        ({"volume_size_in_gb": -1}, "volume_size_in_gb", "at least 0"),
    ],
)
def test_training_limits(settings: dict[str, Any], setting: str, allowed: str) -> None:
    problem = only_problem(make_spec(make_step("fit", use_training_step=True, **settings)))
    assert problem.startswith("step 'fit': ") and setting in problem and allowed in problem


def test_training_needs_an_output_path() -> None:
    problem = only_problem(make_spec(make_step("fit", use_training_step=True), output_s3_uri=None))
    assert "step 'fit'" in problem and "output_s3_uri" in problem


def test_tag_limits() -> None:
    too_many = {f"k{i}": "v" for i in range(limit("TagList", "max") + 1)}
    problem = only_problem(make_spec(make_step(tags=too_many)))
    assert "tags" in problem and "51 entries" in problem and "between 0 and 50" in problem
    problem = only_problem(make_spec(make_step(tags={"k" * 129: "v"})))
    assert "tags key" in problem and "129 characters" in problem and "between 1 and 128" in problem
    problem = only_problem(make_spec(make_step(tags={"cost": "v" * 257})))
    assert "tags value of 'cost'" in problem and "between 0 and 256" in problem
    problem = only_problem(make_spec(make_step(tags={"bad key!": "v"})))
    assert "tags key 'bad key!'" in problem and "pattern" in problem
    # Unicode letters and spaces are allowed by TagKey's \p{L}\p{Z} pattern, control characters not.
    validate_spec(make_spec(make_step(tags={"Équipe données": "Zürich 1"})))
    assert "pattern" in only_problem(make_spec(make_step(tags={"tab": "a\tb"})))


def test_pipeline_level_limits() -> None:
    problems = problems_of(
        make_spec(pipeline_name="bad_name", max_parallel_steps=0, tags={"": "x"}, description="d" * 3073)
    )
    text = "\n".join(problems)
    assert len(problems) == 4
    assert "pipeline name 'bad_name'" in text and "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}" in text
    assert "max_parallel_steps 0" in text and "at least 1" in text
    assert "pipeline_tags" in text and "pipeline description" in text
    problem = only_problem(make_spec(pipeline_name="p" * 257))
    assert "257 characters" in problem and "between 1 and 256" in problem


def test_environment_limits_never_echo_values() -> None:
    problem = only_problem(make_spec(make_step(environment={"1BAD": "x"})))
    assert "environment variable '1BAD'" in problem and "name" in problem and "pattern" in problem
    many = {f"V{i}": "x" for i in range(limit("ProcessingEnvironmentMap", "max") + 1)}
    problem = only_problem(make_spec(make_step(environment={**many, "V0": "visible?"})))
    assert (
        "environment (after splitting" in problem and "101 entries" in problem and "visible?" not in problem
    )
    problem = only_problem(make_spec(make_step(environment={"NUMBER": 5})))
    assert (
        "environment variable 'NUMBER'" in problem
        and "int" in problem
        and "5" not in problem.split("]")[0][-3:]
    )


def test_long_environment_values_are_split_and_only_what_cannot_fit_is_refused() -> None:
    maximum = limit("ProcessingEnvironmentMap", "max")
    value_limit = limit("ProcessingEnvironmentValue", "max")
    validate_spec(make_spec(make_step(environment={"LONG": "s3cr3t-" * 40})))  # 280 characters: 2 parts
    # 99 short variables and one value needing 2 parts: 101 variables, which no job takes.
    many = {f"V{i}": "x" for i in range(maximum - 1)}
    problem = only_problem(make_spec(make_step(environment={**many, "LONG": "y" * (value_limit + 1)})))
    assert (
        f"{maximum + 1} entries" in problem and f"and {maximum} entries" in problem and "yyy" not in problem
    )


def test_training_environment_uses_the_training_limits() -> None:
    from sagemaker_stack.orchestrator.definition import step_arguments

    value = "x" * limit("TrainingEnvironmentValue", "max")
    training = step_arguments(make_step(use_training_step=True, environment={"LONG": value}), "s3://b/o")
    assert training["Environment"] == {"LONG": value}  # fits a training job whole
    processing = step_arguments(make_step(environment={"LONG": value}))
    assert sorted(processing["Environment"]) == ["LONG__PART_0", "LONG__PART_1"]  # 2 x 256


def test_credentials_in_the_environment_are_refused_without_showing_them() -> None:
    problems = problems_of(
        make_spec(
            make_step(environment={"ZENML_STORE_API_KEY": "key-value-123", "AWS_SESSION_TOKEN": "tok-456"})
        )
    )
    text = "\n".join(problems)
    assert "ZENML_STORE_API_KEY" in text and "AWS_SESSION_TOKEN" in text and "DescribePipeline" in text
    assert "key-value-123" not in text and "tok-456" not in text


def test_only_known_execution_variables_are_accepted() -> None:
    problem = only_problem(make_spec(make_step(environment={"X": {"Get": "Execution.Nope"}})))
    assert "environment X" in problem and "PipelineExecutionArn" in problem


def with_arguments(step: StepSpec, *arguments: Any) -> StepSpec:
    return StepSpec(**{**step.__dict__, "arguments": arguments})


@pytest.mark.parametrize("use_training_step", [False, True])
def test_declared_parameters_and_execution_variables_are_accepted_as_arguments(
    use_training_step: bool,
) -> None:
    step = with_arguments(
        make_step(use_training_step=use_training_step),
        "--snapshot_id",
        {"Get": "Parameters.ZenMLSnapshotId"},
        "--run",
        PIPELINE_EXECUTION_ARN,
    )
    validate_spec(make_spec(step, parameters={"ZenMLSnapshotId": SNAPSHOT}))
    # A parameter may be read from the environment too.
    environment = make_step(environment={"SNAPSHOT": {"Get": "Parameters.ZenMLSnapshotId"}})
    validate_spec(make_spec(environment, parameters={"ZenMLSnapshotId": SNAPSHOT}))


def test_an_undeclared_parameter_or_unknown_expression_is_refused() -> None:
    step = with_arguments(make_step(), "--snapshot_id", {"Get": "Parameters.ZenMLSnapshotId"})
    problem = only_problem(make_spec(step))
    assert "argument 1" in problem and "Parameters.ZenMLSnapshotId" in problem
    assert "the pipeline declares none" in problem
    step = with_arguments(make_step(), {"Std:Join": "x"})
    problem = only_problem(make_spec(step, parameters={"ZenMLSnapshotId": SNAPSHOT}))
    assert "argument 0" in problem and "['ZenMLSnapshotId']" in problem


def test_parameter_names_and_defaults_follow_the_service_model() -> None:
    problems = problems_of(make_spec(parameters={"bad name": "x", "Long": "v" * 1025}))
    text = "\n".join(problems)
    assert len(problems) == 2, problems
    assert "pipeline parameter 'bad name': name does not match" in text
    assert "pipeline parameter 'Long': value is 1025 characters long" in text


def test_dag_and_name_problems() -> None:
    problems = problems_of(
        make_spec(make_step("a", ("ghost",)), make_step("b", ("c",)), make_step("c", ("b",)))
    )
    text = "\n".join(problems)
    assert "'ghost' is not part of the pipeline" in text
    assert "no steps" in only_problem(PipelineSpec(pipeline_name="zenml-demo", steps=()))


def test_botocore_param_validator_catches_type_errors() -> None:
    problem = only_problem(make_spec(make_step(image=123)))  # type: ignore[arg-type]
    assert "step 'trainer'" in problem and "image" in problem and "AppSpecification.ImageUri" in problem


def test_container_argument_length_is_checked() -> None:
    step = make_step()
    long_argument = StepSpec(**{**step.__dict__, "arguments": ("x" * 257,)})
    problem = only_problem(make_spec(long_argument))
    assert "arguments" in problem and "257 characters" in problem


def test_all_problems_are_reported_at_once() -> None:
    spec = make_spec(
        make_step("a", instance_type="ml.nope", volume_size_in_gb=0),
        make_step("b", max_runtime_in_seconds=0, retries=99, tags={"k" * 200: "v"}),
        pipeline_name="bad_name",
    )
    error = pytest.raises(InvalidPipelineError, validate_spec, spec).value
    assert len(error.problems) == 6
    message = str(error)
    assert message.startswith("pipeline 'bad_name' cannot run on SageMaker Pipelines (6 problems):")
    for fragment in (
        "ml.nope",
        "volume_size_in_gb",
        "max_runtime_in_seconds",
        "retries",
        "tags",
        "pipeline name",
    ):
        assert fragment in message


def test_a_definition_over_the_inline_limit_is_valid() -> None:
    """Over CreatePipeline's 1 MB the definition goes through S3 (`execution`), so it is no problem."""
    from sagemaker_stack.orchestrator.definition import build_definition, to_json

    limit_chars = limit("PipelineDefinition", "max")
    value = "x" * 256
    env = {f"V{i}": value for i in range(99)}  # about 27 kB per step
    spec = make_spec(*[make_step(f"s{i}", environment=env) for i in range(limit_chars // 27000 + 2)])
    validate_spec(spec)
    assert len(to_json(build_definition(spec))) > limit_chars
