"""The ``zkinfer`` command.

Sub-commands:

- ``zkinfer selfcheck [--log-n N]``: exercise field, NTT and sumcheck and print what was checked.

Exit status: 0 on success, 1 when a check or a verification fails, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys

from zkinfer.errors import ZkinferError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zkinfer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("selfcheck", help="check field, NTT and sumcheck on this machine")
    check.add_argument("--log-n", type=int, default=16, help="instance size 2^N (4..24, default 16)")
    check.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "selfcheck":
        if not 4 <= args.log_n <= 24:
            parser.error("--log-n must be in 4..24")
        from zkinfer import selfcheck

        try:
            selfcheck.run(args.log_n, args.seed)
        except (RuntimeError, ZkinferError) as exc:
            print(f"zkinfer: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
