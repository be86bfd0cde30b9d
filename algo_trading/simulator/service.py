"""The simulator's Django side: its accounts, leftovers of a previous run, the channel layer.

``run_simulator_service`` is what ``manage.py serve`` runs (settings.SIMULATION_SERVICES, off
with SIMULATE=0) at the gentle SIMULATOR_* settings; ``manage.py simulate_market`` calls
``run_simulator`` with its own options.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ..live.ledger import Ledger
from ..live.orders import InstrumentSpec, OrderClient
from .market import MarketSimulator, SimulatorConfig

log = logging.getLogger("tradingsim.simulator")


def prepare_accounts(config: SimulatorConfig) -> dict[str, dict[str, Any]]:
    """Create the agents' accounts (or top their cash up to ``config.cash``); return, per
    username, the account id and its current positions (the agents' starting inventory)."""
    from trading_app.models import Account, Position
    from trading_app.services.accounts import create_account

    cash = Decimal(config.cash)
    out: dict[str, dict[str, Any]] = {}
    for username, _kind in config.accounts():
        account = Account.objects.filter(user__username=username).first()
        if account is None:
            account, _ = create_account(username, secrets.token_urlsafe(24), cash)
        elif account.cash < cash:
            Account.objects.filter(pk=account.pk).update(cash=cash)
        if account.halted:
            log.warning("simulator account %s is halted: its orders will be rejected", username)
        positions = {
            p.instrument.symbol: (p.qty, p.avg_cost)
            for p in Position.objects.filter(account=account).select_related("instrument")
            if p.qty
        }
        out[username] = {"account_id": account.pk, "positions": positions}
    return out


def leftover_cancels(account_ids: Sequence[int], shards: int) -> list[tuple[str, dict]]:
    """Cancels for orders the agents left open (a run that was killed): a clean book to start."""
    from matching.sharding import shard_channel, shard_of
    from trading_app.models import Order

    rows = Order.objects.filter(
        account_id__in=account_ids, status__in=("accepted", "new", "partially_filled")
    ).values_list("id", "account_id", "instrument__symbol")
    return [
        (
            shard_channel(shard_of(symbol, shards)),
            {"type": "order.cancel", "id": str(order_id), "account_id": account_id},
        )
        for order_id, account_id, symbol in rows
    ]


def build_simulator(
    config: SimulatorConfig,
    specs: dict[str, InstrumentSpec],
    accounts: dict[str, dict[str, Any]],
    send: Callable[[str, dict], None],
    shards: int,
) -> MarketSimulator:
    token = secrets.token_hex(3)
    clients = {}
    for username, info in accounts.items():
        client = OrderClient(
            info["account_id"],
            specs,
            send,
            origin="simulator",
            shards=shards,
            prefix=f"{username}-{token}-",
        )
        for symbol, (qty, avg_cost) in info["positions"].items():
            if symbol in specs:
                client.ledgers[symbol] = Ledger(qty, avg_cost)
        clients[username] = client
    return MarketSimulator(config, specs, clients)


def _setup(config: SimulatorConfig, symbols: Sequence[str] | None):
    from django.conf import settings

    from ..django_adapters.instruments import load_specs

    specs = load_specs(symbols)
    if symbols:
        unknown = sorted({s.upper() for s in symbols} - set(specs))
        if unknown:
            raise ValueError(f"unknown symbols: {', '.join(unknown)}")
    specs = {s: spec for s, spec in specs.items() if spec.reference_price is not None}
    accounts = prepare_accounts(config)
    shards = settings.MATCHING_SHARDS
    startup = leftover_cancels([a["account_id"] for a in accounts.values()], shards)
    return specs, accounts, startup, shards


async def run_simulator(
    stop: asyncio.Event,
    config: SimulatorConfig,
    symbols: Sequence[str] | None = None,
    *,
    layer: Any = None,
    progress: Callable[[str], None] | None = None,
    progress_every: float = 10.0,
) -> MarketSimulator | None:
    """Run the agents over the channel layer until ``stop``; returns the simulator."""
    from asgiref.sync import sync_to_async

    from ..django_adapters.transport import ChannelTransport

    specs, accounts, startup, shards = await sync_to_async(_setup)(config, symbols)
    if not specs:
        log.warning("market simulator: no active instruments (run manage.py bootstrap_demo)")
        return None
    transport = ChannelTransport(layer, prefix="simulator")
    simulator = build_simulator(config, specs, accounts, transport.send, shards)
    say = progress or log.info
    say(
        f"market simulator: {', '.join(accounts)} on {', '.join(specs)} at {config.rate:g} "
        f"rounds/s per symbol (seed {config.seed}); {len(startup)} leftover orders to cancel"
    )
    await simulator.run(
        transport, stop, startup=startup, progress=progress, progress_every=progress_every
    )
    say(f"market simulator stopped: {simulator.status_line()}")
    return simulator


def config_from_settings(**overrides: Any) -> SimulatorConfig:
    from django.conf import settings

    values = dict(getattr(settings, "SIMULATOR", {}))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SimulatorConfig(**values)


async def run_simulator_service(stop: asyncio.Event) -> None:
    """`manage.py serve`'s simulator: settings.SIMULATOR (a gentle rate), every instrument."""
    from django.conf import settings

    config = config_from_settings()
    symbols = list(getattr(settings, "SIMULATOR_SYMBOLS", [])) or None
    await run_simulator(stop, config, symbols, progress=log.info, progress_every=300.0)
