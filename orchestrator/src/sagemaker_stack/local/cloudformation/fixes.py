"""moto's CloudFormation types, where they drop what a template says, made to keep it.

Found by deploying the stack with `vpc=create kms=create access_logs=true` and describing what
moto made (tests/integration/local/cloudformation/test_local_cdk_deploy.py checks each):

- `AWS::EC2::SecurityGroup` ignores `SecurityGroupEgress`: every group kept EC2's allow-all
  egress rule. The template's rules replace it, as on AWS.
- `AWS::EC2::VPCEndpoint`, `RouteTable`, `SubnetRouteTableAssociation`, `FlowLog`,
  `NatGateway`, `EIP`, `InternetGateway` and `VPCGatewayAttachment` are never deleted with the
  stack: destroying it failed on the VPC, which still had its route tables ("has dependencies and
  cannot be deleted"). Each is deleted as EC2's own API would.
- `AWS::ECR::Repository` passes `EncryptionConfiguration` and `ImageScanningConfiguration` in
  CloudFormation's spelling (`EncryptionType`, `ScanOnPush`) to an API that reads the API's
  (`encryptionType`, `scanOnPush`): both were lost.
- `AWS::Logs::LogGroup` reads `kmsKeyId`, a template says `KmsKeyId`: the key was lost.
- `AWS::S3::Bucket` keeps the default encryption but not its `BucketKeyEnabled`, and ignores
  `VersioningConfiguration`: the stack's versioned bucket was unversioned, so an overwritten or
  deleted artifact was gone at once instead of kept as a noncurrent version.

What moto still skips is listed in docs/emulator.md's differences from AWS (bucket policies and
a bucket's access logging configuration among them).

Each fix is a subclass of moto's type, registered in moto's own type map as every emulator type
is (`resources`): moto maps a type name to the last direct subclass of `CloudFormationModel` that
names it, so each lists `CloudFormationModel` again after moto's class. Only what a stack does
goes through them: the objects EC2's or S3's API makes stay moto's. A deletion is the type's
`delete_from_cloudformation_json`, which moto calls with the resource's physical id for a
resource that has no `delete` of its own (none of these has).
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.flow_logs import FlowLogs
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.security_groups import SecurityGroup
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment
from moto.ecr.models import Repository
from moto.logs.models import LogGroup
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition


# -- what a template says, kept -------------------------------------------------------------------
class CfnSecurityGroup(SecurityGroup, CloudFormationModel):
    """The template's `SecurityGroupEgress` replaces EC2's allow-all egress rule, as on AWS."""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        group = super().create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        rules = cloudformation_json.get("Properties", {}).get("SecurityGroupEgress")
        if rules is None:
            return group  # EC2's default egress rule stays, as on AWS
        backend = ec2_backends[account_id][region_name]
        defaults = [rule.id for rule in group.egress_rules]
        if defaults:
            backend.revoke_security_group_egress(group.id, "-1", "-1", "-1", [], security_rule_ids=defaults)
        for rule in rules:
            backend.authorize_security_group_egress(
                group_name_or_id=group.id,
                ip_protocol=str(rule["IpProtocol"]),
                from_port=str(rule.get("FromPort", -1)),
                to_port=str(rule.get("ToPort", -1)),
                ip_ranges=[{"CidrIp": rule["CidrIp"], "Description": rule.get("Description", "")}]
                if "CidrIp" in rule
                else [],
                source_groups=[{"GroupId": rule["DestinationSecurityGroupId"]}]
                if "DestinationSecurityGroupId" in rule
                else [],
                vpc_id=group.vpc_id,
            )
        return group


class CfnRepository(Repository, CloudFormationModel):
    """`EncryptionConfiguration` and `ImageScanningConfiguration` read in the API's spelling."""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        for member in ("EncryptionConfiguration", "ImageScanningConfiguration"):
            if isinstance(properties.get(member), dict):
                properties[member] = {
                    key[:1].lower() + key[1:]: value for key, value in properties[member].items()
                }
        resource_json = {**cloudformation_json, "Properties": properties}
        return super().create_from_cloudformation_json(
            resource_name, resource_json, account_id, region_name, **kwargs
        )


