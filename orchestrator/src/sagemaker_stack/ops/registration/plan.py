"""What `register` wants in ZenML for one StackConfig: pure, no ZenML store, no AWS.

Every piece carries labels naming this package and the stack (`sagemaker-stack/managed`,
`sagemaker-stack/stack`), so that `unregister` removes exactly that and never a component a user
registered by hand, even one with the same name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sagemaker_stack.config import CODEBUILD_IMAGE, StackConfig
from sagemaker_stack.flavor import (
    FLAVOR_NAME,
    FLAVOR_SOURCE,
    STEP_OPERATOR_FLAVOR,
    STEP_OPERATOR_FLAVOR_SOURCE,
    config_kwargs_from_stack_config,
    step_operator_kwargs_from_stack_config,
)
from sagemaker_stack.image_builder.flavor import IMAGE_BUILDER_FLAVOR, IMAGE_BUILDER_FLAVOR_SOURCE

if TYPE_CHECKING:
    from zenml.models import ServiceAccountResponse

MANAGED_LABEL: Final = "sagemaker-stack/managed"
STACK_LABEL: Final = "sagemaker-stack/stack"
API_KEY_NAME: Final = "steps"
#: Environment variable with an API key for the steps, for users who may not create service accounts
#: (in ZenML OSS only admins may); read when `register` is not given `steps_api_key`.
STEPS_API_KEY_ENV: Final = "SAGEMAKER_STACK_STEPS_API_KEY"
#: The start of the description of every service account `register` makes.
SERVICE_ACCOUNT_MARKER: Final = "Made by sagemaker-stack for stack"

ARTIFACT_STORE: Final = "artifact_store"
CONTAINER_REGISTRY: Final = "container_registry"
ORCHESTRATOR: Final = "orchestrator"
IMAGE_BUILDER: Final = "image_builder"
STEP_OPERATOR: Final = "step_operator"


class RegistrationError(RuntimeError):
    """Registration cannot be done (or undone) as asked; the message says why and what to do."""


@dataclass(frozen=True)
class ComponentPlan:
    """One ZenML stack component as `register` wants it."""

    component_type: str
    name: str
    flavor: str
    configuration: Mapping[str, Any]
    #: A flavor of this package, which `register` registers with ZenML first (None: ZenML's own).
    flavor_source: str | None = None


@dataclass(frozen=True)
class StackPlan:
    """The ZenML stack, its components and its service account, derived from one StackConfig."""

    stack_name: str
    components: tuple[ComponentPlan, ...]
    service_account: str

    @property
    def labels(self) -> dict[str, str]:
        """The labels that mark a component or stack as made by `register` for this stack."""
        return {MANAGED_LABEL: "true", STACK_LABEL: self.stack_name}

    @property
    def service_account_description(self) -> str:
        return f"{SERVICE_ACCOUNT_MARKER} {self.stack_name!r}: its steps log in with this account's key."


@dataclass
class RegistrationResult:
    """What `register` did, for the CLI to report."""

    stack_name: str
    changes: list[str] = field(default_factory=list)
    activated: bool = False
    #: What works as registered but needs the user's attention (the steps' way to the server).
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


@dataclass
class UnregistrationResult:
    """What `unregister` removed and what it left alone (and why)."""

    stack_name: str
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def orchestrator_configuration(config: StackConfig) -> dict[str, Any]:
    """The `sagemaker_pipelines` orchestrator's configuration for this stack (unset values left out)."""
    values = config_kwargs_from_stack_config(config)
    return {key: value for key, value in values.items() if value is not None}


def server_path_warning(config: StackConfig, server_url: str, public_address: str | None) -> str | None:
    """Why the steps cannot reach the ZenML server, when the stack's subnets have no way out.

    `public_address` is the public internet address the server's URL resolves to (None when it
    is private or unknown, e.g. a private endpoint in the VPC): the jobs of a stack with a VPC and
    no NAT reach nothing on the public internet.
    """
    if not config.subnet_ids or config.nat or public_address is None:
        return None
    return (
        f"the stack's jobs run in private subnets without a NAT gateway, but the ZenML server at "
        f"{server_url} is on the public internet ({public_address}): the steps will not reach it. "
        "Give the server a private endpoint in the VPC or another VPC path (peering, transit "
        "gateway, VPN) and register with --server-url pointing there, or redeploy with -c nat=true"
    )


