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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.flow_logs import FlowLogs
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.security_groups import SecurityGroup
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment
from moto.ecr.models import Repository
from moto.logs.models import LogGroup
from moto.s3.models import FakeBucket, s3_backends
from moto.utilities.utils import get_partition

_INSTALLED: dict[str, bool] = {}


def _delete_endpoint(backend: Any, endpoint: Any) -> None:
    """Its routes go from the route tables still there (the stack may have deleted some first)."""
    endpoint.route_table_ids = [
        table for table in endpoint.route_table_ids or [] if table in backend.route_tables
    ]
    backend.delete_vpc_endpoints([endpoint.id])
    backend.vpc_end_points.pop(endpoint.id, None)  # moto keeps deleted endpoints for ever; EC2 does not


def _delete_route_table(backend: Any, table: Any) -> None:
    table._associations.clear()  # the stack's associations go with it (their own deletion is a no-op)
    backend.delete_route_table(table.id)


#: How the stack's deletion deletes what moto's types cannot: EC2's API call for each.
_DELETIONS: dict[Any, Callable[[Any, Any], None]] = {
    VPCEndPoint: _delete_endpoint,
    RouteTable: _delete_route_table,
    SubnetRouteTableAssociation: lambda backend, association: None,
    FlowLogs: lambda backend, flow_log: backend.delete_flow_logs([flow_log.id]),
    NatGateway: lambda backend, gateway: backend.delete_nat_gateway(gateway.id),
    ElasticAddress: lambda backend, address: backend.release_address(allocation_id=address.allocation_id),
    InternetGateway: lambda backend, gateway: backend.delete_internet_gateway(gateway.id),
    VPCGatewayAttachment: lambda backend, attachment: backend.detach_internet_gateway(
        attachment.gateway_id, attachment.vpc_id
    ),
}


def install() -> None:
    """Patch moto's types in this process (the emulator's server); idempotent."""
    if _INSTALLED:
        return
    _INSTALLED["done"] = True
    _wrap_create(SecurityGroup, _security_group_egress)
    _wrap_create(Repository, None, _repository_properties)
    _wrap_create(LogGroup, None, _log_group_properties)
    _wrap_create(FakeBucket, _bucket_properties)
    for model, deletion in _DELETIONS.items():
        model.delete = _deleter(deletion)


def _deleter(deletion: Callable[[Any, Any], None]) -> Callable[[Any, str, str], None]:
    def delete(self: Any, account_id: str, region_name: str) -> None:
        deletion(ec2_backends[account_id][region_name], self)

    return delete


def _wrap_create(
    model: Any,
    after: Callable[[Any, dict[str, Any], str, str], None] | None = None,
    before: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """Run `before` on the resource's JSON and `after` on what moto made from it."""
    original = model.create_from_cloudformation_json.__func__

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource_json = before(cloudformation_json) if before else cloudformation_json
        made = original(cls, resource_name, resource_json, account_id, region_name, **kwargs)
        if after:
            after(made, resource_json.get("Properties", {}), account_id, region_name)
        return made

    model.create_from_cloudformation_json = classmethod(create)


def _security_group_egress(group: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
    rules = properties.get("SecurityGroupEgress")
    if rules is None:
        return  # EC2's default egress rule stays, as on AWS
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


def _repository_properties(resource_json: dict[str, Any]) -> dict[str, Any]:
    properties = dict(resource_json.get("Properties", {}))
    for member in ("EncryptionConfiguration", "ImageScanningConfiguration"):
        if isinstance(properties.get(member), dict):
            properties[member] = {
                key[:1].lower() + key[1:]: value for key, value in properties[member].items()
            }
    return {**resource_json, "Properties": properties}


def _log_group_properties(resource_json: dict[str, Any]) -> dict[str, Any]:
    properties = dict(resource_json.get("Properties", {}))
    if "KmsKeyId" in properties:
        properties["kmsKeyId"] = properties.pop("KmsKeyId")
    return {**resource_json, "Properties": properties}


def _bucket_properties(bucket: Any, properties: dict[str, Any], account_id: str, region_name: str) -> None:
    status = (properties.get("VersioningConfiguration") or {}).get("Status")
    if status in ("Enabled", "Suspended"):
        s3_backends[account_id][get_partition(region_name)].put_bucket_versioning(bucket.name, status)
    rules = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
    if rules and rules[0].get("BucketKeyEnabled") is not None and bucket.encryption:
        bucket.encryption["Rule"]["BucketKeyEnabled"] = str(rules[0]["BucketKeyEnabled"]).lower()
