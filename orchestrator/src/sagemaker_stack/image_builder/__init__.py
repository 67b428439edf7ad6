"""Step images built on the stack's CodeBuild project: ZenML's `aws` image builder, made to say why.

- `flavor`: the ZenML image builder flavor `sagemaker_stack_codebuild` (cheap to import): ZenML's
  own `aws` image builder configuration, unchanged.
- `codebuild`: ZenML's `AWSImageBuilder` with three fixes: a failed build names its failing
  command and the last lines it printed (ZenML's own error only links to the console), CodeBuild is
  called in the region of the stack's registry (ZenML's uses whatever region the client defaults
  to), and builds run privileged, which Docker needs (ZenML asks for unprivileged builds).
- `build_log`: reading a CodeBuild build's status and log back, shared with `sagemaker-stack image
  build` (the base image).

Used on the client during `zenml pipeline run`, when ZenML builds the pipeline's images.
"""
