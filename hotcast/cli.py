"""The ``hotcast`` command: a table from the first word to the module that handles it.

No logic lives here; each group parses its own arguments and returns an exit status
(0 done, 2 bad usage or input, 1 any other failure; see shared/CONTRACT.md).
"""

from __future__ import annotations

import importlib
import sys

# group word -> (module, whether the module wants the group word itself in argv)
GROUPS: dict[str, tuple[str, bool]] = {
    "center": ("center.cli", False),
    "terminal": ("receiver.cli", True),
    "receiver": ("receiver.cli", True),
    "bench": ("hotcast.benchcmd", False),
    "demo": ("hotcast.demo", False),
}

USAGE = """usage: hotcast {center,terminal,receiver,bench,demo} ...

  center     the center: registry, keys, bundles, rendering the carousel
  terminal   a terminal's store: init, apply bundles, check cards, status
  receiver   the radio receiver: profiles, decode files or stdin, listen live
  bench      throughput and link-quality benchmarks
  demo       the main job end to end on the embedded defaults

Run `hotcast GROUP --help` for the commands of a group.
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    entry = GROUPS.get(args[0])
    if entry is None:
        sys.stderr.write(f"hotcast: unknown command {args[0]!r}\n{USAGE}")
        return 2
    module_name, keep_word = entry
    module = importlib.import_module(module_name)
    return module.main(args if keep_word else args[1:])


if __name__ == "__main__":
    sys.exit(main())
