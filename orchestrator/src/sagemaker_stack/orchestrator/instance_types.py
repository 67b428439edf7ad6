"""ZenML's ResourceSettings -> a SageMaker instance type: the cheapest one that satisfies them.

botocore's model lists the instance type names each job kind accepts (ProcessingInstanceType,
TrainingInstanceType) but not what they offer, so the specs and prices are a table shipped here.

Source: the Amazon SageMaker AI pricing page (aws.amazon.com/sagemaker/pricing), on-demand
"Training" and "Processing" prices in US East (N. Virginia), which are the same for every type
below, and the EC2 instance type specifications (vCPUs, memory in GiB, GPUs) of the underlying
EC2 types. Compiled 2026-12-01 from public copies of those pages (this project's machines cannot
reach AWS, so the figures were not fetched from the Price List API and may lag AWS's);
refresh with `aws pricing get-products --service-code AmazonSageMaker --region us-east-1`.
Prices differ by region, but the table only ranks types, and the ranking holds across regions.

Burstable types (t3) are counted by their baseline CPU share (EC2's documented 20 % to 40 % per
vCPU), not their vCPU count: `cpu_count=2` means two CPUs of sustained work, which an
ml.t3.large only gives in bursts. Types that are not in the table (newer families, trn) are never
chosen, but any type botocore knows can still be set with `instance_type`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from sagemaker_stack.config import base_image_tag


@dataclass(frozen=True)
class InstanceType:
    """What one SageMaker instance type offers and costs."""

    name: str
    vcpus: int
    memory_gib: float
    gpus: int
    price_per_hour: float  # USD, on demand, us-east-1
    #: Sustained share of each vCPU; 1.0 except for burstable types.
    baseline: float = 1.0

    @property
    def sustained_cpus(self) -> float:
        return self.vcpus * self.baseline


def _row(
    name: str, vcpus: int, memory: float, gpus: int, price: float, baseline: float = 1.0
) -> InstanceType:
    return InstanceType(f"ml.{name}", vcpus, memory, gpus, price, baseline)


TABLE: Final = (
    _row("t3.medium", 2, 4, 0, 0.05, baseline=0.20),
    _row("t3.large", 2, 8, 0, 0.10, baseline=0.30),
    _row("t3.xlarge", 4, 16, 0, 0.20, baseline=0.40),
    _row("t3.2xlarge", 8, 32, 0, 0.399, baseline=0.40),
    _row("m5.large", 2, 8, 0, 0.115),
    _row("m5.xlarge", 4, 16, 0, 0.23),
    _row("m5.2xlarge", 8, 32, 0, 0.461),
    _row("m5.4xlarge", 16, 64, 0, 0.922),
    _row("m5.12xlarge", 48, 192, 0, 2.765),
    _row("m5.24xlarge", 96, 384, 0, 5.53),
    _row("c5.xlarge", 4, 8, 0, 0.204),
    _row("c5.2xlarge", 8, 16, 0, 0.408),
    _row("c5.4xlarge", 16, 32, 0, 0.816),
    _row("c5.9xlarge", 36, 72, 0, 1.836),
    _row("c5.18xlarge", 72, 144, 0, 3.672),
    _row("r5.large", 2, 16, 0, 0.151),
    _row("r5.xlarge", 4, 32, 0, 0.302),
    _row("r5.2xlarge", 8, 64, 0, 0.605),
    _row("r5.4xlarge", 16, 128, 0, 1.21),
    _row("r5.8xlarge", 32, 256, 0, 2.419),
    _row("r5.12xlarge", 48, 384, 0, 3.629),
    _row("r5.16xlarge", 64, 512, 0, 4.838),
    _row("r5.24xlarge", 96, 768, 0, 7.258),
    _row("g4dn.xlarge", 4, 16, 1, 0.7364),
    _row("g4dn.2xlarge", 8, 32, 1, 0.94),
    _row("g4dn.4xlarge", 16, 64, 1, 1.505),
    _row("g4dn.8xlarge", 32, 128, 1, 2.72),
    _row("g4dn.12xlarge", 48, 192, 4, 4.89),
    _row("g4dn.16xlarge", 64, 256, 1, 5.44),
    _row("g5.xlarge", 4, 16, 1, 1.408),
    _row("g5.2xlarge", 8, 32, 1, 1.515),
    _row("g5.4xlarge", 16, 64, 1, 2.03),
    _row("g5.8xlarge", 32, 128, 1, 3.06),
    _row("g5.12xlarge", 48, 192, 4, 7.09),
    _row("g5.16xlarge", 64, 256, 1, 5.12),
    _row("g5.24xlarge", 96, 384, 4, 10.18),
    _row("g5.48xlarge", 192, 768, 8, 20.36),
    _row("p3.2xlarge", 8, 61, 1, 3.825),
    _row("p3.8xlarge", 32, 244, 4, 14.688),
    _row("p3.16xlarge", 64, 488, 8, 28.152),
    _row("p4d.24xlarge", 96, 1152, 8, 37.688),
)
BY_NAME: Final = {row.name: row for row in TABLE}
#: Where and when the table's prices hold (see the module's docstring): what a cost estimate says.
PRICE_REGION: Final = "us-east-1"
PRICES_COMPILED: Final = "2026-12-01"


def price_per_hour(instance_type: str) -> float | None:
    """The table's on-demand USD per instance-hour for `instance_type`, None when it has none."""
    row = BY_NAME.get(instance_type)
    return None if row is None else row.price_per_hour


