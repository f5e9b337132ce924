"""Command-line entry point: ``sctpinspect COMMAND ...``.

Each command lives in :mod:`sctpinspect.commands.<name>` and provides
``HELP`` (one line), ``DESCRIPTION`` (the --help text), ``add_arguments(parser)``
and ``run(args) -> int``.  ``sctpinspect FILE`` and ``sctpinspect -i IFACE``
open the terminal UI.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from . import __version__
from .errors import UserError

# Order is the order shown in --help.
COMMANDS = ["read", "capture", "assoc", "streams", "messages", "stats", "flow", "diagnose",
            "send", "listen", "craft", "tui",
            "export", "sql"]


def _load(name: str):
    try:
        return importlib.import_module(f"sctpinspect.commands.{name}")
    except ModuleNotFoundError as e:  # a command not built yet
        if e.name == f"sctpinspect.commands.{name}":
            return None
        raise


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of all commands, or of the one command ``only`` (its
    module alone is imported: start-up time counts on big reads)."""
    parser = argparse.ArgumentParser(
        prog="sctpinspect",
        description="Inspect SCTP (RFC 9260) traffic: decode pcap/pcapng files, capture live, "
                    "follow associations, and diagnose why two SCTP stacks fail to talk. "
                    "`sctpinspect FILE` or `sctpinspect -i IFACE` opens the terminal UI.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sctpinspect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else [only]:
        mod = _load(name)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `sctpinspect FILE` / `sctpinspect -i IFACE` open the TUI.
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        if _load("tui") is not None:
            argv.insert(0, "tui")
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(chosen)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"sctpinspect: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0


if __name__ == "__main__":  # pragma: no cover
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    raise SystemExit(main())
