"""The user's laptop: library code behind the CLI, with no click in it.

- `outputs`: deployed stack outputs -> the StackConfig file (`export`);
- `cdk`: the real `cdk` CLI (bootstrap, deploy, destroy);
- `lifecycle`: `up` and `down`;
- `registration`: the StackConfig in and out of ZenML (plan, ZenML store, the stack's secret);
- `demo`, `demo_report`: the one-command demo;
- `local_env`: the local environment (`sagemaker-stack local`: emulator + ZenML server, kept);
- `zenml_server`: a real ZenML server on loopback (detached or not); `zenml_client`: a client
  folder logged in to it;
- `processes`, `reachability`: child processes streamed line by line, and a quick "does it answer".
"""
