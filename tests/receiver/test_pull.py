"""``hotcast terminal pull`` against a fake center service on localhost: genuine answers are
applied, tampered, replayed, stale and forged ones are refused with the store unchanged, and
what the transport does wrong (garbage, wrong type, endless data, errors) is named.

The fake server serves whatever the test hands it (bundles from tests/simcenter.py) and
records each request; it knows nothing of hotcast beyond the container format.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from framing.container import CONTENT_TYPE, encode_bundles
from hotcast import cli
from receiver import pull
from receiver.store.store import TerminalStore
from tests.simcenter import DAY_S, NOW, SimCenter, make_hot

from terminal_helpers import full_dump


class FakeCenter:
    """A tiny HTTP server: ``answer`` = (status, headers, body) for every GET; ``requests``
    = what came (path, query, headers)."""

    def __init__(self) -> None:
        self.answer: tuple[int, dict, bytes] = (500, {}, b"")
        self.etag: str | None = None
        self.requests: list[tuple[str, dict, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                fake.requests.append((parts.path, parse_qs(parts.query), dict(self.headers)))
                status, headers, body = fake.answer
                if fake.etag is not None and self.headers.get("If-None-Match") == fake.etag:
                    status, body = 304, b""
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body)),
                                    **({"ETag": fake.etag} if fake.etag else {})}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, *bundles: bytes, etag: str | None = None) -> None:
        self.answer = (200, {"Content-Type": CONTENT_TYPE}, encode_bundles(list(bundles)))
        self.etag = etag

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakeCenter()
    yield server
    server.close()


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text("hc_terminal-token\n")
    return path


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))


def run_pull(capsys, home, url, *extra):
    code = cli.main(["terminal", "pull", "--home", str(home), url, *extra])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


HOT = make_hot(30, seed=7)


def test_a_genuine_answer_is_applied_and_its_etag_kept(fake, store, sim, home, token_file,
                                                         capsys):
    fake.serve(sim.keyset_bytes, sim.full(HOT), sim.heartbeat(), etag='"e1"')
    code, lines, err = run_pull(capsys, home, fake.url, "--token-file", str(token_file))
    assert code == 0, err
    assert [ln["event"] for ln in lines] == ["bundle_unchanged", "bundle_applied",
                                             "bundle_applied", "pull_done"]
    assert lines[1] == {"item": f"{fake.url}#1", "event": "bundle_applied", "seq": 1,
                        "kind": "full", "entries": 30}
    assert lines[-1]["list_seq"] == 1 and lines[-1]["stale"] is False
    assert lines[-1]["applied"] == 2 and lines[-1]["rejected"] == 0
    path, query, headers = fake.requests[0]
    assert path == "/v1/bundles"
    assert {k: v[0] for k, v in query.items()} == {"epoch": "0", "seq": "0", "root": "1",
                                                   "keyset": "1", "master": "1"}
    assert headers["Authorization"] == "Bearer hc_terminal-token"
    assert json.loads((home / "pull.json").read_text()) == {"url": fake.url, "etag": '"e1"'}
    # Nothing new: the center answers 304 to the ETag kept, and the store is left alone.
    before = full_dump(home)
    code, lines, _ = run_pull(capsys, home, fake.url, "--token-file", str(token_file))
    assert code == 0 and lines == [{"url": lines[0]["url"], "event": "pull_unchanged",
                                    "etag": '"e1"', "list_seq": 1, "entries": 30,
                                    "stale": False}]
    assert fake.requests[1][2]["If-None-Match"] == '"e1"'
    assert {k: v[0] for k, v in fake.requests[1][1].items()}["seq"] == "1"
    assert full_dump(home) == before


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


@pytest.mark.parametrize("where", [40, -10, -100], ids=["header", "tail", "body"])
def test_a_tampered_bundle_is_refused_and_the_store_unchanged(fake, store, sim, home, capsys,
                                                              where):
    fake.serve(_flip(sim.full(HOT), where), etag='"t"')
    before = full_dump(home)
    code, lines, err = run_pull(capsys, home, fake.url)
    assert code == 2 and "refused" in err
    assert lines[0]["event"] == "bundle_rejected" and lines[0]["why"]
    assert lines[-1]["rejected"] == 1 and lines[-1]["list_seq"] == 0
    assert full_dump(home) == before
    assert not (home / "pull.json").exists()


def test_a_replayed_list_is_refused_and_the_store_unchanged(fake, store, sim, home, capsys):
    old = sim.full(HOT)
    store.apply_bundle(old, NOW)
    store.apply_bundle(sim.delta(make_hot(31, seed=8), base=1), NOW)
    fake.serve(old)
    before = full_dump(home)
    code, lines, err = run_pull(capsys, home, fake.url)
    assert code == 2
    assert lines[0]["event"] == "bundle_rejected" and "RollbackError" in lines[0]["why"]
    assert "replay" in lines[0]["why"]
    assert full_dump(home) == before


def test_a_stale_list_is_refused_and_the_store_unchanged(fake, store, sim, home, capsys):
    fake.serve(sim.full(HOT, now=NOW - DAY_S + 10, valid_for=3600))  # expired 23 h ago
    before = full_dump(home)
    code, lines, _ = run_pull(capsys, home, fake.url)
    assert code == 2 and "ExpiredBundleError" in lines[0]["why"]
    assert full_dump(home) == before


def test_a_stale_heartbeat_is_refused(fake, store, sim, home, capsys):
    store.apply_bundle(sim.full(HOT), NOW)
    fake.serve(sim.heartbeat(now=NOW - 2 * 3600, valid_for=3600))
    before = full_dump(home)
    code, lines, _ = run_pull(capsys, home, fake.url)
    assert code == 2 and "ExpiredBundleError" in lines[0]["why"]
    assert full_dump(home) == before


def test_a_list_from_another_center_is_refused(fake, store, other_sim, home, capsys):
    fake.serve(other_sim.full(HOT))
    before = full_dump(home)
    code, lines, _ = run_pull(capsys, home, fake.url)
    assert code == 2 and lines[0]["event"] == "bundle_rejected"
    assert full_dump(home) == before


def test_the_genuine_part_of_a_mixed_answer_applies_and_the_etag_is_not_kept(fake, store, sim,
                                                                             home, capsys):
    full = sim.full(HOT)
    forged = _flip(sim.delta(make_hot(31, seed=8), base=1), -5)
    fake.serve(full, forged, etag='"m"')
    code, lines, _ = run_pull(capsys, home, fake.url)
    assert code == 2
    assert [ln["event"] for ln in lines] == ["bundle_applied", "bundle_rejected", "pull_done"]
    assert TerminalStore.open(home).state().seq == 1
    assert not (home / "pull.json").exists()


@pytest.mark.parametrize("answer, why", [
    ((200, {"Content-Type": CONTENT_TYPE}, b"\x93\xc4\x01a"), "not a bundle container"),
    ((200, {"Content-Type": CONTENT_TYPE}, b"<html>"), "not a bundle container"),
    ((200, {"Content-Type": CONTENT_TYPE}, b"\x91\xa3abc"), "not a bundle container"),
    ((200, {"Content-Type": "text/html"}, encode_bundles([b"x"])), "not " + CONTENT_TYPE),
], ids=["truncated", "html", "text-item", "content-type"])
def test_an_answer_that_is_not_a_container_is_refused(fake, store, home, capsys, answer, why):
    fake.answer = answer
    before = full_dump(home)
    code, lines, err = run_pull(capsys, home, fake.url)
    assert code == 2 and why in err
    assert lines == [{"url": lines[0]["url"], "event": "bundle_rejected", "why": lines[0]["why"]}]
    assert full_dump(home) == before


def test_endless_data_is_refused_unread(fake, store, sim, home, capsys, monkeypatch):
    monkeypatch.setattr(pull, "MAX_RESPONSE_BYTES", 10_000)
    fake.serve(sim.full(make_hot(5000, seed=9)))
    code, lines, err = run_pull(capsys, home, fake.url)
    assert code == 2 and "larger than 10000 bytes" in err
    assert TerminalStore.open(home).state().seq == 0


@pytest.mark.parametrize("status, code, why", [
    (401, 2, "refused the pull (401): the token is unknown or revoked"),
    (403, 2, "refused the pull (403)"),
    (429, 1, "answered 429"),
    (500, 1, "answered 500"),
])
def test_errors_from_the_center_are_named(fake, store, home, capsys, status, code, why):
    body = json.dumps({"error": "x", "detail": "the token is unknown or revoked"}).encode()
    fake.answer = (status, {"Content-Type": "application/json"}, body)
    before = full_dump(home)
    got, lines, err = run_pull(capsys, home, fake.url)
    assert got == code and why in err and lines == []
    assert full_dump(home) == before


def test_a_center_that_cannot_be_reached_is_exit_1(store, home, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        code, lines, err = run_pull(capsys, home, f"http://127.0.0.1:{port}", "--timeout", "2")
    assert code == 1 and "cannot reach" in err and lines == []


@pytest.mark.parametrize("url", ["ftp://x/", "center:8080", "http://", "http://h/?a=1"])
def test_bad_urls_are_refused(store, home, capsys, url):
    code, _, err = run_pull(capsys, home, url)
    assert code == 2 and "bad center URL" in err


@pytest.mark.parametrize("content", ["", "two tokens", "x" * 600, "t\u00e9"])
def test_bad_token_files_are_refused(store, home, capsys, tmp_path, content):
    path = tmp_path / "bad-token"
    path.write_text(content)
    code, _, err = run_pull(capsys, home, "http://127.0.0.1:1", "--token-file", str(path))
    assert code == 2 and "token file" in err


def test_the_url_may_name_the_pull_path(fake, store, sim, home, capsys):
    fake.serve(sim.full(HOT))
    assert run_pull(capsys, home, fake.url + "/v1/bundles/")[0] == 0
    assert fake.requests[0][0] == "/v1/bundles"


def test_pull_needs_a_terminal_home(tmp_path, capsys):
    code, _, err = run_pull(capsys, tmp_path / "none", "http://127.0.0.1:1")
    assert code == 2 and "no terminal store" in err
