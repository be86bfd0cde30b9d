"""PNG chart and self-contained HTML report of a BacktestResult.

Uses matplotlib's object API with the Agg canvas directly, never ``pyplot``: no global
backend switch, no figure registry leaking memory inside a long-running Django process.
Long runs are thinned to a few thousand points per line; markers are drawn for every trade.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

import numpy as np

from .metrics import drawdown

if TYPE_CHECKING:
    from .result import BacktestResult

MAX_LINE_POINTS = 4000
MAX_HTML_TRADES = 1000


def _thin(n: int, limit: int = MAX_LINE_POINTS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def render_png(result: BacktestResult, dpi: int = 100) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8.5), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 1]})
    x = result.index.to_numpy()
    idx = _thin(len(x))
    title = f"{result.strategy} {result.symbol}".strip()

    ax = axes[0]
    ax.plot(x[idx], result.close[idx], color="#444", lw=0.8, label="close")
    if result.trades:
        entries_long = [t for t in result.trades if t.side == "long"]
        entries_short = [t for t in result.trades if t.side == "short"]
        for group, marker, color, label in (
            (entries_long, "^", "#1a9850", "long entry"),
            (entries_short, "v", "#d73027", "short entry"),
        ):
            if group:
                ax.scatter(
                    x[[t.entry_bar for t in group]],
                    [t.entry_price for t in group],
                    marker=marker,
                    color=color,
                    s=18,
                    zorder=3,
                    label=label,
                )
        ax.scatter(
            x[[t.exit_bar for t in result.trades]],
            [t.exit_price for t in result.trades],
            marker="x",
            color="#4575b4",
            s=14,
            zorder=3,
            label="exit",
        )
    ax.set_title(title)
    ax.set_ylabel("price")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[1]
    ax.plot(x[idx], result.equity_values[idx], color="#1f78b4", lw=1.0, label="strategy")
    ax.plot(x[idx], result.buy_hold.to_numpy()[idx], color="#999", lw=1.0, label="buy & hold")
    ax.set_ylabel("equity")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[2]
    dd = drawdown(result.equity_values) * 100.0
    ax.fill_between(x[idx], dd[idx], 0.0, color="#e31a1c", alpha=0.4, lw=0)
    ax.set_ylabel("drawdown %")
    ax.grid(alpha=0.3)

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.2f}"
    return str(value)


def render_html(result: BacktestResult, png: bytes | None = None) -> str:
    """The report page; pass ``png`` when the chart is already rendered (it is the slow part)."""
    png = base64.b64encode(png if png is not None else render_png(result)).decode("ascii")
    esc = html.escape
    metric_rows = "\n".join(
        f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v))}</td></tr>" for k, v in result.metrics.items()
    )
    params = ", ".join(f"{k}={v!r}" for k, v in result.params.items())
    settings = ", ".join(f"{k}={v}" for k, v in result.settings.items())
    trade_dicts = [t.to_dict() for t in result.trades[:MAX_HTML_TRADES]]
    cols = ["entry_time", "exit_time", "side", "entry_price", "exit_price", "size", "pnl",
            "return_pct"]  # fmt: skip
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{esc(_fmt(t[c]))}</td>" for c in cols) + "</tr>" for t in trade_dicts
    )
    more = ""
    if len(result.trades) > MAX_HTML_TRADES:
        more = f"<p>Showing the first {MAX_HTML_TRADES} of {len(result.trades)} trades.</p>"
    open_pos = ""
    if result.open_position:
        open_pos = (
            "<p>Open at the end (not counted as a trade): "
            + esc(", ".join(f"{k}={v}" for k, v in result.open_position.items()))
            + "</p>"
        )
    start = result.index[0] if len(result.index) else ""
    end = result.index[-1] if len(result.index) else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Backtest: {esc(result.strategy)} {esc(result.symbol)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th {{ background: #f4f4f4; text-align: left; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Backtest: {esc(result.strategy)} {esc(result.symbol)}</h1>
<p>{esc(str(start))} to {esc(str(end))}, {result.bars} bars, engine {esc(result.engine)}.</p>
<p>Parameters: {esc(params)}<br>Settings: {esc(settings)}</p>
<h2>Metrics</h2>
<table>{metric_rows}</table>
<h2>Chart</h2>
<img alt="price, equity and drawdown chart" src="data:image/png;base64,{png}">
<h2>Trades ({len(result.trades)})</h2>
{open_pos}{more}
<table><tr>{head}</tr>
{body}
</table>
<p>Simulated results on historical or synthetic bars; fills at the next bar's open or at the
limit, after commission and slippage as configured. Not investment advice.</p>
</body></html>
"""
