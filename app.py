#!/usr/bin/env python3
"""The CDK app: validated settings from the context -> the stack, with cdk-nag checks -> synth."""

from __future__ import annotations

import sys

from stacks.sagemaker_stack import build_app
from stacks.settings import SettingsError


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
