# The stack's base image, CUDA variant, for GPU instance types (ml.g5, ml.p4d, ...): PyTorch's CUDA
# runtime image (CUDA 12.4, cuDNN 9, PyTorch, Python 3.11) plus what the CPU variant installs.
#
# `sagemaker-stack image build --variant cuda` builds it on the stack's CodeBuild project from the
# same context as the CPU variant. The emulator cannot build it: it has no GPU and stands in only
# for Python base images (see docs/emulator.md's differences from AWS).
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1

# The constraints come from a Python 3.11 lock: refuse a base image with another Python.
RUN python -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version"

COPY constraints.txt /opt/sagemaker-stack/constraints.txt
# uv's version comes from the constraints (uv.lock), which hadolint cannot see.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --constraint /opt/sagemaker-stack/constraints.txt uv

COPY sagemaker-stack /opt/sagemaker-stack/src
RUN uv pip install --system --constraint /opt/sagemaker-stack/constraints.txt "/opt/sagemaker-stack/src[zenml-aws]"

WORKDIR /app
