"""Where the jobs run with `vpc`: private subnets, their security groups and the VPC endpoints.

`vpc=create` makes a VPC with one private subnet in each of two availability zones and no route
to the internet (unless `nat=true`: then public subnets, an internet gateway and one NAT gateway,
in the first zone, give the private subnets a way out). Everything a ZenML step talks to is
reached through VPC endpoints instead: S3 (a gateway endpoint: artifacts, code, ECR's image
layers), and interface endpoints for ECR (API and registry), SageMaker's API, Secrets Manager (the
ZenML credentials), CloudWatch Logs, STS and CodeBuild. The ZenML server is the one destination
the stack cannot provide: it needs a private endpoint in the VPC or another VPC path
(docs/security.md).

With an existing VPC (props `vpc` and `vpc_subnets`; the app's `vpc=<vpc id>:<subnet ids>`) the
construct makes only the security groups: the
VPC's owner already decides its routes and endpoints (an interface endpoint with private DNS
cannot be added twice for one service in a VPC), and docs/security.md lists what the subnets need.

Security groups, all without ingress from anywhere:
- jobs: HTTPS (443) out. Every destination of a step speaks HTTPS: the endpoints, S3 and the
  ZenML server, which may sit behind peering or a transit gateway at addresses the stack cannot
  know, so the rule names the port and leaves the destinations to the routes;
- image builds (only when CodeBuild runs in the VPC, see `Settings.builds_in_vpc`): HTTPS out
  for the registries and PyPI, and HTTP (80) for the Debian mirrors `apt_packages` installs from;
- endpoints (`vpc=create`): HTTPS in from those two groups only, nothing out (a rule that matches
  no traffic replaces EC2's default allow-all egress).

The VPC's default security group is left as EC2 makes it: nothing is ever put in it, and CDK's
way of emptying it is a Lambda-backed custom resource (nag.py).

The stack's VPC records every flow (accepted and rejected) in its own log group, kept
`FLOW_LOG_RETENTION` and encrypted with the stack's key when there is one; the flow log service
writes there with a role that may do nothing else, trusted for this account's flow logs only.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from sagemaker_stack_cdk.props import ZenmlSageMakerProps
from sagemaker_stack_cdk.rules import MAX_SUBNETS, SettingsError

#: The interface endpoints a pipeline step, its image pull and the image builder need.
INTERFACE_ENDPOINTS = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "SageMakerApi": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "CodeBuild": ec2.InterfaceVpcEndpointAwsService.CODEBUILD,
}
VPC_CIDR = "10.20.0.0/16"
#: 4091 addresses per private subnet: a job takes one per instance, an endpoint one per zone.
PRIVATE_SUBNET_MASK = 20
AVAILABILITY_ZONES = 2
#: Flow logs are for investigating traffic after the fact: kept three months.
FLOW_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
#: What the flow log service needs on its log group (VPC flow logs' "IAM role for publishing flow
#: logs to CloudWatch Logs", less creating groups: the stack makes the one it writes to).
FLOW_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
HTTPS = 443
HTTP = 80
#: CDK's placeholder for "no egress": ICMP type 252 code 86 to 255.255.255.255/32 matches nothing.
_NO_TRAFFIC = ec2.CfnSecurityGroup.EgressProperty(
    ip_protocol="icmp", from_port=252, to_port=86, cidr_ip="255.255.255.255/32", description="No traffic"
)


class Network(Construct):
    """The subnets, security groups and endpoints; ids as tokens for the outputs and the project."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: ZenmlSageMakerProps, key: kms.IKey | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.has_nat = props.nat
        self.owned = props.vpc is None
        self.endpoints: dict[str, ec2.IVpcEndpoint] = {}
        if props.vpc is not None:
            self.vpc: ec2.IVpc | None = None
            self.vpc_id = props.vpc.vpc_id
            self.subnet_ids: list[str] = _selected_subnet_ids(props.vpc, props.vpc_subnets)
        else:
            self.vpc = self._create_vpc(props)
            self.vpc_id = self.vpc.vpc_id
            self.subnet_ids = self._private_subnets().subnet_ids
        self.jobs_security_group = self._security_group(
            "JobsSecurityGroup",
            "ZenML pipeline steps (SageMaker jobs): HTTPS out only",
            [(HTTPS, "HTTPS to the VPC endpoints, S3 and the ZenML server")],
        )
        self.build_security_group = (
            self._security_group(
                "BuildSecurityGroup",
                "Image builds (CodeBuild): HTTPS and HTTP out only",
                [
                    (HTTPS, "HTTPS to the image registries, PyPI and the VPC endpoints"),
                    (HTTP, "HTTP to the Debian package mirrors (apt_packages)"),
                ],
            )
            if props.builds_in_vpc
            else None
        )
        self.flow_log_group: logs.LogGroup | None = None
        if self.vpc is not None:
            self._add_endpoints()
            self._add_flow_log(props, key)

    def _create_vpc(self, props: ZenmlSageMakerProps) -> ec2.Vpc:
        private = ec2.SubnetConfiguration(
            name="jobs",
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if props.nat else ec2.SubnetType.PRIVATE_ISOLATED,
            cidr_mask=PRIVATE_SUBNET_MASK,
        )
        public = ec2.SubnetConfiguration(name="nat", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
        return ec2.Vpc(
            self,
            "Vpc",
            vpc_name=f"{props.resource_prefix}-vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=AVAILABILITY_ZONES,
            nat_gateways=1 if props.nat else 0,
            subnet_configuration=[public, private] if props.nat else [private],
            # A Lambda-backed custom resource otherwise (the emulator cannot run it): module docstring.
            restrict_default_security_group=False,
        )

    def _private_subnets(self) -> ec2.SelectedSubnets:
        assert self.vpc is not None
        return self.vpc.select_subnets(subnet_group_name="jobs")

    def _security_group(
        self, construct_id: str, description: str, egress: list[tuple[int, str]]
    ) -> ec2.CfnSecurityGroup:
        return ec2.CfnSecurityGroup(
            self,
            construct_id,
            vpc_id=self.vpc_id,
            group_description=description,
            security_group_egress=[
                ec2.CfnSecurityGroup.EgressProperty(
                    ip_protocol="tcp", from_port=port, to_port=port, cidr_ip="0.0.0.0/0", description=why
                )
                for port, why in egress
            ],
        )

    def _add_endpoints(self) -> None:
        assert self.vpc is not None
        clients = [group for group in (self.jobs_security_group, self.build_security_group) if group]
        endpoints_group = ec2.CfnSecurityGroup(
            self,
            "EndpointsSecurityGroup",
            vpc_id=self.vpc_id,
            group_description="VPC interface endpoints: HTTPS in from the jobs and builds of the stack only",
            security_group_ingress=[
                ec2.CfnSecurityGroup.IngressProperty(
                    ip_protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    source_security_group_id=client.attr_group_id,
                    description="HTTPS from the stack's jobs and builds",
                )
                for client in clients
            ],
            security_group_egress=[_NO_TRAFFIC],
        )
        group = ec2.SecurityGroup.from_security_group_id(
            self, "EndpointsGroup", endpoints_group.attr_group_id, allow_all_outbound=False, mutable=False
        )
        subnets = ec2.SubnetSelection(subnet_group_name="jobs")
        self.endpoints["S3"] = self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[subnets]
        )
        for name, service in INTERFACE_ENDPOINTS.items():
            self.endpoints[name] = self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=subnets,
                security_groups=[group],
                open=False,
                private_dns_enabled=True,
            )

    def _add_flow_log(self, props: ZenmlSageMakerProps, key: kms.IKey | None) -> None:
        assert self.vpc is not None
        stack = Stack.of(self)
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            log_group_name=props.flow_log_group_name,
            retention=FLOW_LOG_RETENTION,
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            role_name=props.flow_log_role_name(stack.region),
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="ec2", resource="vpc-flow-log", resource_name="*"
                        )
                    },
                },
            ),
            description="Assumed by VPC Flow Logs to write the flow log of this stack's VPC",
        )
        self.flow_log_policy = iam.Policy(
            self,
            "FlowLogPolicy",
            statements=[
                iam.PolicyStatement(
                    sid="FlowLogGroup",
                    actions=list(FLOW_LOG_ACTIONS),
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )
        self.flow_log_policy.attach_to_role(self.flow_log_role)
        flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, self.flow_log_role.without_policy_updates()
            ),
        )
        flow_log.node.add_dependency(self.flow_log_policy)


