"""ResourceSettings choose the cheapest instance type that satisfies them, or are refused up front."""

from __future__ import annotations

from typing import Any

import pytest
from zenml.config import ResourceSettings

from sagemaker_stack.flavor import SagemakerPipelinesOrchestratorSettings
from sagemaker_stack.orchestrator import instance_types, service_model
from sagemaker_stack.orchestrator.snapshot_spec import choose_instance_type, gpu_on_cpu_image_warning


def chosen(training: bool = False, **resources: Any) -> tuple[str, str | None]:
    settings = SagemakerPipelinesOrchestratorSettings(use_training_step=training)
    return choose_instance_type(settings, ResourceSettings(**resources), "step 'fit'")


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({}, "ml.t3.medium"),  # nothing asked: the default
        ({"memory": "2GB"}, "ml.t3.medium"),
        # cpu_count means sustained CPUs: a t3 gives 20-40 % of each vCPU, so 2 CPUs need an m5.
        ({"cpu_count": 2}, "ml.m5.large"),
        ({"cpu_count": 8, "memory": "30GB"}, "ml.m5.2xlarge"),  # the example
        ({"cpu_count": 8}, "ml.c5.2xlarge"),  # CPU-only: compute optimised is cheapest
        ({"memory": "100GB"}, "ml.r5.4xlarge"),  # memory-heavy: 128 GiB
        ({"cpu_count": 2, "memory": "60GiB"}, "ml.r5.2xlarge"),
        ({"gpu_count": 1}, "ml.g4dn.xlarge"),
        ({"gpu_count": 1, "memory": "30GB"}, "ml.g4dn.2xlarge"),
        ({"gpu_count": 4}, "ml.g4dn.12xlarge"),
    ],
)
def test_the_cheapest_type_that_satisfies_every_request(resources: dict[str, Any], expected: str) -> None:
    assert chosen(**resources) == (expected, None)


def test_training_steps_choose_among_training_types() -> None:
    # 8 GPUs and 1 TB: only a training type has that (ml.p4d.24xlarge is not a processing type).
    assert chosen(training=True, gpu_count=8, memory="1TB") == ("ml.p4d.24xlarge", None)
    _, problem = chosen(training=False, gpu_count=8, memory="1TB")
    assert problem is not None and "no SageMaker processing instance type satisfies" in problem


def test_an_impossible_request_is_refused_naming_the_step_and_what_exists() -> None:
    name, problem = chosen(gpu_count=16)
    assert problem is not None
    assert problem.startswith("step 'fit': no SageMaker processing instance type satisfies")
    assert "gpu_count=16" in problem and "8 GPUs" in problem and "set instance_type" in problem
    assert name == "ml.t3.medium"  # a stand-in, so the rest of the step is still checked


def test_an_explicit_type_wins_over_resource_settings() -> None:
    settings = SagemakerPipelinesOrchestratorSettings(instance_type="ml.m5.large")
    assert choose_instance_type(settings, ResourceSettings(gpu_count=16), "s") == ("ml.m5.large", None)
    settings = SagemakerPipelinesOrchestratorSettings(processor_args={"instance_type": "ml.c5.xlarge"})
    assert choose_instance_type(settings, ResourceSettings(gpu_count=1), "s") == ("ml.c5.xlarge", None)


def test_the_table_only_names_types_botocore_knows() -> None:
    known = service_model.enum("ProcessingInstanceType") | service_model.enum("TrainingInstanceType")
    assert {row.name for row in instance_types.TABLE} <= known
    assert all(row.price_per_hour > 0 and row.vcpus > 0 for row in instance_types.TABLE)


def test_a_gpu_type_on_the_cpu_base_image_warns_with_the_cuda_command() -> None:
    cpu = "123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml:sagemaker-stack-cpu-0123456789abcdef"
    cuda = "123456789012.dkr.ecr.us-east-1.amazonaws.com/zenml:sagemaker-stack-cuda-0123456789abcdef"
    warning = gpu_on_cpu_image_warning("fit", "ml.g4dn.xlarge", ["built-image:abc", cpu])
    assert (
        warning is not None and "sagemaker-stack image build --variant cuda" in warning and "'fit'" in warning
    )
    assert gpu_on_cpu_image_warning("fit", "ml.g4dn.xlarge", [cuda]) is None
    assert gpu_on_cpu_image_warning("fit", "ml.m5.large", [cpu]) is None
    assert gpu_on_cpu_image_warning("fit", "ml.g6.xlarge", [cpu]) is not None  # not in the table: by family
