"""CodeBuild: StartBuild really runs the build, BatchGetBuilds reports it, StopBuild stops it.

`models`, `responses` and `urls` (moto's backend and requests, subclassed: the API additions,
laid out as moto lays out a service), `runner` (the phases), `shell` (one shell session for all
the commands), `buildspec` (read and checked), `source` (the source zip from S3), `environment`
(the variables and tools a build gets), `record` (the record's phases) and `cfn`
(`AWS::CodeBuild::Project`, next to its model as moto keeps a service's CloudFormation support).
"""
