"""Runs the stand-in insurance API: ``python -m services.insurance_standin``.

Every option can also come from the environment: ``VAXBOOK_STANDIN_HOST``
(``127.0.0.1``), ``VAXBOOK_STANDIN_PORT`` (``8090``, where
``VAXBOOK_INSURANCE_URL`` points by default), ``VAXBOOK_STANDIN_LATENCY_SECONDS``,
``VAXBOOK_STANDIN_ERROR_RATE``, ``VAXBOOK_STANDIN_OUTAGES`` (windows in seconds
from start, ``30-60,120-150``), ``VAXBOOK_STANDIN_SEED`` and
``VAXBOOK_STANDIN_INSURED`` (comma-separated refs; unset: refs ending in an even
digit are insured). Options given on the command line win.
"""

from __future__ import annotations

import argparse
import os
import sys

from services.common import logs
from services.common.standin import serve
from services.insurance_standin.app import Faults, FaultsInvalid, Standin, create_app


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m services.insurance_standin",
        description="A stand-in insurance API with configurable faults.",
    )
    parser.add_argument("--host", default=env("VAXBOOK_STANDIN_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(env("VAXBOOK_STANDIN_PORT", "8090"))
    )
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=float(env("VAXBOOK_STANDIN_LATENCY_SECONDS", "0")),
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=float(env("VAXBOOK_STANDIN_ERROR_RATE", "0")),
        help="share of coverage calls answered 500, from 0 to 1",
    )
    parser.add_argument(
        "--outages",
        default=env("VAXBOOK_STANDIN_OUTAGES", ""),
        help="outage windows in seconds from start, e.g. 30-60,120-150",
    )
    seed = env("VAXBOOK_STANDIN_SEED")
    parser.add_argument("--seed", type=int, default=int(seed) if seed else None)
    parser.add_argument(
        "--insured",
        default=env("VAXBOOK_STANDIN_INSURED"),
        help="comma-separated insured refs (default: refs ending in an even digit)",
    )
    return parser.parse_args(argv)


def parse_windows(text: str) -> tuple[tuple[float, float], ...]:
    """``30-60,120-150`` as ``((30.0, 60.0), (120.0, 150.0))``."""
    windows = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        start, sep, end = part.partition("-")
        try:
            windows.append((float(start), float(end)))
        except ValueError:
            raise FaultsInvalid(f"outages: {part!r} is not START-END") from None
        if not sep:
            raise FaultsInvalid(f"outages: {part!r} is not START-END")
    return tuple(windows)


def build_standin(args: argparse.Namespace) -> Standin:
    faults = Faults(
        latency_seconds=args.latency_seconds,
        error_rate=args.error_rate,
        outage_windows=parse_windows(args.outages),
        seed=args.seed,
    )
    insured = None
    if args.insured is not None:
        insured = frozenset(r.strip() for r in args.insured.split(",") if r.strip())
    return Standin(faults, insured)


def main(argv: list[str]) -> int:
    logs.configure("insurance_standin", os.environ.get("VAXBOOK_LOG_LEVEL", "INFO"))
    args = parse_args(argv)
    try:
        standin = build_standin(args)
    except FaultsInvalid as error:
        sys.stderr.write(f"insurance stand-in: {error}\n")
        return 2
    # Ctrl-C and SIGTERM finish open requests, then exit with status 0.
    serve(create_app(standin), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
