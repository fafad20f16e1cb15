"""``<home>/serve/status.json``: what a running ``center serve`` has on air, for other processes.

Written by ``Serve`` at least once a second, atomically (a temporary file in the same folder,
then ``os.replace``: a reader sees the old or the new document, never half of one), mode 0600::

    {"updated_at": <unix s>, "pid": int, "started_at": int, "plan": "<path>",
     "channels": [{"name", "profile", "output", "state": "on_air"|"retrying"|"stopped",
                   "on_air": [{"kind", "epoch", "seq"}...], "behind_s": float,
                   "last_error": str|null, "cycle_s": float, "worst_wait_s": float}],
     "warnings": [str...]}

``read_serve_status(home, now)`` is what ``center status`` shows: the document plus
``running`` (a process with that pid exists, the file is fresh and a channel is not stopped)
and ``why`` when it is not, and ``age_s``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SERVE_DIR = "serve"
STATUS_FILE = "status.json"
LOCK_NAME = "serve.lock"
STALE_AFTER_S = 5.0  # written every second: older than this, serve is not running


def serve_dir(home: Path) -> Path:
    return Path(home) / SERVE_DIR


def status_path(home: Path) -> Path:
    return serve_dir(home) / STATUS_FILE


def write_status(path: Path, doc: dict) -> None:
    """Replace ``path`` with ``doc`` as JSON, atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.write("\n")
    os.replace(tmp, path)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_serve_status(home: Path, now: float) -> dict:
    """The serve status as ``center status`` reports it (never raises for a missing or bad
    file: it says so)."""
    path = status_path(home)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"running": False, "why": "serve is not running (no status file: it has never "
                                          f"run on this home, or {path} was removed)"}
    except (OSError, ValueError) as exc:
        return {"running": False, "why": f"cannot read {path}: {exc}"}
    if not isinstance(doc, dict) or not isinstance(doc.get("updated_at"), (int, float)):
        return {"running": False, "why": f"{path} is not a serve status document"}
    age = now - doc["updated_at"]
    out = {"running": True, **doc, "age_s": round(age, 3)}
    channels = doc.get("channels") or []
    if channels and all(c.get("state") == "stopped" for c in channels):
        out.update(running=False, why=f"serve stopped ({age:.0f} s ago)")
    elif not _alive(doc.get("pid")):
        out.update(running=False, why=f"serve is not running: pid {doc.get('pid')} is gone "
                                      f"(status last written {age:.0f} s ago)")
    elif age > STALE_AFTER_S:
        out.update(running=False, why=f"serve is not running or stuck: its status is "
                                      f"{age:.0f} s old")
    return out


def serve_status_rows(serve: dict) -> list[tuple[str, str]]:
    """(label, text) rows of the serve part of ``center status``'s table."""
    if not serve.get("running"):
        rows = [("serve", serve.get("why", "not running"))]
    else:
        rows = [("serve", f"running, pid {serve['pid']}, plan {serve.get('plan')}")]
    for ch in serve.get("channels", []):
        on_air = ", ".join(f"{b['kind']} {b['seq']}" for b in ch.get("on_air", [])) or "nothing"
        rows.append((f"  {ch['name']}", f"{ch['profile']} -> {ch['output']}: {ch['state']}, "
                                        f"behind {ch['behind_s']:.2f} s, cycle "
                                        f"{ch['cycle_s']:.1f} s, worst wait "
                                        f"{ch['worst_wait_s']:.1f} s"))
        rows.append(("    on air", on_air))
        if ch.get("last_error"):
            rows.append(("    last error", ch["last_error"]))
    for w in serve.get("warnings", []):
        rows.append(("SERVE WARNING", w))
    return rows
