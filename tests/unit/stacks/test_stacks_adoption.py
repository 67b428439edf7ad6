"""A stack that adopts an existing bucket and repository (the ones a destroyed stack retained, or a
user's own): it creates neither, its roles are scoped to them, and it exports the same config."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from sagemaker_stack.config import OutputName, StackConfig
from sagemaker_stack_cdk.settings import Settings, SettingsError

#: The fixtures' type (defined in this folder's conftest.py, which is not importable by name).
Synthesized = Any

BUCKET = "zenml-sagemaker-artifacts-123456789012-eu-west-1"
REPOSITORY = "zenml-sagemaker-zenml"
ADOPTING = {"artifact_bucket": BUCKET, "image_repository": REPOSITORY}


@pytest.fixture(scope="module")
def adopting_stack(synth: Any) -> Synthesized:
    return synth(ADOPTING)


def _statements(template: Template, sid: str) -> list[dict[str, Any]]:
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        found += [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == sid]
    return found


def _text(value: Any) -> str:
    return json.dumps(value)


def test_the_template_creates_neither_bucket_nor_repository(adopting_stack: Synthesized) -> None:
    template = adopting_stack.template
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.resource_count_is("AWS::S3::BucketPolicy", 0)  # the owner's policy stays as it is
    template.resource_count_is("AWS::ECR::Repository", 0)


def test_the_roles_are_scoped_to_the_adopted_bucket_and_repository(adopting_stack: Synthesized) -> None:
    template = adopting_stack.template
    bucket = _statements(template, "ArtifactBucket")
    objects = _statements(template, "ArtifactObjects")
    repository = _statements(template, "ImageRepository")
    assert len(bucket) == len(objects) == 1 and repository
    assert _text(bucket[0]["Resource"]).count(f":s3:::{BUCKET}") == 1
    assert _text(objects[0]["Resource"]).endswith(f':s3:::{BUCKET}/*"]]}}')
    for statement in repository:
        assert f":repository/{REPOSITORY}" in _text(statement["Resource"])
    # The image builder reads build contexts from the adopted bucket, and only those.
    builder = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "s3:GetObject" in s["Action"] and "s3:PutObject" not in s["Action"]
    ]
    contexts = f":s3:::{BUCKET}/zenml/code-build-contexts/*"
    assert builder and all(contexts in _text(s["Resource"]) for s in builder)


def test_the_outputs_name_the_adopted_resources(adopting_stack: Synthesized) -> None:
    outputs = adopting_stack.json["Outputs"]
    assert outputs[OutputName.BUCKET_NAME]["Value"] == BUCKET
    assert outputs[OutputName.REPOSITORY_NAME]["Value"] == REPOSITORY
    config_json = _text(outputs[OutputName.STACK_CONFIG_JSON]["Value"])
    assert f'\\"bucket_name\\":\\"{BUCKET}\\"' in config_json
    assert set(outputs) >= {OutputName.ARTIFACT_PATH, OutputName.RETAIN_DATA}
    assert set(StackConfig.model_fields) >= {"bucket_name", "repository_name"}


def test_a_stack_that_makes_them_keeps_the_bucket_policy_with_retained_data(
    default_stack: Synthesized,
) -> None:
    """A retained bucket stays TLS-only: its policy is retained with it (an adopting stack makes none)."""
    default_stack.template.has_resource(
        "AWS::S3::BucketPolicy", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    )
    default_stack.template.has_resource(
        "AWS::S3::Bucket",
        {"DeletionPolicy": "Retain", "Properties": Match.object_like({"BucketName": Match.any_value()})},
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("artifact_bucket", "Not_A_Bucket"), ("image_repository", "UPPER/case"), ("artifact_bucket", 3)],
)
def test_a_bad_adopted_name_is_one_line_naming_the_setting(key: str, value: Any) -> None:
    with pytest.raises(SettingsError, match=f"invalid {key} ") as raised:
        Settings.from_context({key: value})
    assert "\n" not in str(raised.value)


def test_cdk_nag_and_cfn_lint_pass_on_the_adopting_stack(adopting_stack: Synthesized) -> None:
    from cfnlint.api import ManualArgs, lint

    reports = json.loads((adopting_stack.outdir / "validation-report.json").read_text())["pluginReports"]
    (report,) = [r for r in reports if r["pluginName"] == "AwsSolutions"]
    assert report["conclusion"] == "success" and report["violations"] == []
    matches = lint(json.dumps(adopting_stack.json), config=ManualArgs(regions=["eu-west-1"]))
    assert [m for m in matches if m.rule.id[0] == "E"] == []
