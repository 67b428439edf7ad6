"""The deploy-time side of sagemaker-stack: the CDK app's settings, stack and cdk-nag rules.

Never imports ZenML: the stack and the runtime meet only in the output names
(`sagemaker_stack.config.OutputName`) and the config file exported from them.
"""
