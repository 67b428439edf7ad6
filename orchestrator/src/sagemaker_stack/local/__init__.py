"""The embedded local AWS emulator: moto's server on loopback, completed for this product.

Laid out the way moto lays out its own services, one package per AWS service or concern:
- `sagemaker/`: pipelines whose executions really run (the engine, and `jobs/`: one job run locally);
- `codebuild/`: builds that really run, and the `AWS::CodeBuild::Project` resource type;
- `images/`: images as Python environments (the `docker` stand-in, builds, the store, the emulated
  ECR push and find, and the local process a step or RUN instruction runs as);
- `cloudformation/`: the resource types moto lacks or gets wrong, and rollback;
- `services/`: small additions to moto's other services (S3 contents, CloudWatch Logs, ...);
- `state/`: the state folder's layout, the snapshot of moto's models, the lock that holds changes
  off while it is taken;
- `process/`: the server process, the `Emulator` handle that starts it, its port, persistence
  and what a killed emulator left running.
Each package's docstring names its modules; a contract in pyproject.toml keeps them layered.
moto is extended by subclassing its backends, responses (e.g. `sagemaker/models.py`,
`responses.py`, `urls.py`) and CloudFormation types, registered in one place: `moto_registry`
(between `process/` and the services in the layers).

This package emulates AWS and knows nothing of the product: it imports none of its modules.

Only the server process imports moto; this top level stays light for the CLI and the orchestrator.
"""

from __future__ import annotations

from sagemaker_stack.local.process.emulator import Emulator, EmulatorError, emulator_env

__all__ = ["Emulator", "EmulatorError", "emulator_env"]