_GIB: Final = 1 << 30
#: The tag prefix of the stack's CPU base image (`sagemaker-stack image build`).
CPU_BASE_IMAGE_TAG_PREFIX: Final = base_image_tag("cpu", "")
CUDA_IMAGE_COMMAND: Final = "sagemaker-stack image build --variant cuda"


@dataclass(frozen=True)
class ResourceRequest:
    """ZenML's ResourceSettings as numbers; None where the step asks for nothing."""

    cpu_count: float | None = None
    gpu_count: int | None = None
    memory_bytes: float | None = None

    @property
    def empty(self) -> bool:
        return self.cpu_count is None and not self.gpu_count and self.memory_bytes is None

    def satisfied_by(self, row: InstanceType) -> bool:
        return (
            (self.cpu_count is None or row.sustained_cpus >= self.cpu_count)
            and row.gpus >= (self.gpu_count or 0)
            and (self.memory_bytes is None or row.memory_gib * _GIB >= self.memory_bytes)
        )

    def __str__(self) -> str:
        parts = []
        if self.cpu_count is not None:
            parts.append(f"cpu_count={self.cpu_count:g}")
        if self.gpu_count:
            parts.append(f"gpu_count={self.gpu_count}")
        if self.memory_bytes is not None:
            parts.append(f"memory={self.memory_bytes / _GIB:.3g}GiB")
        return f"ResourceSettings({', '.join(parts)})"


def resource_request(resource_settings: object) -> ResourceRequest:
    """ZenML's `ResourceSettings` (duck-typed: cpu_count, gpu_count, get_memory) as a ResourceRequest."""
    cpu = getattr(resource_settings, "cpu_count", None)
    gpu = getattr(resource_settings, "gpu_count", None)
    get_memory = getattr(resource_settings, "get_memory", None)
    memory = get_memory("B") if callable(get_memory) else None
    return ResourceRequest(
        cpu_count=float(cpu) if cpu is not None else None,
        gpu_count=int(gpu) if gpu is not None else None,
        memory_bytes=float(memory) if memory is not None else None,
    )


def cheapest(request: ResourceRequest, allowed: frozenset[str] | set[str]) -> InstanceType | None:
    """The cheapest type in the table and in `allowed` (the job kind's enum) satisfying `request`.

    Ties go to fewer vCPUs, then the name, so the choice never depends on the table's order.
    """
    candidates = [row for row in TABLE if row.name in allowed and request.satisfied_by(row)]
    if not candidates:
        return None
    return min(candidates, key=lambda row: (row.price_per_hour, row.vcpus, row.name))


def largest_offer(allowed: frozenset[str] | set[str]) -> str:
    """What the biggest types in the table offer, for the message of an impossible request."""
    rows = [row for row in TABLE if row.name in allowed]
    return (
        f"at most {max(row.sustained_cpus for row in rows):g} CPUs, "
        f"{max(row.gpus for row in rows)} GPUs and {max(row.memory_gib for row in rows):g} GiB "
        "on one instance"
    )


def has_gpu(instance_type: str) -> bool:
    """Whether the type has an NVIDIA GPU (the table, else the g/p family letter of its name)."""
    row = BY_NAME.get(instance_type)
    if row is not None:
        return row.gpus > 0
    family = instance_type.removeprefix("ml.").split(".", 1)[0]
    return family[:1] in ("g", "p")


#: Families with NVMe instance store but no "d" in their name (EC2's "Instance store volumes" list,
#: the families SageMaker offers): G5, G6, G6e, Gr6, P5 (and P5e, P5en), Trn1 (and Trn1n), Trn2.
_INSTANCE_STORE_FAMILIES: Final = frozenset(
    {"g5", "g6", "g6e", "gr6", "p5", "p5e", "p5en", "trn1", "trn1n", "trn2"}
)
_FAMILY = re.compile(r"^(?P<series>[a-z]+)(?P<generation>\d+)(?P<attributes>[a-z-]*)$")


def has_local_storage(instance_type: str) -> bool:
    """Whether the type's storage is local instance store, which its hardware encrypts.

    SageMaker refuses a VolumeKmsKeyId for such a type (CreateProcessingJob/CreateTrainingJob
    VolumeKmsKeyId). EC2's naming: a "d" among the attributes after the generation means
    instance store (m5d, g4dn, p4d, m6id); a few families have one without saying so.
    """
    family = instance_type.removeprefix("ml.").split(".", 1)[0]
    match = _FAMILY.match(family)
    return family in _INSTANCE_STORE_FAMILIES or bool(match and "d" in match["attributes"])


def is_cpu_base_image(image: str | None) -> bool:
    """Whether `image` is the stack's CPU base image (tag `sagemaker-stack-cpu-<digest>`)."""
    if not image or "@" in image:
        return False
    _, _, tag = image.rpartition(":")
    return "/" not in tag and tag.startswith(CPU_BASE_IMAGE_TAG_PREFIX)
