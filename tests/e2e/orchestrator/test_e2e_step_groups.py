"""Step groups end to end: several ZenML steps in one SageMaker job, each still its own step run.

A chain and a fan-out/fan-in of one job configuration run as ONE SageMaker step (one processing
job); every ZenML step keeps its own step run, outputs and log. A failure in the middle of the
group leaves the earlier steps completed, and the next run of the fixed pipeline takes them from
ZenML's cache. A step on another instance type is a SageMaker step of its own.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.e2e_stack import E2EStack

SCRIPT = Path(__file__).with_name("e2e_group_pipelines.py")
GROUPED = ("seeded", "seeded_2", "double", "square", "join", "explode", "after")
BEFORE_FAILURE = ("seeded", "seeded_2", "double", "square", "join")


def _numbers(seed: int) -> int:
    values = range(seed, seed + 10)
    return sum(2 * n for n in values) + sum(n * n for n in values)


def test_a_grouped_pipeline_runs_in_one_job_each_step_its_own_run(e2e_stack: E2EStack) -> None:
    result = e2e_stack.zenml("run", "1", "ok", "nocache", script=SCRIPT)
    assert result["error"] is None, result["_output"][-5000:]
    assert result["status"] == "completed"
    assert result["steps"] == dict.fromkeys((*GROUPED, "apart"), "completed")
    # Each step's own log holds its own line and no other step's (one process, one stdout).
    for name in ("seeded", "seeded_2", "explode", "after", "apart"):
        assert result["markers"][name] == [name], result["markers"]
    total = _numbers(1)
    assert result["outputs"]["join"] == {"total": total}
    assert result["outputs"]["after"] == {"final": total + 1}
    assert result["outputs"]["apart"] == {"apart": -total}
    sagemaker_steps = result["sagemaker_steps"]
    assert set(sagemaker_steps) == {"seeded-to-after-7-steps", "apart"}
    assert {step["status"] for step in sagemaker_steps.values()} == {"Succeeded"}
    # Two jobs in all: the group's and the step on another instance type.
    assert len({step["job"] for step in sagemaker_steps.values()}) == 2


def test_a_failure_mid_group_keeps_earlier_steps_and_the_fixed_run_reuses_them(e2e_stack: E2EStack) -> None:
    failed = e2e_stack.zenml("run", "2", "fail", "cache", script=SCRIPT)
    assert failed["status"] == "failed", failed["_output"][-5000:]
    assert failed["steps"] == {**dict.fromkeys(BEFORE_FAILURE, "completed"), "explode": "failed"}
    error = failed["error"] or ""
    assert "Step group 'seeded-to-after-7-steps' (ZenML steps" in error
    assert "deliberate failure in the middle of the group" in error  # the group job's log tail
    assert failed["sagemaker_steps"]["seeded-to-after-7-steps"]["status"] == "Failed"
    assert "apart" not in failed["sagemaker_steps"]

    fixed = e2e_stack.zenml("run", "2", "ok", "cache", script=SCRIPT)
    assert fixed["error"] is None, fixed["_output"][-5000:]
    assert fixed["status"] == "completed"
    assert fixed["steps"] == {
        **dict.fromkeys(BEFORE_FAILURE, "cached"),
        "explode": "completed",
        "after": "completed",
        "apart": "completed",
    }
    assert fixed["outputs"]["after"] == {"final": _numbers(2) + 1}
