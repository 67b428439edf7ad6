"""CloudFormation: what moto's types lack or get wrong.

`resources` (what the emulator's resource types share, and their registration), `fixes` (moto's own
types subclassed to keep what they drop), `rollback` (moto's backend, whose failed creation rolls
back as CloudFormation's), `kms` and
`secretsmanager` (`AWS::KMS::Key`, `AWS::SecretsManager::Secret`). A service package of ours
keeps its own type next to its model (codebuild.cfn).
"""
