# The stack's base image, CPU variant: Python 3.11, ZenML 0.98 and the sagemaker-stack package with
# what every step needs (s3fs and boto3 for the S3 artifact store, ZenML's AWS integration).
# ZenML builds each pipeline's image on top of it (the orchestrator makes it the default parent
# image), so nobody needs Docker on their machine.
#
# `sagemaker-stack image build` builds it on the stack's CodeBuild project from a context holding
# this file, `constraints.txt` (every version pinned by the repository's uv.lock) and the package
# source in `sagemaker-stack/`. Every RUN line is a pip/uv install so that the emulator, whose
# images are Python environments, builds it exactly as written.
FROM public.ecr.aws/docker/library/python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1

COPY constraints.txt /opt/sagemaker-stack/constraints.txt
# uv's version comes from the constraints (uv.lock), which hadolint cannot see.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --constraint /opt/sagemaker-stack/constraints.txt uv

COPY sagemaker-stack /opt/sagemaker-stack/src
RUN uv pip install --system --constraint /opt/sagemaker-stack/constraints.txt "/opt/sagemaker-stack/src[zenml-aws]"

WORKDIR /app