def plan_stack(config: StackConfig, name: str | None = None) -> StackPlan:
    """The ZenML stack for `config`, named `name` (default: the AWS stack's name)."""
    stack_name = name or config.stack_name
    artifact_store: dict[str, Any] = {"path": config.artifact_path}
    if config.endpoint_url:
        # Only for the emulator; on AWS the SDK finds the endpoint and the credential chain the keys.
        artifact_store["client_kwargs"] = {"endpoint_url": config.endpoint_url, "region_name": config.region}
    components = [
        ComponentPlan(ARTIFACT_STORE, f"{stack_name}-artifacts", "s3", artifact_store),
        ComponentPlan(
            CONTAINER_REGISTRY,
            f"{stack_name}-registry",
            "aws",
            # ZenML's AWS registry takes the host only; images go to <uri>/<default_repository>.
            {"uri": config.registry_uri, "default_repository": config.repository_name},
        ),
        ComponentPlan(
            ORCHESTRATOR,
            f"{stack_name}-orchestrator",
            FLAVOR_NAME,
            orchestrator_configuration(config),
            flavor_source=FLAVOR_SOURCE,
        ),
        ComponentPlan(
            STEP_OPERATOR,
            f"{stack_name}-step-operator",
            STEP_OPERATOR_FLAVOR,
            {k: v for k, v in step_operator_kwargs_from_stack_config(config).items() if v is not None},
            flavor_source=STEP_OPERATOR_FLAVOR_SOURCE,
        ),
    ]
    if config.image_builder_project:
        components.append(
            ComponentPlan(
                IMAGE_BUILDER,
                f"{stack_name}-image-builder",
                IMAGE_BUILDER_FLAVOR,
                {"code_build_project": config.image_builder_project, "build_image": CODEBUILD_IMAGE},
                flavor_source=IMAGE_BUILDER_FLAVOR_SOURCE,
            )
        )
    return StackPlan(
        stack_name=stack_name, components=tuple(components), service_account=f"{stack_name}-steps"
    )


def stack_yaml(plan: StackPlan) -> dict[str, Any]:
    """The stack in the format `zenml stack export` writes and `zenml stack import` reads."""
    import zenml

    components: dict[str, list[dict[str, Any]]] = {}
    for component in plan.components:
        components.setdefault(component.component_type, []).append(
            {
                "name": component.name,
                "type": component.component_type,
                "flavor": component.flavor,
                "configuration": plain(component.configuration),
            }
        )
    return {"stack_name": plan.stack_name, "components": components, "zenml_version": zenml.__version__}


def write_stack_yaml(plan: StackPlan, path: str | os.PathLike[str]) -> Path:
    """Write `stack_yaml(plan)` to `path`, with a header saying how to import it."""
    import yaml  # type: ignore[import-untyped, unused-ignore]

    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    flavors = [
        f"#   zenml {component.component_type.replace('_', '-')} flavor register {component.flavor_source}\n"
        for component in plan.components
        if component.flavor_source
    ]
    header = (
        f"# ZenML stack {plan.stack_name!r}, written by `sagemaker-stack register --yaml`.\n"
        "# Import it with (the flavor commands once per ZenML server):\n"
        + "".join(flavors)
        + f"#   zenml stack import {plan.stack_name} -f {file.name}\n"
    )
    file.write_text(header + yaml.safe_dump(stack_yaml(plan), sort_keys=False))
    return file


def is_ours(labels: Mapping[str, Any] | None, stack_name: str) -> bool:
    """Whether a component or stack carries the labels `register` puts on what it makes for `stack_name`."""
    labels = labels or {}
    return labels.get(MANAGED_LABEL) == "true" and labels.get(STACK_LABEL) == stack_name


def is_our_account(account: ServiceAccountResponse, stack_name: str) -> bool:
    """Service accounts take no labels in ZenML: the description `register` wrote marks ours."""
    return account.description.startswith(f"{SERVICE_ACCOUNT_MARKER} {stack_name!r}:")


def has_labels(labels: Mapping[str, Any] | None, wanted: Mapping[str, str]) -> bool:
    """Whether every wanted label is there with its value (others may be too)."""
    labels = labels or {}
    return all(labels.get(key) == value for key, value in wanted.items())


def plain(value: Any) -> Any:
    """A JSON-plain copy (what ZenML stores and returns), for comparisons and YAML."""
    return json.loads(json.dumps(value))


def first_line(error: BaseException) -> str:
    """An error's first line: ZenML's and botocore's messages can run to many."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
