"""What every command shares: the `--config` option and loading it, and one mapping of errors.

A command's failure reaches the user as one line (`Error: ...`, exit 1) without a traceback:
the product's own errors already say what is wrong and what to do; AWS's unreachable endpoints,
missing credentials and refusals are worded here, once, for every command. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from sagemaker_stack.config import DEFAULT_CONFIG_FILE, StackConfig

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_HELP = f"The StackConfig file `sagemaker-stack export` wrote (default: {DEFAULT_CONFIG_FILE})."


def config_option(help_text: str = CONFIG_HELP) -> Callable[[F], F]:
    """`--config FILE` (the StackConfig file), passed to the command as `config_file`."""
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=help_text,
    )


def app_dir_option(
    help_text: str = "Folder with cdk.json and app.py (the repository root).",
) -> Callable[[F], F]:
    """`--app-dir DIR`, the CDK app's folder, passed as `app_dir`."""
    return click.option(
        "--app-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help_text,
    )


def config_path(config_file: Path | None) -> Path:
    """The StackConfig file a command uses: the one given, else the default in this folder."""
    return config_file or Path(DEFAULT_CONFIG_FILE)


def load_config(config_file: Path | None) -> StackConfig:
    """The StackConfig, or one clear line saying why it cannot be read and how to get one.

    Every command that reads it goes on to call AWS there, so an endpoint that does not answer is
    said at once, not after botocore's retries.
    """
    from sagemaker_stack.ops.reachability import require_endpoint

    with user_errors():
        config = StackConfig.load(config_path(config_file))
        require_endpoint(config.endpoint_url)
        return config


def quiet_libraries() -> None:
    """Our lines say what happened; ZenML's and botocore's info logs would repeat or bury them."""
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    logging.getLogger("botocore").setLevel(logging.WARNING)


@contextmanager
def user_errors(config: StackConfig | None = None) -> Iterator[None]:
    """Turn any failure into one `click` error line; `config` names the endpoint in AWS errors."""
    import botocore.exceptions

    where = "AWS"
    if config is not None:
        where = config.endpoint_url or f"AWS region {config.region}"
    try:
        yield
    except click.ClickException:
        raise
    except botocore.exceptions.EndpointConnectionError:
        raise click.ClickException(
            f"{where} is not reachable: is the emulator running / are you online?"
        ) from None
    except botocore.exceptions.NoCredentialsError:
        raise click.ClickException(
            "no AWS credentials found: configure them (`aws configure`) and retry"
        ) from None
    except botocore.exceptions.ClientError as error:
        raise click.ClickException(f"{where}: {error}") from None
    except OSError as error:
        target = f"{error.filename}: " if error.filename else ""
        raise click.ClickException(f"{target}{error.strerror or error}") from None
    except Exception as error:
        if not _is_ours(error):
            raise  # someone else's error is a bug to report, with its traceback
        raise click.ClickException(str(error) or type(error).__name__) from None


def _is_ours(error: BaseException) -> bool:
    """Errors this package raises (ConfigError, RegistrationError, ...) already say what to do."""
    return type(error).__module__.split(".", 1)[0] == "sagemaker_stack"
