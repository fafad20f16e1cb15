"""``hotcast root ...``: the offline root of trust (run it on a machine that is not the center).

Each command is ``run(args, ctx) -> int`` under ``hotcast.runner``. The root's keys are
encrypted under a passphrase (``$HOTCAST_PASSPHRASE`` or a prompt); what leaves a root home is
public: the self-signed root set (``root.pub``), signed key sets, root rotations.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from center.cli_output import check_out
from center.errors import UsageError
from center.registry.secretfile import write_public_file
from center.root.home import RootHome

ROLE = "root"


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None


def _write(path: str, data: bytes, force: bool) -> None:
    check_out(path, allow_stdout=False)
    if Path(path).exists() and not force:
        raise UsageError(f"{path} exists: give --force to overwrite it")
    write_public_file(Path(path), data)


def _ids(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError:
        raise UsageError(f"bad key ids {text!r}: want N[,N...]") from None


def _open(args, ctx) -> RootHome:
    return RootHome.open(ctx.home(args, ROLE), lambda: ctx.passphrase("root keys"))


def cmd_init(args, ctx) -> int:
    path = ctx.home(args, ROLE, creating=True)
    home = RootHome.init(path, keys=args.keys, threshold=args.threshold,
                         passphrase=lambda: ctx.passphrase("the new root keys", confirm=True))
    pub = home.root_set_bytes(1)
    if args.out_pub:
        _write(args.out_pub, pub, args.force)
    ctx.emit({"home": str(path), "root_set": 1, "keys": args.keys, "threshold": args.threshold,
              "root_pub": args.out_pub})
    return 0


def cmd_sign_keyset(args, ctx) -> int:
    home = _open(args, ctx)
    signed = home.sign_keyset(_read(args.request, "key set request"), new_epoch=args.new_epoch)
    _write(args.out, signed, args.force)
    keyset = home.keysets()[-1]
    ctx.emit({"out": args.out, "key_set": keyset.version, "epoch": keyset.epoch,
              "signing_key_ids": [e.key_id for e in keyset.signing_keys],
              "master_ids": [keyset.master_ids.lo, keyset.master_ids.hi],
              "valid_from": keyset.valid_from, "expires": keyset.expires})
    return 0


def cmd_add_signatures(args, ctx) -> int:
    signed = _open(args, ctx).add_signatures(_read(args.input, "root set or key set"))
    _write(args.out, signed, args.force)
    ctx.emit({"out": args.out, "bytes": len(signed)})
    return 0


def cmd_rotate(args, ctx) -> int:
    signed = _open(args, ctx).rotate(add_keys=args.add_keys, remove=_ids(args.remove),
                                     threshold=args.threshold)
    _write(args.out, signed, args.force)
    root = _open(args, ctx).root_set()
    ctx.emit({"out": args.out, "root_set": root.version, "threshold": root.threshold,
              "key_ids": [i for i, _ in root.keys]})
    return 0


def cmd_split(args, ctx) -> int:
    other = _open(args, ctx).split(_ids(args.key_ids), args.to,
                                   lambda: ctx.passphrase("the other custodian's root keys",
                                                          confirm=True))
    ctx.emit({"home": args.to, "moved_key_ids": list(_ids(args.key_ids)),
              "other": str(other.path)})
    return 0


def cmd_export_pub(args, ctx) -> int:
    home = _open(args, ctx)
    _write(args.out, home.root_set_bytes(args.version), args.force)
    ctx.emit({"out": args.out, "root_set": args.version or home.root_set().version})
    return 0


def cmd_status(args, ctx) -> int:
    ctx.emit(_open(args, ctx).status())
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the ``hotcast root`` commands."""
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", help="root home folder (default $HOTCAST_HOME, else "
                                     "./hotcast-home)")
    force = argparse.ArgumentParser(add_help=False)
    force.add_argument("--force", action="store_true", help="overwrite an existing output file")

    def add(name, func, text, *parents):
        p = sub.add_parser(name, parents=[home, *parents], help=text, description=text)
        p.set_defaults(func=func)
        return p

    p = add("init", cmd_init, "make a new root of trust: N Ed25519 keys, K of which sign", force)
    p.add_argument("--keys", type=int, default=1, metavar="N", help="root keys (default 1)")
    p.add_argument("--threshold", type=int, default=1, metavar="K", help="signatures needed "
                   "(default 1)")
    p.add_argument("--out-pub", metavar="FILE", help="also write the public root set here "
                   "(give it to `center init --root-pub`)")
    p = add("sign-keyset", cmd_sign_keyset, "sign a center's key set request", force)
    p.add_argument("--request", required=True, metavar="FILE", help="keyset-request.hcq from "
                   "the center")
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--new-epoch", action="store_true", help="start a new epoch of list sequence "
                   "numbers (recovers terminals a stolen key pushed to an absurd seq)")
    p = add("add-signatures", cmd_add_signatures, "add this custodian's signatures to a root "
            "set or key set", force)
    p.add_argument("--in", dest="input", required=True, metavar="FILE")
    p.add_argument("--out", required=True, metavar="FILE")
    p = add("rotate", cmd_rotate, "make the next root set (add or remove keys, change the "
            "threshold), signed by old and new keys", force)
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--add-keys", type=int, default=0, metavar="N")
    p.add_argument("--remove", metavar="IDS", help="root key ids to drop, N[,N...]")
    p.add_argument("--threshold", type=int, metavar="K")
    p = add("split", cmd_split, "move some root keys into another root home (another custodian)")
    p.add_argument("--key-ids", required=True, metavar="IDS")
    p.add_argument("--to", required=True, metavar="DIR")
    p = add("export-pub", cmd_export_pub, "write a public root set", force)
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--version", type=int, metavar="N", help="root set version (default newest)")
    add("status", cmd_status, "show the root sets and key sets of this root home")
