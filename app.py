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

from aws_cdk import App

from sagemaker_stack_cdk import nag
from sagemaker_stack_cdk.sagemaker_stack import SageMakerStack
from sagemaker_stack_cdk.settings import Settings, SettingsError


def build_app(
    context: Mapping[str, Any] | None = None, *, suppress_findings: bool = True, **app_kwargs: Any
) -> tuple[App, SageMakerStack]:
    """The app with its one stack and the cdk-nag checks, from validated settings.

    `context=None` reads the context the cdk CLI hands the app; tests pass a dict instead.
    Raises `sagemaker_stack_cdk.settings.SettingsError` (one line for the user) for a bad or unknown setting.
    `suppress_findings=False` leaves out stacks/nag.py's suppressions (tests use it to see the checks bite).
    """
    app = App(context=dict(context), **app_kwargs) if context is not None else App(**app_kwargs)
    # The cdk CLI sets CDK_DEFAULT_REGION to where it deploys: a key of another region is refused.
    settings = Settings.from_context(app.node.get_all_context(), region=os.environ.get("CDK_DEFAULT_REGION"))
    stack = SageMakerStack(app, settings)
    if suppress_findings:
        nag.suppress_findings(stack)
    nag.apply_checks(app)
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
