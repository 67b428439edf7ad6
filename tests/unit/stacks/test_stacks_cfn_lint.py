"""cfn-lint finds no errors in the synthesized templates (in regions of several kinds)."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-1"]


@pytest.mark.parametrize(
    "fixture", ["default_stack", "custom_stack", "private_stack", "nat_stack", "existing_stack"]
)
def test_cfn_lint_reports_no_errors(fixture: str, request: pytest.FixtureRequest) -> None:
    synthesized = request.getfixturevalue(fixture)
    matches = lint(json.dumps(synthesized.json), config=ManualArgs(regions=REGIONS))
    errors = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches if m.rule.id[0] == "E"
    ]
    assert errors == []
