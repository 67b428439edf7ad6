#!/usr/bin/env python3
"""The CDK app: validated settings from the context -> the stack, with cdk-nag checks -> synth.

A user of the `sagemaker_stack_cdk` construct library (stacks/): `build_app` composes its parts
(settings, the stack, the accepted cdk-nag findings) here, so that the package's modules never
import one another in a circle and `stacks/` stays a library of constructs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Stack
from constructs import Construct

from sagemaker_stack.config import DEFAULT_CONSTRUCT_ID
from sagemaker_stack_cdk import ZenmlSageMaker, apply_checks
from sagemaker_stack_cdk.settings import Settings, SettingsError


class SageMakerStack(Stack):
    """The app's one stack: a `ZenmlSageMaker` made from the settings, as any user's app would.

    The construct's id is the default one: its outputs keep their plain names and CDK leaves the
    id out of logical ids, so stacks deployed before the construct library update in place.
    """

    def __init__(
        self, scope: Construct, settings: Settings, *, acknowledge_findings: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            settings.stack_name,
            description="ZenML on Amazon SageMaker Pipelines: execution role, artifact bucket, "
            "image repository, credentials secret, scheduler role and image builder (sagemaker-stack)",
            **kwargs,
        )
        self.settings = settings
        self.zenml = ZenmlSageMaker(
            self, DEFAULT_CONSTRUCT_ID, settings.to_props(self, acknowledge_findings=acknowledge_findings)
        )


def build_app(
    context: Mapping[str, Any] | None = None, *, suppress_findings: bool = True, **app_kwargs: Any
) -> tuple[App, SageMakerStack]:
    """The app with its one stack and the cdk-nag checks, from validated settings.

    `context=None` reads the context the cdk CLI hands the app; tests pass a dict instead.
    Raises `sagemaker_stack_cdk.settings.SettingsError` (one line for the user) for a bad or unknown
    setting. `suppress_findings=False` leaves out the construct's acknowledged findings (tests use
    it to see the checks bite).
    """
    app = App(context=dict(context), **app_kwargs) if context is not None else App(**app_kwargs)
    # The cdk CLI sets CDK_DEFAULT_REGION to where it deploys: a key of another region is refused.
    settings = Settings.from_context(app.node.get_all_context(), region=os.environ.get("CDK_DEFAULT_REGION"))
    stack = SageMakerStack(app, settings, acknowledge_findings=suppress_findings)
    apply_checks(app)
    return app, stack


def main() -> None:
    try:
        app, _ = build_app()
    except SettingsError as error:
        # One line, no traceback: the cdk CLI shows the app's stderr as is.
        print(f"sagemaker-stack: {error}", file=sys.stderr)
        sys.exit(1)
    app.synth()


if __name__ == "__main__":
    main()