def _selected_subnet_ids(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> list[str]:
    """The ids of the subnets `selection` picks in the user's `vpc` (its private ones by default).

    Subnets named one by one are taken as they are (an imported subnet may not know its zone,
    which `select_subnets` would ask for); a selection that finds none, or more than SageMaker
    takes, is refused naming the prop.
    """
    how = (
        "select 1 to 16 subnets of the VPC for the jobs, e.g. "
        "ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS) or subnets=[...]"
    )
    chosen = selection or ec2.SubnetSelection()
    if chosen.subnets is not None:
        ids = [subnet.subnet_id for subnet in chosen.subnets]
    else:
        try:
            ids = list(
                vpc.select_subnets(
                    availability_zones=chosen.availability_zones,
                    one_per_az=chosen.one_per_az,
                    subnet_filters=chosen.subnet_filters,
                    subnet_group_name=chosen.subnet_group_name,
                    subnet_type=chosen.subnet_type,
                ).subnet_ids
            )
        except RuntimeError as error:  # jsii: e.g. "There are no 'Private' subnet groups in this VPC"
            reason = str(error).split(": ", 1)[-1].splitlines()[0]
            raise SettingsError(f"invalid vpc_subnets: {reason}; {how}") from None
    if not ids:
        raise SettingsError(f"invalid vpc_subnets: the selection finds no subnet in the VPC; {how}")
    if len(ids) > MAX_SUBNETS:
        raise SettingsError(
            f"invalid vpc_subnets: it selects {len(ids)} subnets, SageMaker takes at most "
            f"{MAX_SUBNETS}; {how}"
        )
    return ids
