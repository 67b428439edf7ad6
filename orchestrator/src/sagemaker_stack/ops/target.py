"""Where a stack lives: AWS, or an emulator at an endpoint with its test keys.

Every laptop-side command reaches the stack through a Target, so AWS and the emulator differ only
in the endpoint (and the emulator's keys), never in the code path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sagemaker_stack import aws
from sagemaker_stack.config import StackConfig

#: Moto's fixed account; `cdk bootstrap` on the emulator targets it.
EMULATOR_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Target:
    """Where a stack lives: AWS (no endpoint) or an emulator (its endpoint and test keys)."""

    region: str
    endpoint_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_emulator(self) -> bool:
        return self.endpoint_url is not None

    def client(self, service: str) -> Any:
        """A client of `service` where the stack lives (with the emulator's test keys there)."""
        return aws.client(service, region=self.region, endpoint_url=self.endpoint_url, credentials=self.env)


def emulator_target(endpoint_url: str, region: str) -> Target:
    """A Target for an emulator already serving at `endpoint_url`."""
    from sagemaker_stack.local.process.emulator import emulator_env

    return Target(region=region, endpoint_url=endpoint_url, env=emulator_env(endpoint_url, region))


def target_for_config(config: StackConfig) -> Target:
    """Where the stack described by `config` was deployed."""
    if config.endpoint_url:
        return emulator_target(config.endpoint_url, config.region)
    return Target(region=config.region)


def aws_credentials_available() -> bool:
    """True when boto3's credential chain finds credentials (env, profile, SSO, instance role)."""
    import boto3

    return boto3.session.Session().get_credentials() is not None
