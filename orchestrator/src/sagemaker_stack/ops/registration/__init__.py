"""StackConfig -> ZenML components and stack (idempotently), and back out.

- `plan`: what `register` wants in ZenML for one StackConfig, and the YAML `zenml stack import`
  reads. Pure: no ZenML store, no AWS.
- `store`: the ZenML side: connect to a server, create or update what the plan says, undo on
  failure, and `unregister` exactly what was made.
- `secret`: the AWS side: the deployed stack still exists, and the steps' credentials (a service
  account's API key and the server URL) in the stack's secret, the only place that holds them.
What `register` makes, every piece carries a label naming this package and the stack
(`sagemaker-stack/managed`, `sagemaker-stack/stack`), so that `unregister` removes exactly that
and never a component a user registered by hand, even one with the same name. The service account
whose API key the step containers use has no labels in ZenML; its description marks it instead.

Order of work, chosen so that a failure leaves nothing half-registered:
1. read-only checks: the ZenML store is a reachable server, the AWS stack is still deployed (stack,
   secret, bucket), no name is taken by something we did not make, every configuration validates;
2. changes, each creation remembered so that an error undoes it before it is reported.

The ZenML server URL and API key go into the stack's Secrets Manager secret and nowhere else (not in
a component's configuration, the YAML file, a log line or an error).
"""
