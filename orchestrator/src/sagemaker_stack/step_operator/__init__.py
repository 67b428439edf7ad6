"""The `sagemaker_stack_jobs` step operator: one ZenML step of any orchestrator as one SageMaker job.

- `step_operator`: the ZenML glue (builds, submit, wait, status, cancel), loaded by ZenML on the
  client and wherever a step is launched;
- `request`: a step run -> a CreateProcessingJob / CreateTrainingJob request, checked by the
  orchestrator's validation before any AWS call;
- `jobs`: the SageMaker calls for one job (create, describe, stop, the outage-tolerant watch).
"""
