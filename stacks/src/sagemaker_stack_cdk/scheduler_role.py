"""The IAM role EventBridge Scheduler assumes to start this stack's SageMaker pipelines."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


class SchedulerRole(Construct):
    """May start executions of pipelines named `<pipeline_name_prefix>*` and nothing else.

    No `iam:PassRole`: a pipeline execution runs with the role stored in the pipeline itself, so
    the scheduler never needs to hand a role to anyone. The trust policy is limited to schedules
    of this account (`aws:SourceAccount`), which closes the confused-deputy path through another
    account's schedules.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, role_name: str, pipeline_name_prefix: str
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.pipeline_arn_pattern = stack.format_arn(
            service="sagemaker", resource="pipeline", resource_name=f"{pipeline_name_prefix}*"
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Assumed by EventBridge Scheduler to start this stack's SageMaker pipelines",
        )
        self.policy = iam.Policy(
            self,
            "StartPipelinesPolicy",
            statements=[
                iam.PolicyStatement(
                    sid="StartStackPipelines",
                    actions=["sagemaker:StartPipelineExecution"],
                    resources=[self.pipeline_arn_pattern],
                )
            ],
        )
        self.policy.attach_to_role(self.role)
