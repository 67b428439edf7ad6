"""The `docker` stand-in: `python -m sagemaker_stack.local.images.docker_cli <command> ...`.

CodeBuild builds in the emulator get it on their PATH as `docker`, with `EMULATOR_IMAGE_STORE`
naming the emulator's image store. It does what ZenML's `aws` image builder's buildspec and a
user's own buildspec ask of docker, for images that are Python environments (see build):

    docker login --username AWS --password-stdin <account>.dkr.ecr.<region>.amazonaws.com
    docker build -t NAME [-t ...] [-f FILE] [--build-arg K=V] [--label K=V] [--platform P] CONTEXT
    docker tag SOURCE TARGET
    docker push NAME            (only to this account's emulated ECR; needs a prior login)
    docker images

Options that do not change what is built (--pull, --no-cache, --rm, --force-rm, -q, --progress,
--cache-from, --shm-size, --network default|host) are accepted; any other option is refused by
name. Errors are one line on stderr with docker's exit codes: 1 for a failed command, 125 for a
command line docker would not accept.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from sagemaker_stack.local.images.build import BuildError, BuildRequest, build, resolve_base
from sagemaker_stack.local.images.dockerfile import DockerfileError, parse
from sagemaker_stack.local.images.reference import ReferenceError, parse_reference
from sagemaker_stack.local.images.registry import RegistryError, check_registry, pull, push
from sagemaker_stack.local.images.store import ImageStore, StoreError

EXIT_FAILED = 1
EXIT_USAGE = 125


class CommandError(RuntimeError):
    """A command failed; str() is the line printed to stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"docker: {message}\nSee '{self.prog} --help'.", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="docker", description="The emulator's docker: images are Python environments.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    login = commands.add_parser("login", prog="docker login")
    login.add_argument("-u", "--username", required=True)
    login.add_argument("-p", "--password")
    login.add_argument("--password-stdin", action="store_true")
    login.add_argument("server")

    build_ = commands.add_parser("build", prog="docker build")
    build_.add_argument("-t", "--tag", action="append", default=[])
    build_.add_argument("-f", "--file")
    build_.add_argument("--build-arg", action="append", default=[])
    build_.add_argument("--label", action="append", default=[])
    build_.add_argument("--platform")
    build_.add_argument("--pull", action="store_true")
    build_.add_argument("--no-cache", action="store_true")
    build_.add_argument("-q", "--quiet", action="store_true")
    build_.add_argument("--network", choices=["default", "host"])
    for flag in ("--rm", "--force-rm"):
        build_.add_argument(flag, action="store_true")
    for option in ("--progress", "--cache-from", "--shm-size"):
        build_.add_argument(option, action="append", default=[])
    build_.add_argument("context")

    tag = commands.add_parser("tag", prog="docker tag")
    tag.add_argument("source")
    tag.add_argument("target")

    push_ = commands.add_parser("push", prog="docker push")
    push_.add_argument("name")

    commands.add_parser("images", prog="docker images")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        store = ImageStore.from_environment()
        if args.command == "login":
            _login(store, args)
        elif args.command == "build":
            _build(store, args)
        elif args.command == "tag":
            _tag(store, args.source, args.target)
        elif args.command == "push":
            _push(store, args.name)
        else:
            _images(store)
    except (CommandError, StoreError, RegistryError, BuildError, DockerfileError, ReferenceError) as error:
        sys.stdout.flush()
        print(f"ERROR: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _login(store: ImageStore, args: argparse.Namespace) -> None:
    if args.password_stdin == (args.password is not None):
        raise CommandError("give the password with exactly one of --password-stdin or --password")
    password = sys.stdin.read().rstrip("\r\n") if args.password_stdin else args.password
    registry = args.server.removeprefix("https://").split("/", 1)[0]
    reference = parse_reference(f"{registry}/login-check")
    client = check_registry(reference)
    account = reference.ecr[0] if reference.ecr else ""
    token = client.get_authorization_token(registryIds=[account])["authorizationData"][0][
        "authorizationToken"
    ]
    if base64.b64decode(token).decode() != f"{args.username}:{password}":
        raise CommandError(
            f"Error response from daemon: login attempted to https://{registry}/v2/ failed with status: "
            "400 Bad Request"
        )
    store.login(registry, args.username, password)
    print("Login Succeeded")


def _build(store: ImageStore, args: argparse.Namespace) -> None:
    context = Path(args.context)
    if args.context == "-" or "://" in args.context or not context.is_dir():
        raise CommandError(
            f"unable to prepare context: path {args.context!r} is not a folder on this machine"
        )
    dockerfile_path = Path(args.file) if args.file else context / "Dockerfile"
    try:
        text = dockerfile_path.read_text()
    except OSError as error:
        raise CommandError(f"failed to read Dockerfile {dockerfile_path}: {error.strerror}") from None
    for tag in args.tag:
        parse_reference(tag)  # a bad -t fails before anything is built
    build_args = _key_values(args.build_arg, "--build-arg", from_environment=True)
    dockerfile = parse(text)
    name, _, _ = dockerfile.base(build_args)
    base = resolve_base(store, name, pull=args.pull, registry=lambda reference: pull(store, reference))
    request = BuildRequest(
        dockerfile=dockerfile,
        dockerfile_text=text,
        context=context,
        tags=tuple(args.tag),
        build_args=build_args,
        labels=_key_values(args.label, "--label", from_environment=False),
        platform=args.platform,
        no_cache=args.no_cache,
        pull=args.pull,
    )
    image_id = build(store, request, base, io.StringIO() if args.quiet else sys.stdout)
    if args.quiet:
        print(image_id)


def _tag(store: ImageStore, source: str, target: str) -> None:
    image_id = store.find(source)
    if image_id is None:
        raise CommandError(f"Error response from daemon: No such image: {source}")
    store.tag(image_id, target)


def _push(store: ImageStore, name: str) -> None:
    reference = parse_reference(name)
    if reference.digest:
        raise CommandError(f"cannot push a digest reference: {name}; push a tag")
    image_id = store.find(name)
    if image_id is None:
        raise CommandError(f"An image does not exist locally with the tag: {name}")
    push(store, image_id, reference, sys.stdout)


def _images(store: ImageStore) -> None:
    rows = [("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")]
    for name, image_id in sorted(store.tags().items()):
        reference = parse_reference(name)
        repository = name.rsplit(":", 1)[0] if reference.tag else name
        try:
            created = store.image(image_id).document.get("created", "")
        except StoreError:
            continue
        rows.append((repository, reference.tag or "<none>", image_id[7:19], _ago(created), "-"))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for row in rows:
        print("   ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())


def _key_values(items: list[str], option: str, *, from_environment: bool) -> dict[str, str]:
    """K=V pairs; for --build-arg a bare K takes its value from the environment, as docker does."""
    values: dict[str, str] = {}
    for item in items:
        key, has_value, value = item.partition("=")
        if not key:
            raise CommandError(f"{option} {item!r}: expected KEY=value")
        if has_value:
            values[key] = value
        elif from_environment and key in os.environ:
            values[key] = os.environ[key]
    return values


def _ago(created: str) -> str:
    try:
        seconds = (datetime.now(UTC) - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return created
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} seconds ago"


if __name__ == "__main__":
    sys.exit(main())
