"""sagemaker-stack's CDK construct library: `ZenmlSageMaker`, added to any Stack of yours.

```python
from sagemaker_stack_cdk import ZenmlSageMaker, ZenmlSageMakerProps

ZenmlSageMaker(stack, "TeamA", ZenmlSageMakerProps(resource_prefix="team-a", vpc=vpc, key=key))
```

Never imports ZenML: the construct and the runtime meet only in the output names
(`sagemaker_stack.config.STACK_OUTPUTS`) and the config file `sagemaker-stack export` writes from them.
"""

from sagemaker_stack_cdk.construct import STACK_TAG_KEY, ZenmlSageMaker
from sagemaker_stack_cdk.nag import apply_checks
from sagemaker_stack_cdk.props import ZenmlSageMakerProps
from sagemaker_stack_cdk.rules import SettingsError

__all__ = ["STACK_TAG_KEY", "SettingsError", "ZenmlSageMaker", "ZenmlSageMakerProps", "apply_checks"]
