"""The emulator's definition checks and expression evaluation, without a server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_stack.local.sagemaker.engine import _retry_delay
from sagemaker_stack.local.sagemaker.pipeline_definition import (
    DefinitionError,
    ResolutionError,
    parameter_values,
    parse_definition,
    property_path,
    resolve,
)


def _definition(*steps: dict[str, Any], parameters: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({"Version": "2020-12-01", "Parameters": parameters or [], "Steps": list(steps)})


def _step(name: str, depends_on: list[str] | None = None, arguments: Any = None) -> dict[str, Any]:
    return {"Name": name, "Type": "Processing", "DependsOn": depends_on or [], "Arguments": arguments or {}}


def test_dependencies_include_property_references() -> None:
    reference = {"Env": {"Get": "Steps.a.ProcessingJobName"}}
    spec = parse_definition(_definition(_step("a"), _step("b", arguments=reference), _step("c", ["b"])))

    assert spec.steps["b"].depends_on == ("a",)
    assert spec.steps["c"].depends_on == ("b",)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[1, 2", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (json.dumps({"Steps": []}), "non-empty 'Steps' list"),
        (_definition(_step("a"), _step("a")), "'a' is used more than once"),
        (_definition(_step("a", ["nope"])), "step 'a' depends on 'nope', which is not a step"),
        (_definition(_step("a", arguments={"X": {"Get": "Steps.ghost.ProcessingJobName"}})), "'ghost'"),
        (_definition(_step("a", ["b"]), _step("b", ["a"])), "cycle: a -> b -> a"),
    ],
)
def test_bad_definitions_name_the_problem(document: str, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        parse_definition(document)


def test_parameters_take_defaults_and_typed_overrides() -> None:
    parameters: list[dict[str, Any]] = [
        {"Name": "count", "Type": "Integer", "DefaultValue": 1},
        {"Name": "label", "Type": "String", "DefaultValue": "x"},
    ]
    spec = parse_definition(_definition(_step("a"), parameters=parameters))

    assert parameter_values(spec, [{"Name": "count", "Value": "3"}]) == {"count": 3, "label": "x"}
    with pytest.raises(DefinitionError, match="'other', which the pipeline does not declare"):
        parameter_values(spec, [{"Name": "other", "Value": "1"}])


def test_resolve_evaluates_get_and_join_only() -> None:
    values = {"Parameters.p": "v", "Execution.PipelineExecutionId": "id1"}
    document = {
        "Plain": {"Key": "value"},
        "Joined": {
            "Std:Join": {
                "On": "-",
                "Values": [{"Get": "Parameters.p"}, {"Get": "Execution.PipelineExecutionId"}, 3],
            }
        },
        "List": [{"Get": "Parameters.p"}],
    }

    assert resolve(document, values.__getitem__) == {
        "Plain": {"Key": "value"},
        "Joined": "v-id1-3",
        "List": ["v"],
    }


def test_property_path_walks_names_and_indexes() -> None:
    properties = {
        "Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}}],
        "Items": ["x", "y"],
    }

    assert property_path(properties, "Outputs['train'].S3Output.S3Uri") == "s3://b/train"
    assert property_path(properties, "Items[1]") == "y"
    with pytest.raises(ResolutionError, match="no item named 'test'"):
        property_path(properties, "Outputs['test'].S3Output")


def test_retry_delay_follows_the_policy() -> None:
    policy = {
        "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"],
        "IntervalSeconds": 2,
        "BackoffRate": 3.0,
        "MaxAttempts": 2,
    }

    assert _retry_delay((policy,), "SageMaker.JOB_INTERNAL_ERROR", 0, first_start=0.0) is not None
    assert _retry_delay((policy,), "SageMaker.JOB_INTERNAL_ERROR", 1, first_start=1e12) == 6.0
    assert _retry_delay((policy,), "SageMaker.JOB_INTERNAL_ERROR", 2, first_start=1e12) is None
    assert _retry_delay((policy,), "Step.THROTTLING", 0, first_start=1e12) is None
    assert _retry_delay((policy,), None, 0, first_start=1e12) is None
