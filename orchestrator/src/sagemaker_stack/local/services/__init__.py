"""Small additions to moto's other services: `s3_objects` (S3 contents as the engine and jobs
read and write them), `logs` (output into CloudWatch Logs), `secret_versions` (Secrets Manager's
version dates, a backend subclass) and `moto_api` (moto's reset, seen by running executions and
builds first).
"""
