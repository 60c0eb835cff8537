"""The container's pinned requirements: requirements.txt and everything it pulls in, as installed here.

requirements.txt keeps the tested ranges for `make run`; an image must come out the same on every
build, so deploy/Dockerfile installs the exact versions of deploy/requirements.lock, written by

    .venv/bin/python -m deploy.lock_requirements > deploy/requirements.lock

from the virtual environment the tests ran in (Linux, so tensorflow-cpu). tests/test_class_proxy.py
checks that the lock still satisfies requirements.txt.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# The image is Linux whatever machine writes the lock.
LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "extra": ""}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(path: Path = ROOT / "requirements.txt") -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def applies(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(LINUX)


def closure(roots: list[Requirement]) -> dict[str, str]:
    """{normalised name: installed version} for the roots and their dependencies on Linux."""
    pinned: dict[str, str] = {}
    pending = [requirement for requirement in roots if applies(requirement)]
    while pending:
        requirement = pending.pop()
        name = normalise(requirement.name)
        if name in pinned:
            continue
        distribution = metadata.distribution(requirement.name)
        pinned[name] = distribution.version
        pending.extend(dependency for dependency in map(Requirement, distribution.requires or []) if applies(dependency))
    return dict(sorted(pinned.items()))


def main() -> int:
    print("# Exact versions for deploy/Dockerfile (see deploy/lock_requirements.py). Do not edit by hand.")
    for name, version in closure(requirements()).items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
