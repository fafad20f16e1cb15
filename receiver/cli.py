"""``hotcast terminal ...``: a terminal's store: init, apply bundle files, check cards, status.

Each command is ``run(args, ctx) -> int`` under ``hotcast.runner`` (the clock, the home, the
exit statuses, JSON lines). Output for programs is JSON lines on stdout, messages on stderr;
exit 0 done, 2 bad usage or bad input with nothing changed, 1 any other failure.

``terminal pull`` asks a center service for what the store lacks and applies it the same way
(``receiver.pull``), refusing a list older than the store's (a replay), and remembers the
answer's ETag so that the next pull of nothing new is a 304.

``terminal apply`` takes bundle files as a POS with a network gets them: it reads them all,
sorts them into the order they must apply in (by sequence number, key material first), applies
every file that verifies (each in its own transaction), reports each that does not, treats a
genuine bundle the store already has or has passed as unchanged, and exits 2 if any was
refused. ``terminal check`` echoes each card ID as it was given.
"""

from __future__ import annotations

import argparse
import sys

from crypto import (
    MAX_BUNDLE_BYTES,
    BundleKind,
    CryptoError,
    KeyFileError,
    MetadataType,
    TerminalKeys,
    read_unverified_header,
    read_unverified_keyset,
    read_unverified_root_set,
)
from framing import CardIdError, parse_card_id
from framing.container import ContainerError
from receiver import pull
from receiver.errors import BundleRefusedError, RollbackError, StoreError, UsageError
from receiver.payment.checks import check_card
from receiver.store.store import TerminalStore

ROLE = "terminal"
MAX_STDIN_CARDS = 10_000_000


