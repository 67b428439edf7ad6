"""Where moto's server sends SageMaker requests: moto's URLs, answered by the emulator's responses.

moto's backend finds its `urls` module beside its `models` module, as here.
"""

from __future__ import annotations

from moto.sagemaker.urls import url_bases

from sagemaker_stack.local.sagemaker.responses import SageMakerResponse

__all__ = ["url_bases", "url_paths"]

url_paths = {"{0}/$": SageMakerResponse.dispatch}
