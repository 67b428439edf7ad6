"""Images as Python environments, as no container engine exists here.

`docker_cli` (the `docker` stand-in), `dockerfile` and `shell_words` (what a Dockerfile means),
`build`, `store`, `reference`, `registry` (push to / find in the emulated ECR) and `container`
(one step or RUN instruction as a local process in an image's environment).
"""
