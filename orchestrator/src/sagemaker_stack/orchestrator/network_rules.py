"""Rules on a step's VPC, isolation and KMS members that botocore's model cannot express.

Checked on the request the step will send (`job_request`), whichever setting put a member there
(`subnets`, `processor_args.network_config`, `estimator_args.subnets`, `job_arguments`, ...), and
each message names that setting:

- network isolation is refused by any route: an isolated container has no network at all, so a
  ZenML step could reach neither the ZenML server nor the artifact store and fails before its
  code runs. A private VPC (`subnets`, `security_group_ids`) keeps the job off the internet;
- a VPC needs both subnets and security groups (CreateProcessingJob / CreateTrainingJob VpcConfig);
- subnet and security group ids have EC2's shape (`subnet-` / `sg-` and 8 or 17 hex digits), which
  the model's pattern (`[-0-9a-zA-Z]+`) does not check;
- a KMS key is named as SageMaker takes it (key id, key ARN, alias, alias ARN) and lives in the
  stack's region: SageMaker uses keys of the job's region only;
- no volume key for an instance type with local storage, which its hardware encrypts (the
  VolumeKmsKeyId documentation: "You can't request a VolumeKmsKeyId when using an instance type
  with local storage").
"""

from __future__ import annotations

from typing import Any, Final

from sagemaker_stack.config import KMS_KEY_REFERENCE, SECURITY_GROUP_ID, SUBNET_ID
from sagemaker_stack.orchestrator.instance_types import has_local_storage
from sagemaker_stack.orchestrator.job_request import JobRequest
from sagemaker_stack.orchestrator.sdk_arguments import Path

ISOLATION_REASON: Final = (
    "an isolated container has no network, so a ZenML step can reach neither the ZenML server nor "
    "the artifact store and fails before its code runs; remove it (subnets and security_group_ids "
    "in a private VPC keep the job off the internet)"
)


def network_problems(request: JobRequest, training: bool, region: str | None) -> list[str]:
    """Every rule the step's request breaks, one sentence each (without the step's name)."""
    network: Path = () if training else ("NetworkConfig",)
    resources: Path = ("ResourceConfig",) if training else ("ProcessingResources", "ClusterConfig")
    outputs: Path = ("OutputDataConfig",) if training else ("ProcessingOutputConfig",)
    problems = [
        f"{request.source_of(path)} asks for network isolation: {ISOLATION_REASON}"
        for path in (("EnableNetworkIsolation",), ("NetworkConfig", "EnableNetworkIsolation"))
        if request.get(path) is True
    ]
    vpc = request.get((*network, "VpcConfig"))
    if isinstance(vpc, dict):
        problems.extend(_vpc_problems(request, (*network, "VpcConfig"), vpc))
    for path in ((*resources, "VolumeKmsKeyId"), (*outputs, "KmsKeyId")):
        key = request.get(path)
        if isinstance(key, str):
            problems.extend(_key_problems(request.source_of(path) or ".".join(path), key, region))
    instance = request.get((*resources, "InstanceType"))
    if (
        request.get((*resources, "VolumeKmsKeyId"))
        and isinstance(instance, str)
        and has_local_storage(instance)
    ):
        problems.append(
            f"{request.source_of((*resources, 'VolumeKmsKeyId'))} cannot be used with {instance}: its "
            "storage is local instance store, which the instance's hardware encrypts, and SageMaker "
            "refuses a volume key there; remove it for this step, or choose a type without local storage"
        )
    return problems


def _vpc_problems(request: JobRequest, path: Path, vpc: dict[str, Any]) -> list[str]:
    problems = []
    subnets, groups = vpc.get("Subnets"), vpc.get("SecurityGroupIds")
    if bool(subnets) != bool(groups):
        given, missing = ("Subnets", "SecurityGroupIds") if subnets else ("SecurityGroupIds", "Subnets")
        problems.append(
            f"{request.source_of((*path, given))} puts the job in a VPC without {missing}: a job in a VPC "
            "needs both its subnets and its security groups (set subnets and security_group_ids together)"
        )
    for member, pattern, what in (
        ("Subnets", SUBNET_ID, "subnet id (subnet- and 8 or 17 hex digits)"),
        ("SecurityGroupIds", SECURITY_GROUP_ID, "security group id (sg- and 8 or 17 hex digits)"),
    ):
        values = vpc.get(member)
        for value in values if isinstance(values, list) else []:
            if isinstance(value, str) and not pattern.match(value):
                problems.append(f"{request.source_of((*path, member))}: {value!r} is not a {what}")
    return problems


def _key_problems(source: str, key: str, region: str | None) -> list[str]:
    match = KMS_KEY_REFERENCE.match(key)
    if match is None:
        return [
            f"{source} = {key!r} is not a KMS key: use a key id, a key ARN, an alias (alias/<name>) or "
            "an alias ARN"
        ]
    key_region = match["region"]
    if region and key_region and key_region != region:
        return [
            f"{source} = {key!r} is a key in {key_region}, but the stack's jobs run in {region}: "
            "SageMaker uses keys of the job's own region only"
        ]
    return []
