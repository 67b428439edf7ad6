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


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv") or str(REPO_ROOT / ".uv-bootstrap" / "bin" / "uv")
    if not Path(found).exists() and shutil.which(found) is None:
        pytest.skip("uv is not installed (run `make install`)")
    return found


STACKS = ("default_stack", "private_stack", "nat_stack")


@pytest.fixture(scope="module")
def reports(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each stack's checkov report, from one checkov run over all of them (each run costs about
    10 s of CPU before it reads a template)."""
    folder = tmp_path_factory.mktemp("checkov")
    files = []
    for name in STACKS:
        template = folder / f"{name}.json"
        template.write_text(json.dumps(request.getfixturevalue(name).json))
        files += ["--file", str(template)]
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
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=folder,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    results = report["results"]
    assert results.get("parsing_errors", []) == []
    # Every template is scanned (its passed checks name it), and each check names its file.
    assert {check["file_path"] for check in results["passed_checks"]} == {f"/{name}.json" for name in STACKS}
    return {
        name: {
            "results": {
                kind: [check for check in checks if check["file_path"] == f"/{name}.json"]
                for kind, checks in results.items()
                if kind.endswith("_checks")
            }
        }
        for name in STACKS
    }


def _skipped(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (check["check_id"], check["resource"].split(".", 1)[1]): check["check_result"]["suppress_comment"]
        for check in report["results"].get("skipped_checks", [])
    }


def test_the_private_stack_fails_no_check_and_accepts_only_mutable_tags_and_the_log_bucket(
    reports: dict[str, Any],
) -> None:
    """vpc=create kms=create access_logs=true: what the issue asks checkov to pass."""
    report = reports["private_stack"]
    assert report["results"]["failed_checks"] == []
    skipped = _skipped(report)
    assert {check for check, _ in skipped} == {"CKV_AWS_51", "CKV_AWS_18"}
    (repository,) = [reason for (check, _), reason in skipped.items() if check == "CKV_AWS_51"]
    assert "ZenML pushes every build of a pipeline under the same tag" in repository
    (bucket,) = [resource for check, resource in skipped if check == "CKV_AWS_18"]
    assert bucket.startswith("AccessLogsBucket")


@pytest.mark.parametrize("fixture", ["default_stack", "nat_stack"])
def test_other_settings_fail_no_check_either_and_say_why(fixture: str, reports: dict[str, Any]) -> None:
    report = reports[fixture]
    assert report["results"]["failed_checks"] == []
    for (check, resource), reason in _skipped(report).items():
        assert len(reason) > 60, f"{check} on {resource} needs a written reason"
