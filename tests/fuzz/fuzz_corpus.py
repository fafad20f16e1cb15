"""The kept inputs of the fuzz targets, and how a finding is written down and reported.

``corpus/<target>/`` holds regression inputs, ``.bin`` raw or ``.bin.gz`` compressed (a
dense list body of 244 KiB is 316 bytes gzipped). A file whose name starts with the name of
one of the target's ``Known`` findings reproduces that finding and replays as a strict xfail.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from fuzz_engine import Failure

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


def corpus_files(target: str) -> list[Path]:
    """Regression inputs kept for ``target`` (``.bin`` raw, ``.bin.gz`` gzip-compressed)."""
    folder = CORPUS_DIR / target
    return sorted(p for p in folder.glob("*") if p.name.endswith((".bin", ".bin.gz"))) if folder.is_dir() else []


def read_corpus_file(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def save_finding(failure: Failure, folder: Path) -> Path:
    """Write the input of a failure as ``<folder>/<target>/<kind>-<exception>-<sha1>.bin``."""
    digest = hashlib.sha1(failure.data).hexdigest()[:12]
    slug = "-".join(p for p in (failure.kind, failure.exception.lower()) if p)
    path = folder / failure.target / f"{slug}-{digest}.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(failure.data)
    return path


def describe(failure: Failure, saved: Path | None = None) -> str:
    """Several lines for a test failure: what, where, and how to reproduce it."""
    lines = [f"{failure.target}: {failure.kind}: {failure.what}"]
    if failure.where:
        lines.append(f"  at {failure.where}")
    if len(failure.data) <= 256:
        lines.append(f"  reproduce: targets.TARGETS[{failure.target!r}].run(bytes.fromhex("
                     f"{failure.data.hex()!r}))")
    if saved is not None:
        lines.append(f"  input saved to {saved} ({len(failure.data)} bytes); "
                     f"move it to tests/fuzz/corpus/{failure.target}/ to keep it")
    return "\n".join(lines)
