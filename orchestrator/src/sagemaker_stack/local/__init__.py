"""The embedded local AWS emulator: moto's server on loopback, completed for this product.

- `emulator.Emulator`: start/stop/reset the server process from Python (`sagemaker_stack.cli.emulator`
  wraps it as `sagemaker-stack emulator start|stop|status|env`);
- `server`: the server process (moto's WSGI app plus our additions, a pid and a port file), on a
  port bound so that a restart gets it back at once (`port`);
- its state survives stop, start and kill -9: `persistence` (restore at start, save while
  serving), `snapshot` (moto's models pickled, S3 contents beside), `state_lock` (changes held
  off while a snapshot is taken), `execution_record` (what an execution reports, kept without
  its threads) and `leftovers` (what a killed emulator left running);
- `sagemaker_pipelines`: definition checks, ListPipelineExecutionSteps, StopPipelineExecution,
  and executions that really run, via `engine` (the DAG scheduler), `container` (one step as a
  local process) and `logs` (its output into CloudWatch Logs);
- `codebuild`: StartBuild really runs the build, BatchGetBuilds reports it, StopBuild stops it,
  via `build_runner` (the phases), `build_shell` (one shell session for all the commands),
  `buildspec` (the buildspec read and checked), `build_source` (the source zip from S3),
  `build_environment` (the variables and tools a build gets) and `build_record` (the record's
  phases);
- images as Python environments: `docker_cli` (the `docker` stand-in), `dockerfile` and
  `shell_words` (what a Dockerfile means), `image_build`, `image_store`, `image_reference`,
  `registry` (push to / find in the emulated ECR) and `step_image` (the engine's pull);
- `secrets_cfn`, `codebuild_cfn`: the `AWS::SecretsManager::Secret` and `AWS::CodeBuild::Project`
  CloudFormation resources (what they share: `cfn_resources`), `kms_cfn`, `cfn_fixes` (what
  moto's own types drop) and `cfn_rollback` (a failed creation rolls back as CloudFormation's);
- `moto_fixes`: moto answering as AWS does where it does not (error codes).

This package emulates AWS and knows nothing of the product: it imports none of its modules.

Only the server process imports moto; this top level stays light for the CLI and the orchestrator.
"""

from __future__ import annotations

from sagemaker_stack.local.emulator import Emulator, EmulatorError, emulator_env

__all__ = ["Emulator", "EmulatorError", "emulator_env"]
