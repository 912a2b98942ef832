"""The record writer process: a ``Recorder`` fed by ``ProcessRecorder`` through a socket.

``python -m tierwise.ledger.writer_child FD CONFIG`` is what ``tierwise serve`` starts (see
``tierwise.ledger.writer_process``). Each record arrives as the packed list of its field
values (``writer_wire``) and, for a routed request, what capturing its routing inputs needs;
they are captured here, off the proxy's event loop. The child ignores SIGINT and SIGTERM: the
proxy decides when it stops (``close``), or it stops when the proxy's end of the socket closes.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tierwise.core.request import RouteRequest
from tierwise.ledger.recorder import Recorder, RecorderStats
from tierwise.ledger.records import FIELD_NAMES, DecisionRecord
from tierwise.ledger.writer_wire import unpack
from tierwise.messages.inputs import RoutingInputs, Vocabulary

_log = logging.getLogger("tierwise.ledger.writer_child")
_REQUEST_ID = FIELD_NAMES.index("request_id")
_ROUTING_INPUTS = FIELD_NAMES.index("routing_inputs")

STATS_EVERY = 0.5  # seconds between two snapshots of the counters sent to the proxy
# what the child needs to capture a record's routing inputs: the request's text, system prompt,
# context and task tokens, background flag, the body's prefill and pinning, the vocabulary digest
InputsJob = tuple[str, str, int | None, int | None, bool, bool, bool, str]


def run_writer(conn: Connection, url: str, spool_dir: str, options: dict[str, Any]) -> None:
    """The child process: a ``Recorder`` on the store at ``url``, fed from ``conn``."""
    from tierwise.ledger.store import Spool, Store

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    recorder = Recorder(Store(url), spool=Spool(Path(spool_dir)), **options)
    vocabularies: dict[str, Vocabulary] = {}
    unreadable = 0  # records that arrived but could not be read back: lost, so counted

    def counters() -> RecorderStats:
        stats = recorder.stats()
        return replace(stats, dropped=stats.dropped + unreadable) if unreadable else stats

    timeout = 30.0
    last: RecorderStats | None = None
    try:
        while True:
            if not conn.poll(STATS_EVERY):
                stats = counters()
                if stats != last:
                    conn.send(("stats", stats))
                    last = stats
                continue
            message = conn.recv()
            if message[0] == "records":
                for blob in message[1]:
                    try:
                        record = rebuild(blob, vocabularies)
                    except Exception:  # pragma: no cover - a bug
                        _log.exception("could not read a record from the proxy")
                        unreadable += 1
                        continue
                    recorder.record(record)
            elif message[0] == "vocabulary":
                vocabularies[message[1]] = message[2]
            elif message[0] == "flush":
                done = recorder.flush(message[2])
                conn.send(("flushed", message[1], done, counters()))
            elif message[0] == "close":
                timeout = message[1]
                break
    except (EOFError, OSError):  # the proxy is gone: write out what we hold
        timeout = 10.0
    recorder.close(timeout)
    with suppress(OSError):
        conn.send(("closed", counters()))
    conn.close()


def rebuild(blob: bytes, vocabularies: Mapping[str, Vocabulary]) -> DecisionRecord:
    """The record ``record()`` packed, with its routing inputs captured now (without them
    when its policy's vocabulary is unknown or capturing fails: a record is never lost for it)."""
    values, job = unpack(blob)
    if job is None:
        return DecisionRecord(*values)
    text, system, context_tokens, task_tokens, background, prefill, pinning, digest = job
    vocabulary = vocabularies.get(digest)
    if vocabulary is None:
        return DecisionRecord(*values)
    try:
        request = RouteRequest(
            text=text,
            system=system,
            context_tokens=context_tokens,
            task_tokens=task_tokens,
            background=background,
        )
        inputs = RoutingInputs.of_parts(request, vocabulary, None, prefill, pinning).as_json()
    except Exception:
        _log.exception("request %s: routing inputs not captured", values[_REQUEST_ID])
        return DecisionRecord(*values)
    values[_ROUTING_INPUTS] = inputs  # set before building: a frozen record's copy costs twice
    return DecisionRecord(*values)


def main(argv: list[str]) -> None:
    """``python -m tierwise.ledger.writer_child FD CONFIG``: what ``ProcessRecorder`` runs."""
    config = json.loads(argv[1])
    run_writer(Connection(int(argv[0])), config["url"], config["spool"], config["options"])


if __name__ == "__main__":
    main(sys.argv[1:])
