"""The dependency rules of ARCHITECTURE.md and the shared preset tables."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_crypto_private_module_imports_pycryptodome():
    offenders = []
    folders = ["hotcast", "center", "receiver", "framing", "crypto", "modem", "bench", "tests"]
    for path in (p for folder in folders for p in (ROOT / folder).rglob("*.py")):
        if path.name == "_primitives.py" or path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        if "from Crypto" in text or "import Crypto" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_framing_and_modem_know_the_same_profiles():
    framing_profiles = pytest.importorskip("framing.profiles")
    modem_profiles = pytest.importorskip("modem.profiles")
    assert set(framing_profiles.PROFILES) == set(modem_profiles.PROFILES)
