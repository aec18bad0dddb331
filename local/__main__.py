"""``python -m local`` (``make local``): the whole system offline, in the foreground, until Ctrl-C.

SIGINT and SIGTERM stop everything in order (API, poller, containers, stand-in, moto) and exit 0.
Settings: ``LOCAL_*`` environment variables, listed in docs/local-stack.md.
"""

from __future__ import annotations

import time

LAUNCHED = time.monotonic()  # before the heavy imports: "ready in N s" counts them

import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from types import FrameType  # noqa: E402

from imagegen_core.env_settings import ConfigError  # noqa: E402
from local.stack import LocalStack, StackSettings  # noqa: E402


def main() -> int:
    if len(sys.argv) > 1:
        print(
            __doc__.strip() if sys.argv[1] in ("-h", "--help") else f"unexpected argument {sys.argv[1]!r}; see --help"
        )
        return 0 if sys.argv[1] in ("-h", "--help") else 2
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            print(f"\n{signal.Signals(signum).name}: stopping the local stack...", flush=True)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack = LocalStack(StackSettings.from_env())
    except ConfigError as exc:  # a bad LOCAL_* value: the message names the variable
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        stack.start(launched=LAUNCHED)
        stopping.wait()
    except OSError as exc:
        print(f"error: {exc} (is another local stack running? change LOCAL_*_PORT)", file=sys.stderr)
        return 1
    except ValueError as exc:  # a bad LOCAL_*/BEDROCK_STANDIN_* value, or a template the stack cannot read
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        stack.stop()
    print("local stack stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
