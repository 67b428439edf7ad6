"""`sagemaker-stack image build`: the stack's base image on its CodeBuild project."""

from __future__ import annotations

from pathlib import Path

import click

from sagemaker_stack.cli.common import app_dir_option, config_option, config_path, load_config, user_errors
from sagemaker_stack.ops.images import VARIANTS


@click.group("image")
def image() -> None:
    """Build the stack's base image (no Docker needed: it builds on the stack's CodeBuild project)."""


@image.command("build")
@config_option()
@app_dir_option("The sagemaker-stack repository (its Dockerfiles, package source and uv.lock).")
@click.option(
    "--variant",
    type=click.Choice(VARIANTS),
    default="cpu",
    show_default=True,
    help="cpu, or cuda for GPU instance types.",
)
@click.option("--force", is_flag=True, help="Build even when the repository has this image already.")
def build(config_file: Path | None, app_dir: Path, variant: str, force: bool) -> None:
    """Build and push the base image, and record it in the StackConfig file.

    ZenML then builds every pipeline's image on top of it (after `sagemaker-stack register`).
    """
    from sagemaker_stack.ops.images import build_base_image

    config = load_config(config_file)
    with user_errors(config):
        image_uri = build_base_image(config, app_dir=app_dir, variant=variant, echo=click.echo, force=force)
        if variant == "cpu" and config.base_image != image_uri:
            config.model_copy(update={"base_image": image_uri}).save(config_path(config_file))
            click.echo(
                f"Recorded the base image in {config_path(config_file)}: run `sagemaker-stack register`"
            )
    click.echo(f"Base image: {image_uri}")
