"""checkov on the synthesized template: no failed check, and every accepted one says why in it.

checkov is run as its own pinned tool (`uv tool run`, its dependencies locked by
checkov-constraints.txt), not from the project's environment: every checkov release pins an old
boto3 exactly, which the runtime package's `boto3>=1.40` excludes.
The accepted findings are in each resource's `Metadata.checkov.skip` (written by sagemaker_stack_cdk/nag.py),
so a scan by anyone else shows the same reasons.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
#: The checkov release this suite is tested with, and every version it runs with (its lock).
CHECKOV_VERSION = "3.3.30"
CHECKOV_CONSTRAINTS = Path(__file__).with_name("checkov-constraints.txt")
Synthesized = Any


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv") or str(REPO_ROOT / ".uv-bootstrap" / "bin" / "uv")
    if not Path(found).exists() and shutil.which(found) is None:
        pytest.skip("uv is not installed (run `make install`)")
    return found


def _scan(synthesized: Synthesized, tmp_path: Path) -> dict[str, Any]:
    template = tmp_path / "template.json"
    template.write_text(json.dumps(synthesized.json))
    done = subprocess.run(
        [
            _uv(),
            "tool",
            "run",
            "--constraints",
            str(CHECKOV_CONSTRAINTS),
            "--from",
            f"checkov=={CHECKOV_VERSION}",
            "checkov",
            "--framework",
            "cloudformation",
            "--compact",
            "--output",
            "json",
            "--file",
            str(template),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _skipped(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (check["check_id"], check["resource"].split(".", 1)[1]): check["check_result"]["suppress_comment"]
        for check in report["results"].get("skipped_checks", [])
    }


def test_the_private_stack_fails_no_check_and_accepts_only_mutable_tags_and_the_log_bucket(
    private_stack: Synthesized, tmp_path: Path
) -> None:
    """vpc=create kms=create access_logs=true: what the issue asks checkov to pass."""
    report = _scan(private_stack, tmp_path)
    assert report["results"]["failed_checks"] == []
    skipped = _skipped(report)
    assert {check for check, _ in skipped} == {"CKV_AWS_51", "CKV_AWS_18"}
    (repository,) = [reason for (check, _), reason in skipped.items() if check == "CKV_AWS_51"]
    assert "ZenML pushes every build of a pipeline under the same tag" in repository
    (bucket,) = [resource for check, resource in skipped if check == "CKV_AWS_18"]
    assert bucket.startswith("AccessLogsBucket")


@pytest.mark.parametrize("fixture", ["default_stack", "nat_stack"])
def test_other_settings_fail_no_check_either_and_say_why(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    report = _scan(request.getfixturevalue(fixture), tmp_path)
    assert report["results"]["failed_checks"] == []
    for (check, resource), reason in _skipped(report).items():
        assert len(reason) > 60, f"{check} on {resource} needs a written reason"
