"""The step group runner inside the job: dependency order, parallel branches, failures, resume.

A SageMaker retry of a group's job must never re-run a step that already completed in the run.
"""

from __future__ import annotations

import threading
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from sagemaker_stack.step.configuration import SagemakerStackStepGroupConfiguration
from sagemaker_stack.step.entrypoint import ENTRYPOINT_COMMAND, STEP_GROUP_CONFIGURATION_SOURCE
from sagemaker_stack.step.group_runner import StepGroupFailed, run_group, run_in_order
from tests.support.specs import EXAMPLE_SHAPE

EXAMPLE = EXAMPLE_SHAPE


class FakeOrchestrator:
    """What the runner uses of ZenML's orchestrator: prepare the run, run one step."""

    def __init__(self, fail: frozenset[str] = frozenset()) -> None:
        self.fail = fail
        self.launched: list[str] = []
        self.snapshot: Any = None
        self.lock = threading.Lock()

    def _prepare_run(self, snapshot: Any) -> None:
        self.snapshot = snapshot

    def get_orchestrator_run_id(self) -> str:
        return "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e"

    def run_step(self, step: Any) -> None:
        with self.lock:
            self.launched.append(step.name)
        if step.name in self.fail:
            raise RuntimeError(f"{step.name} broke")


def snapshot_of(dag: dict[str, list[str]]) -> Any:
    return SimpleNamespace(
        id=uuid.uuid4(),
        step_configurations={
            name: SimpleNamespace(name=name, spec=SimpleNamespace(upstream_steps=upstream))
            for name, upstream in dag.items()
        },
    )


def test_steps_run_after_their_upstream_steps() -> None:
    orchestrator = FakeOrchestrator()
    run_group(snapshot_of(EXAMPLE), list(EXAMPLE), orchestrator, completed=lambda run_id, snapshot: set())
    order = orchestrator.launched
    assert sorted(order) == sorted(EXAMPLE)
    for step, upstream in EXAMPLE.items():
        assert all(order.index(u) < order.index(step) for u in upstream)


def test_parallel_branches_run_at_the_same_time() -> None:
    both = threading.Barrier(2, timeout=30)  # each branch waits for the other: only met if concurrent

    def launch(name: str) -> None:
        if name.startswith("train"):
            both.wait()

    assert run_in_order(EXAMPLE, launch, workers=2) == {}


def test_a_failure_starts_nothing_new_and_lets_running_steps_end() -> None:
    started: list[str] = []
    train_b_may_end = threading.Event()

    def launch(name: str) -> None:
        started.append(name)
        if name == "train_a":
            raise RuntimeError("boom")
        if name == "train_b":
            assert train_b_may_end.wait(30)

    def release() -> None:
        while "train_b" not in started or "train_a" not in started:
            threading.Event().wait(0.01)
        train_b_may_end.set()

    threading.Thread(target=release, daemon=True).start()
    assert list(run_in_order(EXAMPLE, launch, workers=2)) == ["train_a"]
    assert "evaluate" not in started and "train_b" in started


def test_a_failed_step_fails_the_group_job_naming_it() -> None:
    orchestrator = FakeOrchestrator(fail=frozenset({"split"}))
    with pytest.raises(StepGroupFailed) as caught:
        run_group(snapshot_of(EXAMPLE), list(EXAMPLE), orchestrator, completed=lambda run_id, snapshot: set())
    assert "split: RuntimeError: split broke" in str(caught.value)
    assert "not started: train_a, train_b, evaluate" in str(caught.value)
    assert orchestrator.launched == ["load", "split"]


def test_a_retried_group_job_resumes_at_the_first_unfinished_step() -> None:
    orchestrator = FakeOrchestrator()
    asked: list[str] = []

    def completed(run_id: str, snapshot_id: Any) -> set[str]:
        asked.append(run_id)
        return {"load", "split", "train_a", "some_step_of_another_group"}

    run_group(snapshot_of(EXAMPLE), list(EXAMPLE), orchestrator, completed=completed)
    assert asked == [orchestrator.get_orchestrator_run_id()]
    assert orchestrator.launched == ["train_b", "evaluate"]


def test_the_group_configuration_names_all_its_steps_and_reads_them_back() -> None:
    snapshot_id = uuid.uuid4()
    arguments = SagemakerStackStepGroupConfiguration.get_entrypoint_arguments(
        snapshot_id=snapshot_id, step_names=["load", "split"]
    )
    assert arguments == [
        "--entrypoint_config_source",
        STEP_GROUP_CONFIGURATION_SOURCE,
        "--snapshot_id",
        str(snapshot_id),
        "--step_names",
        "load",
        "split",
    ]
    assert SagemakerStackStepGroupConfiguration.get_entrypoint_command() == list(ENTRYPOINT_COMMAND)
    configuration = SagemakerStackStepGroupConfiguration(arguments)
    assert configuration.step_names == ["load", "split"]


def test_completed_steps_are_read_from_the_run_of_this_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner finds the run by its orchestrator run id (the execution ARN) and takes every
    step run that completed, was cached or skipped; failed and running ones run again."""
    import zenml.client

    from sagemaker_stack.step import group_runner

    run_id = uuid.uuid4()
    asked: dict[str, Any] = {}

    def step_run(name: str, status: str) -> Any:
        from zenml.enums import ExecutionStatus

        return SimpleNamespace(name=name, status=ExecutionStatus(status))

    class FakeClient:
        def list_pipeline_runs(self, **filters: Any) -> Any:
            asked["runs"] = filters
            return SimpleNamespace(items=[SimpleNamespace(id=run_id)])

        def list_run_steps(self, **filters: Any) -> Any:
            asked["steps"] = filters
            items = [
                step_run("load", "completed"),
                step_run("split", "cached"),
                step_run("train_a", "failed"),
                step_run("train_b", "running"),
            ]
            return SimpleNamespace(items=items, total_pages=1, max_size=filters.get("size", 50), index=1)

    monkeypatch.setattr(zenml.client, "Client", FakeClient)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e"
    snapshot_id = uuid.uuid4()
    assert group_runner.completed_steps(arn, snapshot_id) == {"load", "split"}
    assert asked["runs"]["orchestrator_run_id"] == arn and asked["runs"]["snapshot_id"] == snapshot_id
    assert asked["steps"]["pipeline_run_id"] == run_id and asked["steps"]["exclude_retried"] is True
