"""Runs the stand-in SMS and push provider: ``python -m services.sms_standin``.

Every option can also come from the environment: ``VAXBOOK_SMS_STANDIN_HOST``
(``127.0.0.1``), ``VAXBOOK_SMS_STANDIN_PORT`` (``8091``, where
``VAXBOOK_NOTIFICATION_SMS_URL`` points by default),
``VAXBOOK_SMS_STANDIN_FAIL_NEXT`` (refuse the first N messages),
``VAXBOOK_SMS_STANDIN_FAIL_ALWAYS`` (``true`` to refuse every message) and
``VAXBOOK_SMS_STANDIN_STATUS_CODE`` (``503``). Options given on the command
line win.
"""

from __future__ import annotations

import argparse
import os
import sys

from services.common import logs
from services.common.standin import serve
from services.sms_standin.app import Faults, FaultsInvalid, Standin, create_app


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m services.sms_standin",
        description="A stand-in SMS and push provider with configurable failures.",
    )
    parser.add_argument("--host", default=env("VAXBOOK_SMS_STANDIN_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(env("VAXBOOK_SMS_STANDIN_PORT", "8091"))
    )
    parser.add_argument(
        "--fail-next",
        type=int,
        default=int(env("VAXBOOK_SMS_STANDIN_FAIL_NEXT", "0")),
        help="refuse this many messages first",
    )
    parser.add_argument(
        "--fail-always",
        action="store_true",
        default=env("VAXBOOK_SMS_STANDIN_FAIL_ALWAYS", "").lower() == "true",
        help="refuse every message",
    )
    parser.add_argument(
        "--status-code",
        type=int,
        default=int(env("VAXBOOK_SMS_STANDIN_STATUS_CODE", "503")),
        help="the HTTP status refusals answer with",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    logs.configure("sms_standin", os.environ.get("VAXBOOK_LOG_LEVEL", "INFO"))
    args = parse_args(argv)
    try:
        faults = Faults(args.fail_next, args.fail_always, args.status_code)
    except FaultsInvalid as error:
        sys.stderr.write(f"sms stand-in: {error}\n")
        return 2
    # Ctrl-C and SIGTERM finish open requests, then exit with status 0.
    serve(create_app(Standin(faults)), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
