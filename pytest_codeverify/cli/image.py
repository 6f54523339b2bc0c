"""``codeverify image build``: build the Docker backend's sandbox image on this machine.

Two recipes ship with the package, in ``sandbox/images/python``: a ``Dockerfile`` (needs an image registry for its
``python`` base image) and ``build-offline.sh`` (Debian's package archive, mmdebstrap and
``docker import``; needs root). ``--method auto`` asks the daemon whether the registry answers
and uses the Dockerfile if so, the offline recipe otherwise (or when the Dockerfile build fails).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..config import DEFAULT_IMAGE

#: The image recipes, installed with the package (package data), so this works from a wheel.
RECIPES = Path(__file__).resolve().parent.parent / "sandbox" / "images" / "python"
METHODS = ("auto", "dockerfile", "offline")


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Manage the Docker backend's sandbox image."
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help=f"build the sandbox image (default tag {DEFAULT_IMAGE})")
    build.add_argument("--tag", default=DEFAULT_IMAGE, help="image tag to build")
    build.add_argument("--method", choices=METHODS, default="auto",
                       help="dockerfile (needs a registry), offline (root, mmdebstrap) or auto")
    build.add_argument("--force", action="store_true", help="rebuild although the tag exists")
    build.add_argument("--recipes", type=Path, default=RECIPES, help="directory of the image recipes")
    build.add_argument("--languages", type=parse_languages, default=(),
                       help="comma-separated languages whose toolchains the image gets besides Python "
                            "(e.g. cpp,java; built offline from Debian packages); the default tag then "
                            "names them: codeverify-sandbox:cpp-java")
    build.set_defaults(run=run_build)


def parse_languages(value: str) -> tuple[str, ...]:
    """``cpp,java`` -> the languages, checked against the registry (python is always in)."""
    from .. import languages

    names = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    unknown = [name for name in names if name not in languages.names()]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown language(s) {', '.join(unknown)} "
                                         f"(supported: {', '.join(languages.names())})")
    return tuple(name for name in names if name != "python")


def debian_packages(names: tuple[str, ...]) -> list[str]:
    """The Debian packages holding these languages' toolchains."""
    from .. import languages

    return list(dict.fromkeys(package for name in names for package in languages.get(name).debian_packages))


def base_image(dockerfile: Path) -> str:
    """The Dockerfile's base image, with its ``ARG`` default substituted."""
    text = dockerfile.read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    match = re.search(r"^FROM\s+(\S+)", text, re.M)
    if match is None:
        raise ValueError(f"no FROM line in {dockerfile}")
    return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), match.group(1))


def registry_reachable(client: Any, image: str) -> bool:
    """Whether the daemon can reach the registry holding ``image`` (a manifest lookup)."""
    try:
        client.api.inspect_distribution(image)
    except Exception:
        return False
    return True


def choose_method(client: Any, method: str, recipes: Path) -> str:
    """``dockerfile`` or ``offline``: what ``method`` means on this machine."""
    if method != "auto":
        return method
    return "dockerfile" if registry_reachable(client, base_image(recipes / "Dockerfile")) else "offline"


def build_offline(recipes: Path, tag: str, force: bool, packages: list[str] | None = None) -> int:
    script = recipes / "build-offline.sh"
    env = {**os.environ, "EXTRA_PACKAGES": ",".join(packages)} if packages else None
    return subprocess.run(["bash", str(script), *(["--force"] if force else []), tag], env=env).returncode


def build_dockerfile(client: Any, recipes: Path, tag: str) -> int:
    try:
        client.images.build(path=str(recipes), tag=tag, rm=True, pull=True)
    except Exception as exc:
        print(f"codeverify image build: Dockerfile build failed: {exc}", file=sys.stderr)
        return 1
    return 0


def run_build(args: argparse.Namespace) -> int:
    from ..sandbox import docker

    try:
        client = docker._client()
        client.ping()
    except Exception as exc:
        print(f"codeverify image build: no Docker daemon reachable: {exc}", file=sys.stderr)
        return 1
    if args.languages and args.tag == DEFAULT_IMAGE:
        args.tag = f"{DEFAULT_IMAGE.split(':')[0]}:{'-'.join(args.languages)}"
    if not args.force and any(args.tag in image.tags for image in client.images.list(name=args.tag.split(":")[0])):
        print(f"image {args.tag} is already present (use --force to rebuild)")
        return 0
    if not (args.recipes / "Dockerfile").is_file():
        print(f"codeverify image build: no image recipes in {args.recipes}", file=sys.stderr)
        return 1
    if args.languages:
        # Toolchains come from Debian's archive: only the offline recipe installs them.
        if args.method == "dockerfile":
            print("codeverify image build: --languages needs the offline recipe (--method offline)", file=sys.stderr)
            return 2
        status = build_offline(args.recipes, args.tag, args.force, debian_packages(args.languages))
        if status == 0:
            print(f"built {args.tag}; use it with --codeverify-image {args.tag}")
        return status
    method = choose_method(client, args.method, args.recipes)
    print(f"building {args.tag} with the {method} recipe", flush=True)
    status = build_dockerfile(client, args.recipes, args.tag) if method == "dockerfile" else 1
    if status != 0 and args.method != "dockerfile":
        if method == "dockerfile":
            print("falling back to the offline recipe", flush=True)
        status = build_offline(args.recipes, args.tag, args.force)
    if status == 0:
        print(f"built {args.tag}")
    return status
