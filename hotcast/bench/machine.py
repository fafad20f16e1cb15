"""What a result was measured on: the machine, the Python and library versions, the git commit.

Figures only compare across runs with this beside them (``--compare`` names what differs).
CPU model from /proc/cpuinfo (``platform.processor()`` elsewhere), the cores this process may
use, numpy's BLAS from ``numpy.show_config(mode="dicts")`` (and threadpoolctl's view of the
loaded BLAS when it is installed); the commit and a dirty flag when run from a git checkout.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

# Distribution names whose versions matter to the figures ("creedsolo" is reedsolo's Cython
# build: present or not, it moves the Reed-Solomon figures 5-80x).
LIBRARIES = ("hotcast", "numpy", "scipy", "ldpc", "reedsolo", "pycryptodome", "raptorq",
             "constriction", "msgpack", "matplotlib", "pytest-benchmark", "threadpoolctl")


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas() -> dict:
    info: dict = {}
    try:
        import numpy as np

        deps = np.show_config(mode="dicts").get("Build Dependencies", {})
        b = deps.get("blas", {})
        info = {"name": b.get("name"), "version": b.get("version"),
                "config": b.get("openblas configuration")}
    except Exception as exc:  # an old numpy without mode="dicts"
        info = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [{k: p.get(k) for k in ("internal_api", "version",
                                                         "num_threads", "architecture")}
                               for p in threadpool_info()]
    except ImportError:
        pass
    return {k: v for k, v in info.items() if v is not None}


def versions() -> dict:
    found = {"python": platform.python_version(),
             "implementation": platform.python_implementation()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    try:
        import creedsolo  # noqa: F401

        found["creedsolo"] = "present"
    except ImportError:
        found["creedsolo"] = None
    return found


def git_state(root: Path | None = None) -> dict | None:
    """``{"commit", "dirty", "branch"}`` of the checkout this package runs from, else None."""
    root = Path(__file__).resolve().parents[2] if root is None else root
    if not (root / ".git").exists():
        return None

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status), "branch": git("rev-parse", "--abbrev-ref",
                                                                   "HEAD")}


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def machine() -> dict:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable,
            "platform": platform.platform(), "python_executable": sys.executable,
            "blas": blas()}
