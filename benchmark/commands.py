"""`fggp-bench`, the installed command: one entry point for the suite's commands.

    fggp-bench run ...      one run            (python -m benchmark.run)
    fggp-bench grid ...     a preset's grid    (python run_all.py)
    fggp-bench report ...   the report only    (python run_all.py --report-only)
    fggp-bench check REF    regression check   (python run_all.py --check REF)
    fggp-bench perf ...     speed figures      (python -m benchmark.perf)

Each subcommand hands its arguments to the command it names, unchanged, so the flags,
errors and exit codes are theirs; `run_all.py` stays the README's main command. Nothing
heavy is imported before a subcommand is chosen.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from benchmark.errors import EXIT_USER_ERROR

# subcommand -> (module, extra words put before the user's arguments, one-line help)
COMMANDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "run": ("benchmark.run", (), "train one configuration"),
    "grid": ("run_all", (), "run a preset's grid and write its report"),
    "report": ("run_all", ("--report-only",), "rebuild a grid's report from its stored runs"),
    "check": ("run_all", ("--check",), "regression check against a reference: check REF ..."),
    "perf": ("benchmark.perf", (), "measure the harness's speed"),
}


def usage() -> str:
    lines = ["usage: fggp-bench {" + ",".join(COMMANDS) + "} [arguments]", ""]
    lines += [f"  {name:<7} {help}" for name, (_, _, help) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or words[0] in ("-h", "--help"):
        print(usage())
        return 0 if words else EXIT_USER_ERROR
    name, rest = words[0], words[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n{usage()}", file=sys.stderr)
        return EXIT_USER_ERROR
    module, before, _ = COMMANDS[name]
    command: Callable[[list[str]], int | None] = importlib.import_module(module).main
    return command([*before, *rest]) or 0


if __name__ == "__main__":
    sys.exit(main())