class CfnLogGroup(LogGroup, CloudFormationModel):
    """The template's `KmsKeyId` is the key moto reads as `kmsKeyId`."""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        if "KmsKeyId" in properties:
            properties["kmsKeyId"] = properties.pop("KmsKeyId")
        resource_json = {**cloudformation_json, "Properties": properties}
        return super().create_from_cloudformation_json(
            resource_name, resource_json, account_id, region_name, **kwargs
        )


class CfnBucket(FakeBucket, CloudFormationModel):
    """`VersioningConfiguration` and the default encryption's `BucketKeyEnabled` kept."""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        bucket = super().create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        properties = cloudformation_json.get("Properties", {})
        status = (properties.get("VersioningConfiguration") or {}).get("Status")
        if status in ("Enabled", "Suspended"):
            s3_backends[account_id][get_partition(region_name)].put_bucket_versioning(bucket.name, status)
        rules = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        if rules and rules[0].get("BucketKeyEnabled") is not None and bucket.encryption:
            bucket.encryption["Rule"]["BucketKeyEnabled"] = str(rules[0]["BucketKeyEnabled"]).lower()
        return bucket


# -- deleted with the stack, as EC2's API deletes them ----------------------------------------------
class CfnVPCEndPoint(VPCEndPoint, CloudFormationModel):
    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        backend = ec2_backends[account_id][region_name]
        endpoint = backend.vpc_end_points.get(resource_name)
        if endpoint is None:
            return
        # Its routes go from the route tables still there (the stack may have deleted some first).
        endpoint.route_table_ids = [
            table for table in endpoint.route_table_ids or [] if table in backend.route_tables
        ]
        backend.delete_vpc_endpoints([endpoint.id])
        backend.vpc_end_points.pop(endpoint.id, None)  # moto keeps deleted endpoints for ever; EC2 does not


class CfnRouteTable(RouteTable, CloudFormationModel):
    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        backend = ec2_backends[account_id][region_name]
        # The stack's subnet associations go with it (moto's type has no deletion for them).
        backend.route_tables[resource_name]._associations.clear()
        backend.delete_route_table(resource_name)


class CfnFlowLogs(FlowLogs, CloudFormationModel):
    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        ec2_backends[account_id][region_name].delete_flow_logs([resource_name])


class CfnNatGateway(NatGateway, CloudFormationModel):
    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        ec2_backends[account_id][region_name].delete_nat_gateway(resource_name)


class CfnElasticAddress(ElasticAddress, CloudFormationModel):
    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        ec2_backends[account_id][region_name].release_address(address=resource_name)  # its public IP


class CfnInternetGateway(InternetGateway, CloudFormationModel):
    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        ec2_backends[account_id][region_name].delete_internet_gateway(resource_name)


class CfnVPCGatewayAttachment(VPCGatewayAttachment, CloudFormationModel):
    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        """Detach the internet gateway from the VPC (the physical id); a VPN gateway's attachment
        stays as moto leaves it."""
        backend = ec2_backends[account_id][region_name]
        for gateway in list(backend.internet_gateways.values()):
            if gateway.vpc is not None and gateway.vpc.id == resource_name:
                backend.detach_internet_gateway(gateway.id, resource_name)


#: Every type here, for moto_registry to check that moto's type map holds them.
TYPES: tuple[type[CloudFormationModel], ...] = (
    CfnSecurityGroup,
    CfnRepository,
    CfnLogGroup,
    CfnBucket,
    CfnVPCEndPoint,
    CfnRouteTable,
    CfnFlowLogs,
    CfnNatGateway,
    CfnElasticAddress,
    CfnInternetGateway,
    CfnVPCGatewayAttachment,
)
