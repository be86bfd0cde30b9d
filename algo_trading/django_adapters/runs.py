"""Live strategy runs: validate a request, record it as a ``StrategyRun``, run it, stop it.

A run is a ``LiveSession`` (algo_trading.live) over a ``ChannelTransport`` in the current event
loop, trading under an account like any client: its orders go to the matching worker as
``orders.submit`` with origin "strategy", its reports come from ``account.<id>``. The row is
updated every couple of seconds (bars, orders, fills, position, P&L) and is also how a run is
stopped from elsewhere: ``stop_requested`` is polled, so ``POST /api/strategies/runs/<id>/stop/``
reaches a run started by ``manage.py run_strategy`` in another process (over Redis).

Runs started from the API live inside ``manage.py serve`` (the embedded in-memory channel
layer reaches only its own process): ``run_strategy_service`` attaches the process-wide
``manager`` to serve's event loop; views hand it run ids from their threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import registry
from ..costs import CostConfigError
from ..live import LiveBroker, LiveSession, OrderClient, run_session
from ..live.session import SOURCES
from ..params import ParameterError
from ..registry import UnknownStrategyError
from ..sizing import sizer_from_spec
from .instruments import active_spec
from .transport import ChannelTransport

log = logging.getLogger("tradingsim.strategies")

SAVE_EVERY = 2.0  # seconds between writes of a run's counters and P&L
MIN_BAR_SECONDS, MAX_BAR_SECONDS = 0.5, 86_400.0
Echo = Callable[[str], None]


class RunRequestError(ValueError):
    """A live run request is invalid; ``field`` names the part (the API's 400 key)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class LiveConfig:
    """How a run trades: bar size, the cash it may use, sizing, its market data, stop policy."""

    bar_seconds: float = 5.0
    cash: str = "100000"
    sizing: dict | None = None
    source: str = "both"
    flatten_on_stop: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def validate_run(
    strategy: str, symbol: str, params: dict | None, config: LiveConfig
) -> tuple[str, str, dict[str, Any], LiveConfig]:
    """Check everything before anything is written; returns the normalised request.

    Raises RunRequestError(field, message).
    """
    if not isinstance(strategy, str) or not strategy:
        raise RunRequestError("strategy", f"choose one of: {', '.join(registry.names())}")
    if params is not None and not isinstance(params, dict):
        raise RunRequestError("params", "must be an object of name: value")
    try:
        instance = registry.create(strategy, dict(params or {}))
    except UnknownStrategyError as exc:
        raise RunRequestError("strategy", str(exc)) from None
    except ParameterError as exc:
        raise RunRequestError("params", str(exc)) from None
    if not isinstance(symbol, str) or not symbol.strip():
        raise RunRequestError("symbol", "a symbol such as AAPL is required")
    try:
        spec = active_spec(symbol)
    except ValueError as exc:
        raise RunRequestError("symbol", str(exc)) from None
    try:
        bar_seconds = float(config.bar_seconds)
    except (TypeError, ValueError):
        raise RunRequestError("bar_seconds", "must be a number of seconds") from None
    if not MIN_BAR_SECONDS <= bar_seconds <= MAX_BAR_SECONDS:
        raise RunRequestError(
            "bar_seconds", f"must be between {MIN_BAR_SECONDS:g} and {MAX_BAR_SECONDS:g}"
        )
    try:
        cash = Decimal(str(config.cash))
    except (InvalidOperation, ValueError):
        raise RunRequestError("cash", "must be a positive amount") from None
    if not cash.is_finite() or cash <= 0 or cash > Decimal("1e12"):
        raise RunRequestError("cash", "must be a positive amount (at most 1e12)")
    try:
        sizer_from_spec(config.sizing)
    except CostConfigError as exc:
        raise RunRequestError("sizing", str(exc)) from None
    if config.source not in SOURCES:
        raise RunRequestError("source", f"must be one of {', '.join(SOURCES)}")
    normalised = LiveConfig(
        bar_seconds=bar_seconds,
        cash=format(cash.normalize(), "f"),
        sizing=dict(config.sizing) if config.sizing else None,
        source=config.source,
        flatten_on_stop=bool(config.flatten_on_stop),
    )
    return instance.name, spec.symbol, instance.params, normalised


def create_run(
    account: Any,
    strategy: str,
    symbol: str,
    params: dict | None,
    config: LiveConfig,
    origin: str = "api",
) -> Any:
    """Validate, then write the StrategyRun row (status "starting")."""
    from trading_app.models import StrategyRun

    name, symbol, params, config = validate_run(strategy, symbol, params, config)
    return StrategyRun.objects.create(
        account=account,
        strategy=name,
        symbol=symbol,
        params=params,
        config=config.as_json(),
        origin=origin,
    )


def request_stop(run: Any) -> Any:
    """Ask a run to stop (wherever it runs); returns the refreshed row."""
    from django.utils import timezone

    from trading_app.models import StrategyRun

    if run.status in (StrategyRun.STARTING, StrategyRun.RUNNING):
        StrategyRun.objects.filter(pk=run.pk, status__in=StrategyRun.ACTIVE).update(
            stop_requested=True, status=StrategyRun.STOPPING, updated_at=timezone.now()
        )
    manager.stop(run.pk)
    run.refresh_from_db()
    return run


class LiveRunner:
    """Runs one StrategyRun row in the running event loop until stopped."""

    def __init__(self, run_id: int, *, layer: Any = None, echo: Echo | None = None) -> None:
        self.run_id = run_id
        self.layer = layer
        self.echo = echo
        self.session: LiveSession | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"strategy-{run_id}")
        self.ready = asyncio.Event()

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self._run(stop)
        finally:
            with contextlib.suppress(Exception):
                await self._db(_close_connection)
            self.executor.shutdown(wait=False)

    async def _run(self, stop: asyncio.Event) -> None:
        from django.conf import settings

        try:
            row, spec = await self._db(_load, self.run_id)
            config = LiveConfig(
                **{k: v for k, v in row.config.items() if k in LiveConfig.__dataclass_fields__}
            )
            strategy = registry.create(row.strategy, row.params)
            transport = ChannelTransport(self.layer, prefix="strategy")
            client = OrderClient(
                row.account_id,
                {spec.symbol: spec},
                transport.send,
                origin="strategy",
                shards=settings.MATCHING_SHARDS,
                prefix=row.client_order_prefix,
            )
            broker = LiveBroker(client, spec, Decimal(config.cash))
            session = self.session = LiveSession(
                strategy,
                broker,
                bar_seconds=float(config.bar_seconds),
                source=config.source,
                sizer=sizer_from_spec(config.sizing),
                flatten_on_stop=config.flatten_on_stop,
                listener=self._listen,
            )
        except Exception as exc:
            log.exception("strategy run %s could not start", self.run_id)
            await self._db(_finish, self.run_id, None, f"{type(exc).__name__}: {exc}")
            self.ready.set()
            return
        await self._db(_mark_running, self.run_id)
        self._say(
            f"run {self.run_id}: {row.strategy} {row.params} on {spec.symbol} for account "
            f"{row.account_id}, {config.bar_seconds:g}s bars from {config.source}"
        )
        inner = asyncio.Event()
        watcher = asyncio.ensure_future(self._watch(stop, inner))
        self.ready.set()
        error = None
        try:
            await run_session(session, transport, inner)
        except Exception as exc:
            log.exception("strategy run %s failed", self.run_id)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._db(_finish, self.run_id, session.snapshot(), error)
        snap = session.snapshot()
        self._say(
            f"run {self.run_id} {'failed: ' + error if error else 'stopped'}: {snap['bars']} bars, "
            f"{snap['orders']} orders, {snap['fills']} fills, position {snap['position']}, "
            f"P&L {_money(snap['pnl'])}"
        )

    async def _watch(self, stop: asyncio.Event, inner: asyncio.Event) -> None:
        """Save progress every SAVE_EVERY seconds; end the session on stop or stop_requested."""
        while not inner.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAVE_EVERY)
            if stop.is_set():
                inner.set()
                return
            try:
                requested = await self._db(_save, self.run_id, self.session.snapshot())
            except Exception:
                log.exception("could not save strategy run %s", self.run_id)
                continue
            if requested:
                inner.set()

    def _listen(self, kind: str, value: Any) -> None:
        if self.echo is None:
            return
        session = self.session
        if kind == "bar":
            snap = session.snapshot()
            self.echo(
                f"bar {value.time:%H:%M:%S} O {value.open:.2f} H {value.high:.2f} "
                f"L {value.low:.2f} C {value.close:.2f} V {value.volume:g} | position "
                f"{snap['position']} | P&L {_money(snap['pnl'])}"
            )
        elif kind == "fill":
            self.echo(
                f"fill: {value.side} {value.qty} {session.symbol} @ {value.price:.2f} "
                f"(position {session.broker.position()})"
            )
        elif kind == "reject":
            self.echo(f"rejected: {value.order.side} {value.order.qty}: {value.reason}")
        elif kind == "canceled":
            self.echo(
                f"canceled by the exchange: {value.order.side} {value.order.remaining}: "
                f"{value.reason}"
            )

    def _say(self, line: str) -> None:
        if self.echo is not None:
            self.echo(line)
        else:
            log.info(line)


def _money(value: Any) -> str:
    return format(Decimal(value).quantize(Decimal("0.01")), "f")


# ------------------------------------------------------------------------------ database (sync)


def _close_connection() -> None:
    from django.db import connection

    connection.close()


def _load(run_id: int):
    from trading_app.models import StrategyRun

    row = StrategyRun.objects.get(pk=run_id)
    return row, active_spec(row.symbol)


def _mark_running(run_id: int) -> None:
    from django.utils import timezone

    from trading_app.models import StrategyRun

    StrategyRun.objects.filter(pk=run_id, status=StrategyRun.STARTING).update(
        status=StrategyRun.RUNNING, updated_at=timezone.now()
    )


def _fields(snapshot: dict) -> dict[str, Any]:
    cents = Decimal("0.0001")
    return {
        "bars": snapshot["bars"],
        "orders": snapshot["orders"],
        "fills": snapshot["fills"],
        "rejects": snapshot["rejects"],
        "last_reject": snapshot["last_reject"][:255],
        "position": snapshot["position"],
        "avg_cost": Decimal(snapshot["avg_cost"]).quantize(Decimal("0.000001")),
        "realized_pnl": Decimal(snapshot["realized_pnl"]).quantize(cents),
        "unrealized_pnl": Decimal(snapshot["unrealized_pnl"]).quantize(cents),
        "last_price": snapshot["last_price"],
    }


def _save(run_id: int, snapshot: dict) -> bool:
    """Write the counters; True if someone asked the run to stop."""
    from django.utils import timezone

    from trading_app.models import StrategyRun

    StrategyRun.objects.filter(pk=run_id).update(**_fields(snapshot), updated_at=timezone.now())
    return StrategyRun.objects.filter(pk=run_id, stop_requested=True).exists()


def _finish(run_id: int, snapshot: dict | None, error: str | None) -> None:
    from django.utils import timezone

    from trading_app.models import StrategyRun

    fields: dict[str, Any] = _fields(snapshot) if snapshot else {}
    now = timezone.now()
    StrategyRun.objects.filter(pk=run_id).update(
        **fields,
        status=StrategyRun.FAILED if error else StrategyRun.STOPPED,
        error=error or "",
        stopped_at=now,
        updated_at=now,
    )


# ------------------------------------------------------------------------------ in-process runs


class RunManager:
    """The runs of this process, in the event loop ``run_strategy_service`` attached."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.layer: Any = None
        self.tasks: dict[int, asyncio.Task] = {}
        self.stops: dict[int, asyncio.Event] = {}

    @property
    def available(self) -> bool:
        return self.loop is not None and self.loop.is_running()

    def attach(self, loop: asyncio.AbstractEventLoop, layer: Any = None) -> None:
        self.loop, self.layer = loop, layer

    def detach(self) -> None:
        self.loop = None
        self.layer = None

    def start(self, run_id: int) -> bool:
        """Start a run in the attached loop (callable from any thread); False if none."""
        loop = self.loop
        if loop is None or not loop.is_running():
            return False
        loop.call_soon_threadsafe(self._start, run_id)
        return True

    def _start(self, run_id: int) -> None:
        if run_id in self.tasks:
            return
        stop = asyncio.Event()
        runner = LiveRunner(run_id, layer=self.layer)
        task = asyncio.ensure_future(runner.run(stop))
        self.tasks[run_id], self.stops[run_id] = task, stop

        def done(_task: asyncio.Task, rid: int = run_id) -> None:
            self.tasks.pop(rid, None)
            self.stops.pop(rid, None)

        task.add_done_callback(done)

    def stop(self, run_id: int) -> bool:
        """Signal an in-process run to stop (callable from any thread)."""
        loop = self.loop
        if loop is None or run_id not in self.stops:
            return False
        loop.call_soon_threadsafe(self.stops[run_id].set)
        return True

    async def stop_all(self, timeout: float = 10.0) -> None:
        for event in list(self.stops.values()):
            event.set()
        tasks = list(self.tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


manager = RunManager()


def _abandon_stale_api_runs() -> int:
    """API runs live in serve's loop only: left active, they died with the previous server."""
    from django.utils import timezone

    from trading_app.models import StrategyRun

    now = timezone.now()
    return StrategyRun.objects.filter(origin="api", status__in=StrategyRun.ACTIVE).update(
        status=StrategyRun.FAILED,
        error="the server stopped while this run was active",
        stopped_at=now,
        updated_at=now,
    )


async def run_strategy_service(stop: asyncio.Event) -> None:
    """`manage.py serve`'s host for runs started through the API."""
    from asgiref.sync import sync_to_async

    stale = await sync_to_async(_abandon_stale_api_runs)()
    if stale:
        log.info("marked %d strategy run(s) of a previous server as failed", stale)
    manager.attach(asyncio.get_running_loop())
    try:
        await stop.wait()
    finally:
        manager.detach()
        await manager.stop_all()