def read_input(name: str, what: str, limit_bytes: int = MAX_BUNDLE_BYTES) -> bytes:
    """The bytes of file ``name`` (``-``: standard input), at most ``limit_bytes`` + 1 of them.

    The one extra byte lets the parser refuse an oversized input by its own size check
    without this function ever holding more than the limit (endless data, TUF).
    """
    try:
        if name == "-":
            return sys.stdin.buffer.read(limit_bytes + 1)
        with open(name, "rb") as f:
            return f.read(limit_bytes + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {name!r}: {exc.strerror or exc}") from None


def open_store(args: argparse.Namespace, ctx) -> TerminalStore:
    try:
        return TerminalStore.open(ctx.home(args, ROLE))
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def _cmd_init(args: argparse.Namespace, ctx) -> int:
    data = read_input(args.keys, "key file")
    home = ctx.home(args, ROLE, creating=True)
    try:
        keys = TerminalKeys.from_file(data)
        store = TerminalStore.create(home, keys)
    except (KeyFileError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    with store:
        ctx.emit({"home": str(home), "store": str(store.path), "root_set": keys.root_set.version,
                  "key_set": keys.keyset.version,
                  "master_key_ids": [m.key_id for m in keys.master_keys]})
    return 0


def _apply_order(item: tuple[str, bytes]) -> tuple[int, int, int]:
    """Sort key of a file: trust first in the order it chains (root sets, key sets, master
    rolls), then lists by (epoch, seq), heartbeats last; what does not parse goes last and is
    refused in turn, with its own message."""
    data = item[1]
    try:
        if data[:3] == b"HCM":
            if data[4:5] == bytes([int(MetadataType.ROOT_SET)]):
                return (0, read_unverified_root_set(data).version, 0)
            return (1, read_unverified_keyset(data).version, 0)
        header = read_unverified_header(data)
    except CryptoError:
        return (6, 0, 0)
    rank = {BundleKind.MASTER_ROLL: 2, BundleKind.FULL: 3, BundleKind.DELTA: 3}.get(header.kind, 5)
    return (rank, header.epoch, header.seq)


def apply_all(store: TerminalStore, bundles: list[tuple[dict, bytes]], now: int, ctx, *,
              replay_is_refused: bool = False) -> tuple[int, list[str]]:
    """Apply ``bundles`` ((label, bytes) pairs; the label starts each JSON line) in the order
    they must apply (``_apply_order``), each in its own transaction, a JSON line each.
    Returns (bundles applied, refusals). A list older than the store's is "unchanged" (a file
    or a carousel repeat), or refused when ``replay_is_refused`` (a pull: the center knew what
    the store holds, so an older list is a replay)."""
    refused: list[str] = []
    applied = 0
    for label, data in sorted(bundles, key=lambda item: _apply_order(("", item[1]))):
        name = next(iter(label.values()))
        try:
            result = store.apply_bundle(data, now)
        except RollbackError as exc:
            if replay_is_refused:
                why = f"{type(exc).__name__}: {exc} (a replay: the center never sends a list " \
                      "older than the one asked from)"
                ctx.emit({**label, "event": "bundle_rejected", "seq": exc.bundle_seq, "why": why})
                refused.append(f"{name}: {why}")
                continue
            ctx.emit({**label, "event": "bundle_unchanged", "seq": exc.bundle_seq,
                      "why": f"the store is already past it ({exc})"})
            continue
        except (CryptoError, BundleRefusedError) as exc:
            why = f"{type(exc).__name__}: {exc}"
            ctx.emit({**label, "event": "bundle_rejected", "why": why})
            refused.append(f"{name}: {why}")
            continue
        event = "bundle_applied" if result.applied else "bundle_unchanged"
        applied += result.applied
        ctx.emit({**label, "event": event, "seq": result.seq,
                  "kind": result.kind.name.lower(), "entries": result.entries})
    return applied, refused


def _cmd_apply(args: argparse.Namespace, ctx) -> int:
    bundles = [({"file": name}, read_input(name, "bundle file")) for name in args.files]
    with open_store(args, ctx) as store:
        _, refused = apply_all(store, bundles, ctx.now(), ctx)
    if refused:
        raise UsageError(f"{len(refused)} of {len(bundles)} file(s) refused, the store keeps "
                         f"what the others applied; first: {refused[0]}")
    return 0


def _cmd_pull(args: argparse.Namespace, ctx) -> int:
    token = pull.read_token(args.token_file)
    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g} must be above 0 seconds")
    home = ctx.home(args, ROLE)
    saved = pull.PullState(home)
    with open_store(args, ctx) as store:
        url = pull.pull_url(args.url, store.state(), store.keys())
        try:
            reply = pull.fetch(url, token, saved.etag(args.url), args.timeout)
        except ContainerError as exc:
            ctx.emit({"url": url, "event": "bundle_rejected", "why": str(exc)})
            raise UsageError(f"the center's answer was refused, the store is unchanged: "
                             f"{exc}") from None
        now = ctx.now()
        if reply.status == 304:
            ctx.emit({"url": url, "event": "pull_unchanged", "etag": reply.etag,
                      **_list_of(store, now)})
            return 0
        items = [({"item": f"{args.url}#{i}"}, data) for i, data in enumerate(reply.items)]
        applied, refused = apply_all(store, items, now, ctx, replay_is_refused=True)
        if not refused:
            saved.save(args.url, reply.etag)
        ctx.emit({"url": url, "event": "pull_done", "bundles": len(items), "applied": applied,
                  "rejected": len(refused), "etag": reply.etag, **_list_of(store, now)})
    if refused:
        raise UsageError(f"{len(refused)} of {len(items)} bundle(s) from {args.url} refused, "
                         f"the store keeps what the others applied; first: {refused[0]}")
    return 0


def _list_of(store: TerminalStore, now: int) -> dict:
    state = store.state()
    return {"list_seq": state.seq, "entries": state.entries, "stale": state.is_stale(now)}


def card_texts(cards: list[str]) -> list[str]:
    """Card IDs of a command line; ``-`` reads more from standard input (white space or commas
    between them)."""
    texts: list[str] = []
    for card in cards:
        if card != "-":
            texts.append(card)
            continue
        for line in sys.stdin:
            texts += [t for t in line.replace(",", " ").split() if t]
            if len(texts) > MAX_STDIN_CARDS:
                raise UsageError(f"more than {MAX_STDIN_CARDS} card IDs on standard input")
    if not texts:
        raise UsageError("no card IDs given (standard input was empty)")
    return texts


def _cmd_check(args: argparse.Namespace, ctx) -> int:
    texts = card_texts(args.cards)
    try:
        card_ids = [parse_card_id(text) for text in texts]
    except CardIdError as exc:
        raise UsageError(str(exc)) from None
    now = ctx.now()
    with open_store(args, ctx) as store:
        for text, card_id in zip(texts, card_ids):
            if ctx.out.closed:
                break
            ctx.emit({**check_card(store, card_id, now).to_json(), "card": text})
    return 0


def _cmd_status(args: argparse.Namespace, ctx) -> int:
    now = ctx.now()
    with open_store(args, ctx) as store:
        ctx.emit({"home": str(ctx.home(args, ROLE)), **store.status(now)})
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the ``hotcast terminal`` commands."""
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", help="terminal home (default $HOTCAST_HOME, else ./hotcast-home)")

    def add(name: str, helptext: str, func):
        cmd = sub.add_parser(name, parents=[home], help=helptext, description=helptext)
        cmd.set_defaults(func=func)
        return cmd

    add("init", "create a terminal store from provisioned key material",
        _cmd_init).add_argument("--keys", required=True, metavar="FILE",
                                help="terminal key file from `hotcast center provision` (- = stdin)")
    add("apply", "verify and apply bundle files in the order they need; a JSON line per file",
        _cmd_apply).add_argument("files", nargs="+", metavar="FILE")
    p = add("pull", "fetch what is new from a center service and apply it with the checks of a "
            "broadcast bundle; a JSON line per bundle", _cmd_pull)
    p.add_argument("url", metavar="URL", help="the center service, http(s)://HOST:PORT")
    p.add_argument("--token-file", metavar="F", help="file holding this terminal's bearer "
                   "token (from `hotcast center operators add NAME --role terminal`)")
    p.add_argument("--timeout", type=float, default=pull.DEFAULT_TIMEOUT_S, metavar="S",
                   help="seconds to wait for the center (default 30)")
    add("check", "check card IDs against the hot list (- reads them from stdin); a JSON line "
        "per card", _cmd_check).add_argument("cards", nargs="+", metavar="CARD")
    add("status", "show the list held, its freshness and the key ids", _cmd_status)
