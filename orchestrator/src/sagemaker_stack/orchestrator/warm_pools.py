"""Warm pools where they help: warnings read off a definition's training steps.

Every SageMaker job waits for its instances before its first line runs (minutes on AWS). For
training jobs only, SageMaker's managed warm pools keep a finished job's instances for
`KeepAlivePeriodInSeconds` (at most 3600 s), and a later training job whose request matches them
starts on them instead of new ones. A match needs the same role, the same `ResourceConfig`
(instance type and count, volume size and key), the same network (`VpcConfig`, network isolation,
inter-container encryption); spot training cannot use them. Kept instances are billed while they
wait. (SageMaker developer guide: "Train Using SageMaker Managed Warm Pools".)

From the start-up model's point of view (a start-up per job on the critical path) two cases are
worth a sentence, and both only warn, since the pool is billed and the user decides:
- a training step directly followed by a training step that could reuse its instances, with no
  keep-alive set: the second job pays a start-up it need not;
- a keep-alive on a training step no later training step of the pipeline can reuse: billed
  idle time for nothing (within one run: another run or pipeline may still want it, so it is a
  hint, not a refusal).
Step groups already put consecutive steps with one configuration into one job; what is left here
is training steps a step of another configuration separates, or groups turned off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

#: The members of a training request that must match for a job to reuse a warm pool.
_MATCHING = ("RoleArn", "VpcConfig", "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption")
_RESOURCES = ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")


def _pool_key(arguments: Mapping[str, Any]) -> str | None:
    """What a warm pool of this training request can be reused by; None if it can use none."""
    if arguments.get("EnableManagedSpotTraining"):
        return None
    resources = arguments.get("ResourceConfig") or {}
    if resources.get("InstanceGroups"):
        return None  # heterogeneous clusters use no warm pools
    key = {name: arguments.get(name) for name in _MATCHING}
    key.update({name: resources.get(name) for name in _RESOURCES})
    return json.dumps(key, sort_keys=True, default=str)


def _keep_alive(arguments: Mapping[str, Any]) -> int:
    return int((arguments.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds") or 0)


def warm_pool_warnings(
    steps: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None = None
) -> list[str]:
    """Sentences for the definition's `Steps` (SageMaker step entries); `labels` names them for the
    user (SageMaker step name -> what the user knows it as, e.g. the ZenML step name)."""
    names = labels or {}
    training = {str(step["Name"]): step["Arguments"] for step in steps if step.get("Type") == "Training"}
    keys = {name: _pool_key(arguments) for name, arguments in training.items()}
    downstream: dict[str, list[str]] = {name: [] for name in training}
    for step in steps:
        name = str(step["Name"])
        for upstream in step.get("DependsOn") or ():
            if upstream in downstream and name in training:
                downstream[upstream].append(name)
    warnings: list[str] = []
    for name in sorted(training):
        key, label = keys[name], names.get(name, name)
        reusers = [child for child in sorted(downstream[name]) if key is not None and keys[child] == key]
        kept = _keep_alive(training[name])
        if reusers and not kept:
            following = ", ".join(repr(names.get(child, child)) for child in reusers)
            warnings.append(
                f"training step {label!r} is followed by {following} on the same instances, role and "
                f"network: set keep_alive_period_in_seconds on {label!r} (e.g. 300) and the next job "
                "starts on its warm instances instead of waiting for new ones (kept instances are billed "
                "while they wait)"
            )
        elif kept and key is not None and not any(keys[other] == key for other in training if other != name):
            warnings.append(
                f"training step {label!r} keeps its instances warm for {kept} s "
                "(keep_alive_period_in_seconds), billed while they wait, but no other training step of "
                "this pipeline runs on the same instances, role and network to reuse them"
            )
    return warnings
