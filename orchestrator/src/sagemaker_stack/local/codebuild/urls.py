"""CodeBuild's endpoint, answered by the emulator's `responses` (moto's own `url_bases`)."""

from __future__ import annotations

from moto.codebuild.urls import url_bases

from sagemaker_stack.local.codebuild.responses import CodeBuildResponse

__all__ = ["url_bases", "url_paths"]

url_paths = {"{0}/$": CodeBuildResponse.dispatch}
