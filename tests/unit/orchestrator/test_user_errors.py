"""The user's mistakes and the stops they asked for end `python pipeline.py` with one message.

Run as the user runs a pipeline: a script that imports ZenML (which installs its rich traceback
hook) and lets the error reach its top level. What it prints last is the message, alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sagemaker_stack.orchestrator import execution
from sagemaker_stack.orchestrator import sagemaker_orchestrator as orchestrator_module
from sagemaker_stack.orchestrator.sagemaker_orchestrator import RunStopped
from sagemaker_stack.user_errors import UserError, WatchInterrupted
from tests.support.runtime_fakes import ACCOUNT, REGION

REPO = Path(__file__).resolve().parents[3]
EXECUTION_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/smstack-training/execution/abc123def456"


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "pipeline.py"
    script.write_text("import zenml  # installs ZenML's rich traceback hook, as in any pipeline\n" + body)
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the script imports tests.support, as the tests do
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env
    )


def _assert_one_message(done: subprocess.CompletedProcess[str], message: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output
    assert "During handling of the above exception" not in output
    assert "direct cause" not in output
    assert done.stderr.strip().splitlines()[0] == f"Error: {message.splitlines()[0]}"
    assert done.stderr.rstrip().endswith(message.splitlines()[-1])


REFUSAL = """
from sagemaker_stack.orchestrator.spec import InvalidPipelineError

def submit():
    try:
        {}["instance_type"]
    except KeyError:
        raise InvalidPipelineError(["step 'a': instance_type = 'huge' is not one"], "p") from None

submit()
"""

BAD_CRON = """
from types import SimpleNamespace
from sagemaker_stack.schedules import hooks
from tests.support.runtime_fakes import make_config

schedule = SimpleNamespace(cron_expression="61 * * * *", interval_second=None, run_once_start_time=None,
                           start_time=None, end_time=None, catchup=False, id=None, name="s")
hooks.check_submission(make_config(scheduler_role_arn=ROLE), schedule)
"""

SCHEDULER_ROLE = "arn:aws:iam::123456789012:role/s"


def test_a_refused_setting_ends_the_script_with_its_message_only(tmp_path: Path) -> None:
    done = _script(tmp_path, REFUSAL)
    _assert_one_message(
        done,
        "pipeline 'p' cannot run on SageMaker Pipelines (1 problem):\n"
        "  - step 'a': instance_type = 'huge' is not one",
    )


def test_a_bad_cron_is_one_message_and_still_lets_zenml_delete_its_schedule(tmp_path: Path) -> None:
    from zenml.orchestrators.exceptions import PipelineSubmissionError

    from sagemaker_stack.schedules import hooks
    from tests.support.runtime_fakes import make_config

    schedule = SimpleNamespace(
        cron_expression="61 * * * *",
        interval_second=None,
        run_once_start_time=None,
        start_time=None,
        end_time=None,
        catchup=False,
        id=None,
        name="s",
    )
    with pytest.raises(PipelineSubmissionError) as caught:  # what ZenML deletes its schedule for
        hooks.check_submission(make_config(scheduler_role_arn=SCHEDULER_ROLE), schedule)
    assert isinstance(caught.value, UserError)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__

    done = _script(tmp_path, BAD_CRON.replace("ROLE", repr(SCHEDULER_ROLE)))
    _assert_one_message(done, str(caught.value))
    assert "minute value 61 is outside 0-59" in done.stderr


def test_other_errors_keep_their_traceback(tmp_path: Path) -> None:
    body = "from sagemaker_stack.user_errors import install_hook\n"
    done = _script(tmp_path, body + "install_hook()\nraise ValueError('a bug')\n")
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "a bug" in done.stderr


def _orchestrator_watching(make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    sagemaker = boto3.client(  # type: ignore[call-overload]
        "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    monkeypatch.setattr(
        orchestrator_module.SagemakerPipelinesOrchestrator,
        "_client",
        lambda self, service, config=None: sagemaker,
    )
    monkeypatch.setenv("SAGEMAKER_STACK_POLL_SECONDS", "0")
    return make_orchestrator(), sagemaker


def test_a_run_stopped_while_watched_ends_the_watch_with_one_line(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    orchestrator, sagemaker = _orchestrator_watching(make_orchestrator, monkeypatch)
    built = SimpleNamespace(step_names={"load": "load"}, sagemaker_pipeline_name="smstack-training")
    with Stubber(sagemaker) as stub:
        stub.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionArn": EXECUTION_ARN, "PipelineExecutionStatus": "Stopped"},
            {"PipelineExecutionArn": EXECUTION_ARN},
        )
        stub.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": []},
            {"PipelineExecutionArn": EXECUTION_ARN, "SortOrder": "Ascending"},
        )
        with pytest.raises(RunStopped) as caught:
            orchestrator._wait(EXECUTION_ARN, built, None, 600)
    assert isinstance(caught.value, UserError)
    assert "\n" not in str(caught.value) and "stopped" in str(caught.value)


def test_ctrl_c_during_the_watch_stops_watching_in_one_line(
    make_orchestrator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    orchestrator, _ = _orchestrator_watching(make_orchestrator, monkeypatch)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(execution, "watch", interrupted)
    built = SimpleNamespace(step_names={"load": "load"}, sagemaker_pipeline_name="smstack-training")
    with pytest.raises(WatchInterrupted) as caught:
        orchestrator._wait(EXECUTION_ARN, built, None, 600)
    assert isinstance(caught.value, KeyboardInterrupt)  # still a Ctrl-C to anyone who catches one
    assert caught.value.__suppress_context__
    assert "the run goes on" in str(caught.value)
