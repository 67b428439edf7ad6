"""Push emulated images to, and find them in, the emulated Amazon ECR, through boto3 (ECR's API).

A pushed image is a Docker v2 schema-2 manifest whose config is the image's stored config (so
its digest is the image id) and whose layers are small descriptors naming the store's layer
folders. `docker push` uploads the config and the descriptors as blobs
(BatchCheckLayerAvailability, Initiate/UploadLayerPart/CompleteLayerUpload), then PutImage with
the manifest's own sha256 as the image digest, as ECR computes it: DescribeImages and
BatchGetImage then see the tag and that digest. The files stay in the local image store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import Any, TextIO

from sagemaker_stack.local.images.reference import Reference
from sagemaker_stack.local.images.store import ImageStore

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
NO_CREDENTIALS = "no basic auth credentials"


class RegistryError(RuntimeError):
    """The registry refused; str() is docker's one-line message."""


def layer_blob(layer: str) -> bytes:
    return json.dumps({"emulator_layer": layer}, sort_keys=True).encode()


def blob_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest(store: ImageStore, image_id: str) -> tuple[bytes, dict[str, bytes]]:
    """The manifest of a stored image and the blobs it names (config and layer descriptors)."""
    config = store.config_bytes(image_id)
    layers = [layer_blob(layer) for layer in store.image(image_id).layers]
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": blob_digest(config)},
        "layers": [
            {"mediaType": LAYER_TYPE, "size": len(blob), "digest": blob_digest(blob)} for blob in layers
        ],
    }
    blobs = {blob_digest(blob): blob for blob in [config, *layers]}
    return json.dumps(document, indent=3).encode(), blobs


def ecr_client(reference: Reference) -> Any:
    """An ECR client for the registry's region, on AWS_ENDPOINT_URL (boto3 reads it)."""
    import boto3

    assert reference.ecr is not None
    return boto3.client("ecr", region_name=reference.ecr[1])


def check_registry(reference: Reference) -> Any:
    """The ECR client if `reference` is in this account's and region's ECR, else RegistryError."""
    import boto3

    here_region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    account = boto3.client("sts", region_name=here_region).get_caller_identity()["Account"]
    expected = f"{account}.dkr.ecr.{here_region}.amazonaws.com"
    if reference.ecr is None or reference.ecr != (account, here_region):
        raise RegistryError(
            f"{reference.name}: the emulator's docker pushes and pulls only this account's emulated ECR "
            f"in {here_region}: {expected}/<repository>:<tag>"
        )
    return ecr_client(reference)


def push(store: ImageStore, image_id: str, reference: Reference, out: TextIO) -> str:
    """Upload the blobs ECR lacks and put the manifest under the tag; returns its digest."""
    client = check_registry(reference)
    if not store.logged_in(reference.registry):
        raise RegistryError(NO_CREDENTIALS)
    account = reference.ecr[0] if reference.ecr else ""
    print(f"The push refers to repository [{reference.registry}/{reference.repository}]", file=out)
    data, blobs = manifest(store, image_id)
    try:
        checked = client.batch_check_layer_availability(
            repositoryName=reference.repository, registryId=account, layerDigests=list(blobs)
        )
        present = {layer["layerDigest"] for layer in checked.get("layers", [])}
        for digest, blob in blobs.items():
            if digest in present:
                print(f"{digest[7:19]}: Layer already exists", file=out)
                continue
            upload = client.initiate_layer_upload(repositoryName=reference.repository, registryId=account)
            client.upload_layer_part(
                repositoryName=reference.repository,
                registryId=account,
                uploadId=upload["uploadId"],
                partFirstByte=0,
                partLastByte=len(blob) - 1,
                layerPartBlob=blob,
            )
            client.complete_layer_upload(
                repositoryName=reference.repository,
                registryId=account,
                uploadId=upload["uploadId"],
                layerDigests=[digest],
            )
            print(f"{digest[7:19]}: Pushed", file=out)
        digest = blob_digest(data)
        # The same manifest under the same tag again: docker reports success.
        with contextlib.suppress(client.exceptions.ImageAlreadyExistsException):
            client.put_image(
                repositoryName=reference.repository,
                registryId=account,
                imageManifest=data.decode(),
                imageManifestMediaType=MANIFEST_TYPE,
                imageTag=reference.tag,
                imageDigest=digest,
            )
    except client.exceptions.RepositoryNotFoundException:
        raise RegistryError(_name_unknown(reference, account)) from None
    except client.exceptions.ImageTagAlreadyExistsException:
        raise RegistryError(
            f"tag invalid: The image tag '{reference.tag}' already exists in the '{reference.repository}' "
            "repository and cannot be overwritten because the repository is immutable."
        ) from None
    print(f"{reference.tag}: digest: {digest} size: {len(data)}", file=out)
    return digest


def pull(store: ImageStore, reference: Reference) -> str:
    """The id of the local image an ECR image's manifest names (FROM an ECR image)."""
    client = check_registry(reference)
    if not store.logged_in(reference.registry):
        raise RegistryError(NO_CREDENTIALS)
    account = reference.ecr[0] if reference.ecr else ""
    image_id = (
        {"imageDigest": reference.digest} if reference.digest else {"imageTag": reference.tag or "latest"}
    )
    try:
        found = client.batch_get_image(
            repositoryName=reference.repository,
            registryId=account,
            imageIds=[image_id],
            acceptedMediaTypes=[MANIFEST_TYPE],
        )
    except client.exceptions.RepositoryNotFoundException:
        raise RegistryError(_name_unknown(reference, account)) from None
    if not found.get("images"):
        raise RegistryError(
            f"manifest for {reference.name} not found: manifest unknown: Requested image not found"
        )
    return config_digest(found["images"][0]["imageManifest"])


def config_digest(image_manifest: str) -> str:
    """The config digest (= the local image id) a manifest names."""
    return str(json.loads(image_manifest)["config"]["digest"])


def _name_unknown(reference: Reference, account: str) -> str:
    return (
        f"name unknown: The repository with name '{reference.repository}' does not exist in the registry "
        f"with id '{account}'"
    )
