"""What ZenML loads on the client and in every step for the sagemaker_pipelines orchestrator.

- `sagemaker_orchestrator`: the orchestrator class ZenML instantiates (glue only).
- `snapshot_spec`: ZenML's snapshot -> a `PipelineSpec` (the only module that reads ZenML models).
- `environment`: the one policy for what may enter a step's environment.
- `spec`, `names`, `definition`, `validation`: pure, no AWS and no ZenML store: the spec, the SageMaker
  definition it renders to, and every SageMaker limit it is checked against.
- `execution`: the SageMaker calls of a run (upsert, start, watch, stop, logs); the watch rides
  out outages, and `outage_log_filter` keeps ZenML's log exporter quiet meanwhile.
- `run_metadata`: what a run records in ZenML and how it is read back.

Importing this package imports nothing: each module is loaded when it is needed.
"""
