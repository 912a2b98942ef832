"""Several serving processes on one listening socket (``tierwise serve --workers N``).

The parent binds the socket, forks the workers (each builds its own app, recorder and upstream
pool after the fork, so no thread crosses it), and forwards SIGTERM and SIGINT to them. The
kernel hands each new connection to one worker. What every worker shares goes through the
store: records, and budgets (reserved atomically, so a cap holds across workers). What each
keeps for itself: conversation pins and sessions (a keep-alive connection stays on one
worker), and its Prometheus counters.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Callable
from types import FrameType


def run_workers(count: int, work: Callable[[], int]) -> int:
    """Run ``work`` in ``count`` forked processes until they all exit; the first non-zero exit
    code, else 0. SIGTERM or SIGINT to the parent reaches every worker as SIGTERM: a worker
    that also got the terminal's Ctrl-C (it shares the process group) sees a second stop
    request, which uvicorn counts as one, so it still drains instead of being forced off."""
    pids: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                code = work()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        pids.append(pid)

    def forward(signum: int, frame: FrameType | None) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # that worker has already exited
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return next((code for code in codes if code != 0), 0)
