"""``codeverify image build``: build the Docker backend's sandbox image on this machine.

Two recipes ship with the package, in ``sandbox/images/python``: a ``Dockerfile`` (needs an image registry for its
``python`` base image) and ``build-offline.sh`` (Debian's package archive, mmdebstrap and
``docker import``; needs root). ``--method auto`` asks the daemon whether the registry answers
and uses the Dockerfile if so, the offline recipe otherwise (or when the Dockerfile build fails).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

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
    build.set_defaults(run=run_build)


def base_image(dockerfile: Path) -> str:
    """The Dockerfile's base image, with its ``ARG`` default substituted."""
    text = dockerfile.read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    match = re.search(r"^FROM\s+(\S+)", text, re.M)
    if match is None:
        raise ValueError(f"no FROM line in {dockerfile}")
    return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), match.group(1))


def registry_reachable(client, image: str) -> bool:
    """Whether the daemon can reach the registry holding ``image`` (a manifest lookup)."""
    try:
        client.api.inspect_distribution(image)
    except Exception:
        return False
    return True


def choose_method(client, method: str, recipes: Path) -> str:
    """``dockerfile`` or ``offline``: what ``method`` means on this machine."""
    if method != "auto":
        return method
    return "dockerfile" if registry_reachable(client, base_image(recipes / "Dockerfile")) else "offline"


def build_offline(recipes: Path, tag: str, force: bool) -> int:
    script = recipes / "build-offline.sh"
    return subprocess.run(["bash", str(script), *(["--force"] if force else []), tag]).returncode


def build_dockerfile(client, recipes: Path, tag: str) -> int:
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
    if not args.force and any(args.tag in image.tags for image in client.images.list(name=args.tag.split(":")[0])):
        print(f"image {args.tag} is already present (use --force to rebuild)")
        return 0
    if not (args.recipes / "Dockerfile").is_file():
        print(f"codeverify image build: no image recipes in {args.recipes}", file=sys.stderr)
        return 1
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
