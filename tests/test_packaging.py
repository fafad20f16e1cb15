"""What `pip install .` puts in the wheel: every package folder of ours (sub-packages
included: a bare list of top-level names once left center.air, center.registry, receiver.radio
... out of the wheel, hidden by editable installs), and every non-Python file the code reads at
run time (the operator page's templates and static files, serve's example plan)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("hotcast", "center", "modem", "receiver", "framing", "crypto")


def config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_in_the_wheel() -> None:
    found = set(find_packages(str(REPO), include=config()["packages"]["find"]["include"]))
    ours = {str(p.parent.relative_to(REPO)).replace("/", ".")
            for root in ROOTS for p in (REPO / root).rglob("__init__.py")}
    assert ours <= found, sorted(ours - found)
    assert all(name.split(".")[0] in ROOTS for name in found)


def test_every_data_file_the_code_reads_is_package_data() -> None:
    data = config()["package-data"]
    for root in ROOTS:
        for path in (REPO / root).rglob("*"):
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            package = path.parent
            while not (package / "__init__.py").exists():
                package = package.parent
            name = str(package.relative_to(REPO)).replace("/", ".")
            rel = str(path.relative_to(package))
            assert any(fnmatch.fnmatch(rel, pat) for pat in data.get(name, ())), \
                f"{path.relative_to(REPO)} is not package data of {name}"
