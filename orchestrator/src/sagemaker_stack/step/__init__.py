"""Code that runs inside the step container, before and around ZenML's own step entrypoint.

`entrypoint` is what the container starts (`python -m sagemaker_stack.step.entrypoint`): it reads
the ZenML credentials from the stack's secret and only then imports ZenML. `configuration` is
ZenML's step entrypoint configuration for our orchestrator, which ZenML loads by its source path.
"""
