"""The Secrets Manager secret that holds the ZenML server URL and API key for step containers."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

#: JSON keys of the secret's value; `sagemaker-stack register` writes them, the step entrypoint
#: reads them with the execution role.
SERVER_URL_KEY = "server_url"
API_KEY_KEY = "api_key"


class ZenmlCredentials(Construct):
    """A secret created with a random placeholder API key and an empty server URL.

    The real values are written after deployment by `sagemaker-stack register`, so that they are
    never part of a template, a stack output or the config file. The secret is always removed
    with the stack: it holds a credential, not data, and a new key can be issued at any time.
    With a `key` the secret is encrypted with it instead of Secrets Manager's AWS managed key.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, secret_name: str, key: kms.IKey | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=secret_name,
            description="ZenML server URL and API key used by SageMaker pipeline steps",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({SERVER_URL_KEY: ""}),
                generate_string_key=API_KEY_KEY,
                exclude_punctuation=True,
                password_length=32,
            ),
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )
