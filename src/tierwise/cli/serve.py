"""``tierwise serve``: the typer command. Imports nothing heavy until it runs.

``cli.py`` registers this function, so this module is imported by every ``tierwise`` command:
Starlette, uvicorn and aiohttp are imported inside the function body, not here.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tierwise.core.errors import TierwiseError
from tierwise.serving.defaults import DEFAULT_HOST, DEFAULT_MAX_BODY_MB, DEFAULT_PORT

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from tierwise.budgets.guard import BudgetGuard
    from tierwise.core.policy import Policy
    from tierwise.core.policy_schema import ProxyConfig
    from tierwise.ledger.outcome import Outcome, OutcomeHook
    from tierwise.ledger.recorder import Recorder
    from tierwise.ledger.store import Store
    from tierwise.ledger.writer_process import ProcessRecorder
    from tierwise.serving.metrics import ProxyMetrics
    from tierwise.serving.settings import ProxySettings
    from tierwise.serving.shadow.worker import ShadowWorker

LOOPBACK = ("127.0.0.1", "localhost", "::1")
RECORD_WRITER_ENV = "TIERWISE_RECORD_WRITER"  # "thread": write records from this process


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        DEFAULT_HOST
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    policy: Annotated[
        Path | None, typer.Option(help="Policy TOML file (default: the shipped policy).")
    ] = None,
    upstream: Annotated[
        str | None, typer.Option(help="Anthropic API base URL (default https://api.anthropic.com).")
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Name of an environment variable holding the proxy's own Anthropic key. "
            "Callers must then present a client key (--client-keys-file or TIERWISE_CLIENT_KEYS)."
        ),
    ] = None,
    client_keys_file: Annotated[
        Path | None, typer.Option(help="File of 'name: key' lines: the keys callers may present.")
    ] = None,
    max_body_mb: Annotated[
        float, typer.Option(help="Largest request body accepted, in MB (413 above).")
    ] = DEFAULT_MAX_BODY_MB,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Where to record decisions: a SQLite path or a postgresql:// URL "
            "(default: TIERWISE_DATABASE_URL, else tierwise.db in the data directory).",
        ),
    ] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Record every request's decision.")
    ] = True,
    store_prompts: Annotated[
        bool,
        typer.Option("--store-prompts", help="Also keep the prompt text (capped) in the records."),
    ] = False,
    metrics: Annotated[
        bool,
        typer.Option(
            "--metrics/--no-metrics",
            help="Serve Prometheus metrics at /metrics (client keys required when configured).",
        ),
    ] = True,
    connect_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds to open a connection upstream (default: policy, else 5)."),
    ] = None,
    read_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds of upstream silence allowed, before the answer and between stream "
            "chunks (default: policy, else 600)."
        ),
    ] = None,
    shutdown_grace: Annotated[
        float | None,
        typer.Option(
            help="Seconds in-flight requests get to finish on SIGTERM/SIGINT "
            "(default: policy, else 10)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Serving processes on the one port (records and budgets are shared through "
            "the store; pins, sessions and metrics are per process)."
        ),
    ] = 1,
) -> None:
    """Run the routing proxy: point ANTHROPIC_BASE_URL at it and ask for model "auto"."""
    from tierwise.serving.server import listen

    if workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        raise typer.Exit(2)
    build = partial(
        _build,
        host,
        port,
        policy,
        upstream,
        api_key_env,
        client_keys_file,
        max_body_mb,
        db=db,
        store_prompts=store_prompts,
        metrics=metrics,
        timeouts=Timeouts(connect_timeout, read_timeout, shutdown_grace),
    )
    try:
        # with workers, the parent only checks the configuration: it starts no thread (the
        # recorder's) that a fork could not carry; each worker builds its own app
        app, settings, aliases, recorder = build(record=record and workers == 1)
    except TierwiseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    try:
        sock = listen(settings.host, settings.port)  # a busy port fails before the banner
    except TierwiseError as exc:
        if recorder is not None:
            recorder.close()
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    _banner(settings, aliases, metrics=metrics, db=db if record else None, workers=workers)
    if workers == 1:
        _run(app, settings, recorder, sock)
        return
    from tierwise.serving.workers import run_workers

    def work() -> int:
        app, settings, _, recorder = build(record=record)
        _run(app, settings, recorder, sock)
        return 0

    code = run_workers(workers, work)
    sock.close()
    if code:
        raise typer.Exit(code)


def _banner(
    settings: ProxySettings, aliases: list[str], *, metrics: bool, db: str | None, workers: int
) -> None:
    """What runs where: the address, the upstream, the pages, the store."""
    from tierwise.ledger.store.paths import resolve

    mode = "server key, client keys required" if settings.server_key else "caller's own key"
    base = f"http://{settings.host}:{settings.port}"
    processes = f"; {workers} worker processes" if workers > 1 else ""
    print(
        f"tierwise proxy on {base} -> {settings.upstream.base_url} "
        f"(aliases: {', '.join(aliases)}; credentials: {mode}{processes})",
        file=sys.stderr,
    )
    pages = f"dashboard: {base}/dashboard" + (f"; metrics: {base}/metrics" if metrics else "")
    print(pages, file=sys.stderr)
    if settings.host not in LOOPBACK and settings.server_key is None:
        print(
            "note: listening beyond loopback; callers use their own Anthropic keys", file=sys.stderr
        )
    if db is not None or workers == 1:
        where = resolve(db, os.environ).display
        print(f"recording decisions to {where}", file=sys.stderr)


def _run(
    app: Starlette,
    settings: ProxySettings,
    recorder: Recorder | ProcessRecorder | None,
    sock: socket.socket,
) -> None:
    """Serve until SIGTERM/SIGINT, then flush the recorder and say what it wrote."""
    from tierwise.serving.server import serve

    try:
        serve(app, settings.host, settings.port, grace_seconds=settings.shutdown_grace, sock=sock)
    finally:
        sock.close()
        if recorder is not None:
            stats = recorder.close()
            waiting = recorder.spool.size().records
            spooled = f"; {waiting} waiting in {recorder.spool.directory}" if waiting else ""
            print(f"recorded {stats.recorded} decision(s){spooled}", file=sys.stderr)


def failure_line(outcome: Outcome) -> str | None:
    """One line for a request that failed or whose upstream failed on the way (a fallback), or
    ``None``: the request id, what was asked, what went wrong; never a key or the prompt."""
    failed = [a for a in outcome.attempts if a.error_type is not None or (a.status or 0) >= 400]
    if outcome.status < 400 and outcome.error_type is None and not failed:
        return None
    asked = outcome.requested_model or "-"
    head = f"request {outcome.request_id} {outcome.endpoint} model={asked}"
    if outcome.caller:
        head += f" caller={outcome.caller}"
    tries = "; ".join(
        f"{a.model}: {a.status if a.status is not None else 'no response'}"
        + (f" {a.error_type}" if a.error_type else "")
        + (f" after {a.retries} retries" if a.retries else "")
        for a in outcome.attempts
    )
    if outcome.status >= 400 or outcome.error_type is not None:
        what = f"failed: {outcome.status} {outcome.error_type or ''}".rstrip()
    else:
        what = f"served by {outcome.served_model} after upstream failures"
    return f"{head} {what}" + (f" (upstream: {tries})" if tries else "")


def _log_failures(hook: OutcomeHook) -> OutcomeHook:
    """``hook``, and a line on stderr for every failed request (see ``failure_line``)."""

    def logged(outcome: Outcome) -> None:
        line = failure_line(outcome)
        if line is not None:
            print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)
        hook(outcome)

    return logged


@dataclass(frozen=True)
class Timeouts:
    """The command line's timeouts; each one unset falls back to the policy's ``[proxy]``."""

    connect: float | None = None
    read: float | None = None
    shutdown_grace: float | None = None

    def apply(self, settings: ProxySettings, proxy: ProxyConfig) -> ProxySettings:
        """``settings`` with the timeouts in force: the command line's, else the policy's."""
        upstream = replace(
            settings.upstream,
            connect_timeout=proxy.connect_timeout if self.connect is None else self.connect,
            read_timeout=proxy.read_timeout if self.read is None else self.read,
        )
        grace = proxy.shutdown_grace if self.shutdown_grace is None else self.shutdown_grace
        return replace(settings, upstream=upstream, shutdown_grace=grace)


def _build(
    host: str,
    port: int,
    policy_path: Path | None,
    upstream: str | None,
    api_key_env: str | None,
    client_keys_file: Path | None,
    max_body_mb: float,
    *,
    db: str | None = None,
    record: bool = False,
    store_prompts: bool = False,
    metrics: bool = False,
    timeouts: Timeouts | None = None,
) -> tuple[Starlette, ProxySettings, list[str], Recorder | ProcessRecorder | None]:
    from tierwise.analysis.dashboard.routes import dashboard_routes
    from tierwise.core.policy import load_policy
    from tierwise.learned.pipeline import Router
    from tierwise.ledger.outcome import ignore_outcome
    from tierwise.messages.routing import MessagesRouter
    from tierwise.serving.app import create_app
    from tierwise.serving.settings import ProxySettings

    settings = ProxySettings.from_options(
        host=host,
        port=port,
        policy=policy_path,
        upstream_url=upstream,
        api_key_env=api_key_env,
        client_keys_file=client_keys_file,
        max_body_mb=max_body_mb,
        environ=os.environ,
    )
    policy = load_policy(policy_path)
    for warning in policy.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    settings = (timeouts or Timeouts()).apply(settings, policy.config.proxy)
    router = MessagesRouter(Router(policy))
    recorder = _recorder(db, policy, store_prompts=store_prompts) if record else None
    hook = _log_failures(recorder.record if recorder is not None else ignore_outcome)
    prometheus = _metrics(recorder) if metrics else None
    store = recorder.store if recorder is not None else None
    shadow = _shadow(policy, store, settings.server_key)
    budgets = _budgets(policy, store, named_callers=settings.client_keys is not None)
    app = create_app(
        router,
        settings,
        on_outcome=hook,
        metrics=prometheus,
        routes=dashboard_routes(store, router.router, settings.client_keys),
        shadow=shadow,
        budgets=budgets,
    )
    return app, settings, list(policy.config.aliases), recorder


def _budgets(policy: Policy, store: Store | None, *, named_callers: bool) -> BudgetGuard | None:
    """The budget guard when the policy sets budgets (warnings on stderr: see docs/budgets.md)."""
    from tierwise.budgets.setup import budget_guard

    setup = budget_guard(policy.config.budgets, store, named_callers=named_callers)
    for note in setup.notes:
        print(note, file=sys.stderr)
    return setup.guard


def _shadow(policy: Policy, store: Store | None, server_key: str | None) -> ShadowWorker | None:
    """The shadow worker when ``[shadow]`` is enabled and this proxy can pay for it (says why
    not on stderr otherwise: it needs recording and a server key)."""
    from tierwise.serving.shadow.setup import shadow_worker

    setup = shadow_worker(policy, store, server_key)
    if setup.note is not None:
        print(setup.note, file=sys.stderr)
    return setup.worker


def _metrics(recorder: Recorder | ProcessRecorder | None) -> ProxyMetrics:
    """The app's metrics; the app composes them with the recorder's hook."""
    from tierwise.serving.metrics import ProxyMetrics

    return ProxyMetrics(recorder)


def _recorder(db: str | None, policy: Policy, *, store_prompts: bool) -> Recorder | ProcessRecorder:
    """A recorder on the ``--db`` store (``StoreError`` for a URL it cannot use). A file or a
    server is written by a child process, so the database's work stays off the event loop's
    GIL (``tierwise.ledger.writer_process``); an in-memory database, or any with
    ``TIERWISE_RECORD_WRITER=thread``, by a thread of this one.
    Either connects and migrates in the background, spooling to disk until the store answers."""
    from tierwise.ledger.recorder import Recorder
    from tierwise.ledger.records import policy_fingerprint
    from tierwise.ledger.store import Store
    from tierwise.ledger.writer_process import ProcessRecorder

    store = Store(db, environ=os.environ)
    fingerprint = policy_fingerprint(policy)
    in_memory = store.backend == "sqlite" and store.path is None
    if in_memory or os.environ.get(RECORD_WRITER_ENV, "process") == "thread":
        return Recorder(store, policy_fingerprint=fingerprint, store_prompts=store_prompts)
    return ProcessRecorder(store, policy_fingerprint=fingerprint, store_prompts=store_prompts)
