"""Defaults of the orchestrator's settings that code without ZenML needs too.

The flavor (`sagemaker_stack.flavor`, ZenML's settings class) declares them as field defaults;
the pure part of the orchestrator (`orchestrator.spec_rules`, ...) compares against them and
`orchestrator.snapshot_spec` falls back to them. Neither may import the other for a constant: the
pure modules promise no ZenML, and the flavor imports the implementation only when ZenML asks.
"""

from __future__ import annotations

from typing import Final

#: The instance type of a step with neither an `instance_type` setting nor ResourceSettings.
DEFAULT_INSTANCE_TYPE: Final = "ml.t3.medium"
#: ZenML's `DEFAULT_OUTPUT_DATA_S3_MODE`: the only output mode a training job has.
DEFAULT_OUTPUT_DATA_S3_MODE: Final = "EndOfJob"
