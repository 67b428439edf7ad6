"""Warm-pool hints: a training step that could hand its instances to the next, or keeps them for none."""

from __future__ import annotations

from typing import Any

from sagemaker_stack.orchestrator.definition import PipelineSpec, build_definition
from sagemaker_stack.orchestrator.warm_pools import warm_pool_warnings
from tests.support.specs import make_step

OUTPUT = "s3://bucket/sagemaker-pipelines/p"


def _warnings(*steps: Any) -> list[str]:
    definition = build_definition(PipelineSpec(pipeline_name="p", steps=steps, output_s3_uri=OUTPUT))
    return warm_pool_warnings(definition["Steps"])


def test_consecutive_matching_training_steps_are_told_to_keep_the_first_warm() -> None:
    warnings = _warnings(
        make_step("train", use_training_step=True, instance_type="ml.g5.xlarge"),
        make_step("tune", ("train",), use_training_step=True, instance_type="ml.g5.xlarge"),
    )
    assert len(warnings) == 1
    assert "'train'" in warnings[0] and "'tune'" in warnings[0]
    assert "keep_alive_period_in_seconds" in warnings[0]


def test_a_step_that_keeps_its_instances_for_a_matching_successor_gets_no_hint() -> None:
    assert not _warnings(
        make_step("train", use_training_step=True, keep_alive_period_in_seconds=300),
        make_step("tune", ("train",), use_training_step=True),
    )


def test_steps_on_other_instances_or_processing_steps_get_no_hint() -> None:
    assert not _warnings(
        make_step("train", use_training_step=True, instance_type="ml.g5.xlarge"),
        make_step("tune", ("train",), use_training_step=True, instance_type="ml.m5.xlarge"),
        make_step("report", ("tune",)),
    )


def test_spot_training_cannot_use_a_warm_pool_so_no_hint() -> None:
    assert not _warnings(
        make_step("train", use_training_step=True, use_spot_instances=True, max_wait_time_in_seconds=90000),
        make_step(
            "tune",
            ("train",),
            use_training_step=True,
            use_spot_instances=True,
            max_wait_time_in_seconds=90000,
        ),
    )


def test_a_keep_alive_no_step_can_reuse_is_called_billed_idle_time() -> None:
    warnings = _warnings(
        make_step("train", use_training_step=True, keep_alive_period_in_seconds=600),
        make_step("report", ("train",)),
    )
    assert len(warnings) == 1
    assert "600 s" in warnings[0] and "billed" in warnings[0]
