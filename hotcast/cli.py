"""The ``hotcast`` command: one parser tree over every group, run by ``hotcast.runner``.

No logic lives here: a table of groups (each group module registers its commands), ``--version``
and ``help``. A group's modules are imported when its commands are registered, and ``main``
registers only the group the command line names (all of them for help and usage errors): a
command pays for its own imports only (``receiver decode`` does not load the center, its web
service or matplotlib: about a second of start-up). Exit statuses: see ``hotcast.runner``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from importlib import metadata

from hotcast.runner import Context, HotcastParser, run_parsed

# group word -> (one-line help, the modules whose ``add_commands`` register its commands). A
# single command (``demo``, ``bench``, ...) is one module with ``add_arguments`` and ``run``.
GROUPS = {
    "center": ("the center: registry, keys, bundles, what goes on air",
               ("center.cli", "center.air.cli")),
    "root": ("the offline root of trust: root keys, key sets, root rotations",
             ("center.root.cli",)),
    "terminal": ("a terminal's store: init, apply bundles, check cards, status",
                 ("receiver.cli",)),
    "receiver": ("the radio receiver: profiles, decode files or stdin, listen live, monitor",
                 ("receiver.radio.cli",)),
}
SINGLE = {
    "demo": ("the main job end to end on the embedded defaults", "hotcast.demo"),
    "bench": ("decoding speed, stages, memory, link quality and peers in one report",
              "hotcast.bench.command"),
    "devices": ("list RTL-SDR dongles and sound cards", "hotcast.devices"),
    "plot": ("draw a capture's spectrum and constellation, or a decode log's quality, as PNG",
             "hotcast.plots"),
}


def version() -> str:
    try:
        return metadata.version("hotcast")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser(only: str | None = None) -> HotcastParser:
    """The parser of every command; with ``only`` (a group or single command's word), the
    others are listed by name but their modules are not imported."""
    parser = HotcastParser(prog="hotcast", description="Broadcast hot-card lists one way to "
                           "offline payment terminals (FM subcarrier, audio, infrared).")
    parser.add_argument("--version", action="version", version=f"hotcast {version()}")
    top = parser.add_subparsers(dest="group", metavar="GROUP", parser_class=HotcastParser)
    for name, (text, modules) in GROUPS.items():
        group = top.add_parser(name, help=text, description=text)
        if only is not None and name != only:
            continue
        sub = group.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                   parser_class=HotcastParser)
        for module in modules:
            importlib.import_module(module).add_commands(sub)
    for name, (text, module_name) in SINGLE.items():
        if only is not None and name != only:
            top.add_parser(name, help=text)
            continue
        module = importlib.import_module(module_name)
        p = top.add_parser(name, help=text, description=module.__doc__.split("\n\n")[0])
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    helper = top.add_parser("help", help="show the commands of hotcast or of one group",
                            description="show the commands of hotcast or of one group")
    helper.add_argument("topic", nargs="?", metavar="GROUP")
    helper.set_defaults(func=None)
    return parser


def _help(parser: HotcastParser, topic: str | None) -> int:
    if topic is None:
        parser.print_help()
        return 0
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if topic not in sub.choices or topic == "help":
        sys.stderr.write(f"hotcast help: no group {topic!r}; groups: "
                         f"{', '.join(n for n in sub.choices if n != 'help')}\n")
        return 2
    sub.choices[topic].print_help()
    return 0


def main(argv: list[str] | None = None) -> int:
    # Run as the program (no argv given): the command's start-up counts from process start, so
    # it includes the interpreter and the imports; called in-process, from here.
    started_cpu_s = 0.0 if argv is None else time.process_time()
    args_in = sys.argv[1:] if argv is None else list(argv)
    word = args_in[0] if args_in else None
    parser = build_parser(word if word in GROUPS or word in SINGLE else None)
    try:
        args = parser.parse_args(args_in)
    except SystemExit as exc:  # argparse: 2 after a usage message, 0 after --help/--version
        return int(exc.code or 0)
    if args.group is None:
        parser.print_help(sys.stderr)
        return 2
    if args.group == "help":
        return _help(parser, args.topic)
    prog = " ".join(["hotcast", args.group] + ([args.command] if getattr(args, "command", None)
                                                else []))
    return run_parsed(args, Context(prog, started_cpu_s=started_cpu_s), args.func)


if __name__ == "__main__":
    sys.exit(main())
