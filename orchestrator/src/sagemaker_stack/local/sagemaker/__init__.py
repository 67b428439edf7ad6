"""SageMaker: what moto lacks for pipelines, executions that really run, and their jobs.

`pipelines` (the API additions: definition checks, executions, steps, stop), `pipeline_versions`,
`moto_fixes` (SageMaker's own error codes), `pipeline_definition` (what a definition means),
`engine` (the DAG scheduler) and `execution_record` (what an execution reports), `standalone`
(Create/Stop/List of processing and training jobs outside pipelines), `job_execution` (the one
path every job takes, step or standalone), `job_recorder` (the jobs as moto's records),
`step_image` (the image pull) and `jobs/` (one job run locally).
"""
