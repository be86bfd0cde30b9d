/* tradingSim monitor: prices (/ws/stocks/), the book (/ws/market_data/), orders (/ws/orders/).
 * Plain browser JavaScript, no build step; charts by the vendored Chart.js.
 * Messages are documented in docs/websocket.md. */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("monitor-config").textContent);
  const wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  const $ = (id) => document.getElementById(id);
  const MAX_PRICE_POINTS = 900;
  const MAX_TRADES = 40;
  const MAX_ALERTS = 50;
  const OPEN_ORDERS_PAGE = 200;
  const css = getComputedStyle(document.documentElement);
  const GREEN = css.getPropertyValue("--green").trim() || "#26a69a";
  const RED = css.getPropertyValue("--red").trim() || "#ef5350";
  const ACCENT = css.getPropertyValue("--accent").trim() || "#4f9dff";
  const AMBER = css.getPropertyValue("--amber").trim() || "#f0b429";
  const GRID = "#243042";
  const TICK = "#8a9bb0";

  const state = {
    ticker: config.ticker,
    book: { bids: new Map(), asks: new Map(), sequence: 0 },
    pending: new Map(), // client_order_id -> performance.now() at submit
    cancelling: new Set(), // ids of orders this page asked to cancel
    latencies: [],
    openOrders: new Map(), // order id -> order (the first OPEN_ORDERS_PAGE of them)
    openOrdersTotal: 0, // how many are open in all (the API's count, kept up by the stream)
    priceMessages: 0,
    bookMessages: 0,
  };
  window.monitorState = state; // for the browser test and for curious users

  // ---------------------------------------------------------------- sockets with reconnection

  class Stream {
    /** A WebSocket that reconnects with backoff until closed on purpose. */
    constructor(name, url, onMessage, onOpen) {
      this.name = name;
      this.url = url;
      this.onMessage = onMessage;
      this.onOpen = onOpen || (() => {});
      this.retry = 500;
      this.stopped = false;
      this.open();
    }
    open() {
      setPill(this.name, "wait");
      const ws = (this.ws = new WebSocket(this.url));
      ws.onopen = () => {
        this.retry = 500;
        setPill(this.name, "on");
        this.onOpen(this);
      };
      ws.onmessage = (event) => {
        if (this.stopped) return; // a frame of the ticker the page has just left
        this.onMessage(JSON.parse(event.data), this);
      };
      ws.onclose = (event) => {
        setPill(this.name, "off", event.code ? `closed (${event.code})` : "closed");
        if (this.stopped || event.code === 4401 || event.code === 4404) return;
        setTimeout(() => this.stopped || this.open(), this.retry);
        this.retry = Math.min(this.retry * 2, 10000);
      };
    }
    send(message) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
      this.ws.send(JSON.stringify(message));
      return true;
    }
    close() {
      this.stopped = true;
      if (this.ws) this.ws.close(1000);
    }
  }

  function setPill(name, status, title) {
    const pill = $("status-" + name);
    if (!pill) return;
    pill.className = "pill " + status;
    if (title) pill.title = title;
  }

  // ---------------------------------------------------------------- charts

  const timeLabel = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
  // No labels on an empty chart: its default 0..1 axis would read 00:00:00 (or 0.00) six times.
  const baseScales = (format) => ({
    x: {
      type: "linear",
      grid: { color: GRID },
      ticks: {
        color: TICK,
        maxTicksLimit: 8,
        callback(value) {
          return this.chart.data.datasets.some((d) => d.data.length) ? format(value) : "";
        },
      },
    },
    y: { grid: { color: GRID }, ticks: { color: TICK } },
  });

  const priceChart = new Chart($("price-chart"), {
    type: "line",
    data: {
      datasets: [
        { label: "Price", data: [], borderColor: ACCENT, borderWidth: 1.6, pointRadius: 0, tension: 0 },
        { label: "5-min moving average", data: [], borderColor: AMBER, borderWidth: 1.4, borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: "nearest", axis: "x", intersect: false },
      scales: baseScales((v) => timeLabel(v)),
      plugins: { legend: { labels: { color: TICK, boxHeight: 2 } } },
    },
  });

  const depthChart = new Chart($("depth-chart"), {
    type: "line",
    data: {
      datasets: [
        { label: "Bids", data: [], borderColor: GREEN, backgroundColor: GREEN + "55", fill: "origin", stepped: "after", pointRadius: 0, borderWidth: 1.5 },
        { label: "Asks", data: [], borderColor: RED, backgroundColor: RED + "55", fill: "origin", stepped: "before", pointRadius: 0, borderWidth: 1.5 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      scales: baseScales((v) => Number(v).toFixed(2)),
      plugins: {
        legend: { labels: { color: TICK } },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.parsed.y} @ ${c.parsed.x}` } },
      },
    },
  });

  let redrawQueued = false;
  function redraw() {
    if (redrawQueued) return;
    redrawQueued = true;
    requestAnimationFrame(() => {
      redrawQueued = false;
      priceChart.update("none");
      depthChart.update("none");
    });
  }

  // ---------------------------------------------------------------- prices: /ws/stocks/<ticker>/

  function onPrice(m) {
    if (m.type === "price") {
      state.priceMessages += 1;
      const t = Date.parse(m.timestamp);
      const [price, ma] = priceChart.data.datasets;
      price.data.push({ x: t, y: Number(m.price) });
      if (m.moving_average !== null && m.moving_average !== undefined) {
        ma.data.push({ x: t, y: Number(m.moving_average) });
      }
      for (const d of [price, ma]) if (d.data.length > MAX_PRICE_POINTS) d.data.splice(0, d.data.length - MAX_PRICE_POINTS);
      $("price-chart").dataset.points = String(price.data.length);
      $("last-price").textContent = m.price;
      $("price-source").textContent = `${m.source} · ${timeLabel(t)}`;
      $("moving-average").textContent = m.moving_average ?? "–";
      const change = m.change_pct_1m;
      const el = $("change-1m");
      el.textContent = change === null || change === undefined ? "–" : `${Number(change) > 0 ? "+" : ""}${change}%`;
      el.className = change === null || change === undefined ? "" : Number(change) >= 0 ? "up" : "down";
      redraw();
    } else if (m.type === "alert") {
      addAlert(m);
    } else if (m.type === "feed.status") {
      $("price-source").textContent = `feed: ${m.provider ?? "down"}${m.reason ? " (" + m.reason + ")" : ""}`;
    } else if (m.type === "error") {
      $("price-source").textContent = m.message || m.code;
      showTickerError(m);
    }
  }

  function showTickerError(m) {
    const el = $("ticker-error");
    el.textContent = m.code === "unknown_symbol" ? `${state.ticker}: ${m.message || "unknown ticker"}` : m.message || m.code;
    el.hidden = false;
  }

  function addAlert(m) {
    const list = $("alerts");
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = timeLabel(Date.parse(m.timestamp));
    const text = document.createElement("span");
    text.textContent = m.message;
    text.className = m.direction === "down" ? "down" : "up";
    li.append(time, text);
    list.prepend(li);
    while (list.children.length > MAX_ALERTS) list.lastChild.remove();
  }

  // ---------------------------------------------------------------- book: /ws/market_data/<symbol>/

  function onBook(m, stream) {
    state.bookMessages += 1;
    const book = state.book;
    if (m.type === "snapshot") {
      book.bids = new Map(m.bids.map(([p, s]) => [p, Number(s)]));
      book.asks = new Map(m.asks.map(([p, s]) => [p, Number(s)]));
      book.sequence = m.sequence;
      const body = $("trades").tBodies[0];
      body.textContent = "";
      m.trades.slice(0, MAX_TRADES).reverse().forEach(addTrade);
      drawDepth();
      return;
    }
    if (m.type === "error") {
      $("book-sequence").textContent = m.message || m.code;
      showTickerError(m);
      return;
    }
    if (m.type === "l2update") {
      if (m.sequence <= book.sequence) return; // already in the snapshot
      if (book.sequence && m.sequence > book.sequence + 1) {
        stream.send({ type: "snapshot" }); // a gap: start again from a snapshot
        return;
      }
      book.sequence = m.sequence;
      for (const [side, price, size] of m.changes) {
        const levels = side === "buy" ? book.bids : book.asks;
        if (Number(size) === 0) levels.delete(price);
        else levels.set(price, Number(size));
      }
      drawDepth();
    } else if (m.type === "trade") {
      addTrade(m);
    } else if (m.type === "ticker") {
      $("best-quote").textContent = `bid ${m.best_bid ?? "–"} / ask ${m.best_ask ?? "–"}`;
    }
  }

  function drawDepth() {
    const book = state.book;
    const depth = config.depth;
    const bids = [...book.bids].map(([p, s]) => [Number(p), s]).sort((a, b) => b[0] - a[0]).slice(0, depth);
    const asks = [...book.asks].map(([p, s]) => [Number(p), s]).sort((a, b) => a[0] - b[0]).slice(0, depth);
    let total = 0;
    const bidPoints = bids.map(([p, s]) => ({ x: p, y: (total += s) })).reverse();
    total = 0;
    const askPoints = asks.map(([p, s]) => ({ x: p, y: (total += s) }));
    depthChart.data.datasets[0].data = bidPoints;
    depthChart.data.datasets[1].data = askPoints;
    $("depth-chart").dataset.levels = String(bids.length + asks.length);
    const best = bids.length && asks.length ? ` · spread ${(asks[0][0] - bids[0][0]).toFixed(2)}` : "";
    $("book-sequence").textContent = `sequence ${book.sequence} · ${bids.length} bid / ${asks.length} ask levels${best}`;
    redraw();
  }

  function addTrade(t) {
    const body = $("trades").tBodies[0];
    const tr = document.createElement("tr");
    const cells = [
      t.time ? timeLabel(Date.parse(t.time)) : "",
      t.side,
      t.price,
      t.size,
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 1) td.className = t.side;
      if (i >= 2) td.classList.add("num");
      tr.append(td);
    });
    body.prepend(tr);
    while (body.children.length > MAX_TRADES) body.lastChild.remove();
  }

  // ---------------------------------------------------------------- connecting to a ticker

  let priceStream = null;
  let bookStream = null;

  function connect(ticker) {
    ticker = ticker.trim().toUpperCase();
    if (!ticker) return;
    state.ticker = ticker;
    if (priceStream) priceStream.close();
    if (bookStream) bookStream.close();
    priceChart.data.datasets.forEach((d) => (d.data = []));
    state.book = { bids: new Map(), asks: new Map(), sequence: 0 };
    drawDepth();
    $("price-chart").dataset.points = "0";
    $("alerts").innerHTML = '<li class="empty">No alerts yet.</li>';
    $("trades").tBodies[0].textContent = "";
    // Every figure of the previous ticker goes: none of it may read as the new one's.
    for (const id of ["last-price", "moving-average", "change-1m"]) {
      $(id).textContent = "–";
      $(id).className = "";
    }
    $("best-quote").textContent = "bid – / ask –";
    $("price-source").textContent = "connecting…";
    $("ticker-error").textContent = "";
    $("ticker-error").hidden = true;
    redraw();
    if ($("ticket-symbol")) $("ticket-symbol").textContent = ticker;
    clearTicketStatus();
    history.replaceState(null, "", `?ticker=${encodeURIComponent(ticker)}`);
    priceStream = new Stream("prices", `${wsBase}/ws/stocks/${ticker}/`, onPrice);
    bookStream = new Stream("book", `${wsBase}/ws/market_data/${ticker}/?depth=${config.depth}`, onBook);
  }

  function clearTicketStatus() {
    const el = $("ticket-status");
    if (!el) return;
    el.textContent = "";
    el.className = "status";
  }

  $("connect-form").addEventListener("submit", (event) => {
    event.preventDefault();
    connect($("ticker").value);
  });

  // ---------------------------------------------------------------- dashboard figures

  async function pollStats() {
    try {
      const response = await fetch(config.statsUrl, { credentials: "same-origin" });
      if (response.ok) {
        const s = await response.json();
        $("orders-rate").textContent = s.orders_per_second.toLocaleString();
        $("total-trades").textContent = s.trades_today.toLocaleString();
      }
    } catch (err) {
      /* the server restarts: try again at the next tick */
    }
  }
  pollStats();
  setInterval(pollStats, 2000);

  // ---------------------------------------------------------------- trading (logged-in users)

  if (config.authenticated) setupTrading();

  function setupTrading() {
    let orderSeq = 0;
    const form = $("order-form");
    const status = (text, kind) => {
      const el = $("ticket-status");
      el.textContent = text;
      el.className = "status " + (kind || "");
    };
    const orders = new Stream("orders", `${wsBase}/ws/orders/`, onOrderMessage, () => {
      loadOpenOrders();
      loadPositions();
    });
    state.ordersStream = orders;

    $("order-type").addEventListener("change", (e) => {
      $("order-price").disabled = e.target.value === "market";
    });

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      orderSeq += 1;
      const coid = `web-${Date.now().toString(36)}-${orderSeq}`;
      const message = {
        type: "submit",
        symbol: state.ticker,
        side: data.get("side"),
        order_type: data.get("order_type"),
        qty: data.get("qty"),
        time_in_force: data.get("time_in_force"),
        client_order_id: coid,
      };
      if (message.order_type === "limit") message.limit_price = data.get("limit_price");
      state.pending.set(coid, performance.now());
      if (!orders.send(message)) {
        state.pending.delete(coid);
        status("Not connected to /ws/orders/ yet.", "error");
        return;
      }
      status(`Sent ${message.side} ${message.qty} ${message.symbol}…`);
    });

    function onOrderMessage(m) {
      const coid = m.client_order_id;
      if (coid && state.pending.has(coid)) {
        const ms = performance.now() - state.pending.get(coid);
        state.pending.delete(coid);
        state.latencies.push(ms);
        if (state.latencies.length > 200) state.latencies.shift();
        const mean = state.latencies.reduce((a, b) => a + b, 0) / state.latencies.length;
        $("avg-latency").textContent = `${mean.toFixed(1)} ms`;
        $("latency-detail").textContent = `last ${ms.toFixed(1)} ms · ${state.latencies.length} orders`;
      }
      if (m.type === "trade_update") {
        const o = m.order;
        const known = state.openOrders.has(o.id);
        if (["new", "partially_filled", "accepted"].includes(o.status)) {
          state.openOrders.set(o.id, o);
          if (!known) state.openOrdersTotal += 1;
        } else {
          state.openOrders.delete(o.id);
          if (known) state.openOrdersTotal -= 1;
          // One of the open orders past the first page (not loaded here) may have closed:
          // the count is read again.
          else if (state.openOrdersTotal > state.openOrders.size) reloadOpenOrdersSoon();
        }
        renderOpenOrders();
        if (m.event === "fill" || m.event === "partial_fill") loadPositions();
        // The ticket speaks of this page's orders only: the account's other orders (a live
        // strategy's, another client's) update the tables above, not the ticket's status line.
        if (!((coid && coid.startsWith("web-")) || state.cancelling.has(o.id))) return;
        if (m.event === "new") status(`Accepted: ${o.side} ${o.qty} ${o.symbol}${o.limit_price ? " @ " + o.limit_price : ""}`, "ok");
        else if (m.event === "rejected") status(`Rejected: ${o.reject_reason || m.reason || ""}`, "error");
        else if (m.event === "fill" || m.event === "partial_fill") {
          status(`${m.event === "fill" ? "Filled" : "Partly filled"}: ${m.qty} ${o.symbol} @ ${m.price}`, "ok");
        } else if (m.event === "canceled") status(`Canceled ${o.symbol} ${o.side} ${o.qty}`, "ok");
      } else if (m.type === "risk_alert") {
        addAlert({
          timestamp: m.timestamp,
          message: `${m.level === "breach" ? "Limit breached" : "Limit warning"} ${m.code} (${m.usage_pct}%): ${m.message}`,
          direction: "down",
          risk: true,
        });
      } else if (m.type === "error") {
        const fields = m.errors ? Object.entries(m.errors).map(([k, v]) => `${k}: ${v.join(" ")}`).join("; ") : "";
        status(`${m.code}${m.message ? ": " + m.message : ""}${fields ? " (" + fields + ")" : ""}`, "error");
      }
    }

    // The first OPEN_ORDERS_PAGE open orders are listed; the API's count tells how many there
    // are in all ("showing 200 of 1,234"). The stream keeps both up to date between loads.
    async function loadOpenOrders() {
      let data;
      try {
        const response = await fetch(`/api/orders/?status=open&page_size=${OPEN_ORDERS_PAGE}`, { credentials: "same-origin" });
        if (!response.ok) return;
        data = await response.json();
      } catch (err) {
        return; /* the server restarts: the orders socket reloads on reconnecting */
      }
      const results = data.results || data;
      state.openOrders = new Map(results.map((o) => [o.id, o]));
      state.openOrdersTotal = typeof data.count === "number" ? data.count : results.length;
      renderOpenOrders();
    }
    let openOrdersTimer = null;
    function reloadOpenOrdersSoon() {
      clearTimeout(openOrdersTimer);
      openOrdersTimer = setTimeout(loadOpenOrders, 1000);
    }

    function renderOpenOrders() {
      const shown = state.openOrders.size;
      const total = Math.max(state.openOrdersTotal, shown);
      $("open-orders-count").textContent =
        total > shown ? `showing ${shown.toLocaleString()} of ${total.toLocaleString()}` : `${shown.toLocaleString()} open`;
      const body = $("open-orders").tBodies[0];
      body.textContent = "";
      for (const o of state.openOrders.values()) {
        const tr = document.createElement("tr");
        tr.dataset.orderId = o.id;
        tr.dataset.clientOrderId = o.client_order_id;
        for (const [text, cls] of [
          [o.symbol, ""],
          [o.side, o.side],
          [o.qty, "num"],
          [o.filled_qty, "num"],
          [o.limit_price ?? "mkt", "num"],
          [o.status, ""],
        ]) {
          const td = document.createElement("td");
          td.textContent = text;
          if (cls) td.className = cls;
          tr.append(td);
        }
        const td = document.createElement("td");
        const button = document.createElement("button");
        button.className = "cancel";
        button.textContent = "Cancel";
        button.addEventListener("click", () => {
          button.disabled = true;
          state.cancelling.add(o.id);
          orders.send({ type: "cancel", id: o.id, symbol: o.symbol });
        });
        td.append(button);
        tr.append(td);
        body.append(tr);
      }
    }

    // Positions, P&L and the account figures come from /api/portfolio/ (marked to the last
    // trade): reloaded after each fill and every 2 s, so P&L moves with the market.
    const signClass = (value) => (Number(value) > 0 ? "up" : Number(value) < 0 ? "down" : "");
    let positionsTimer = null;
    function loadPositions() {
      clearTimeout(positionsTimer);
      positionsTimer = setTimeout(async () => {
        try {
          const response = await fetch("/api/portfolio/", { credentials: "same-origin" });
          if (!response.ok) return;
          renderPortfolio(await response.json());
        } catch (err) {
          /* the server restarts: try again at the next tick */
        }
      }, 150);
    }
    setInterval(loadPositions, 2000);

    function renderPortfolio(data) {
      const body = $("positions").tBodies[0];
      body.textContent = "";
      for (const p of data.positions || []) {
        if (!p.qty && p.realized_pnl === "0.00") continue;
        const tr = document.createElement("tr");
        for (const [text, cls] of [
          [p.symbol, ""],
          [p.qty, "num"],
          [p.avg_cost ?? "–", "num"],
          [p.current_price ?? "–", "num"],
          [p.unrealized_pnl, "num " + signClass(p.unrealized_pnl)],
          [p.realized_pnl, "num " + signClass(p.realized_pnl)],
        ]) {
          const td = document.createElement("td");
          td.textContent = text;
          if (cls) td.className = cls;
          tr.append(td);
        }
        body.append(tr);
      }
      $("acct-equity").textContent = data.equity;
      $("acct-cash").textContent = data.cash;
      $("acct-gross").textContent = data.gross_exposure;
      for (const [id, value] of [["acct-day-pnl", data.day_pnl], ["acct-total-pnl", data.total_pnl]]) {
        $(id).textContent = value ?? "–";
        $(id).className = signClass(value);
      }
      const halted = Boolean(data.halted);
      $("account-status").textContent = halted ? `halted: ${data.halted_reason || ""}` : "trading";
      $("account-status").className = halted ? "down" : "ok";
      $("halt-account").hidden = halted;
      $("resume-account").hidden = !halted;
    }

    // The kill switch for this account: POST /api/risk/halt/ or /resume/ with the session.
    function csrfToken() {
      const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
      return match ? decodeURIComponent(match[1]) : "";
    }
    async function haltOrResume(action) {
      let response;
      try {
        response = await fetch(`/api/risk/${action}/`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ scope: "account", reason: action === "halt" ? "halted from the monitor page" : "" }),
        });
      } catch (err) {
        $("halt-status").textContent = `${action} failed: the server does not answer`;
        $("halt-status").className = "status error";
        return;
      }
      const body = await response.json().catch(() => ({}));
      // The ticket's last word ("Rejected: ACCOUNT_HALTED") is stale once trading resumes.
      if (response.ok && action === "resume") clearTicketStatus();
      $("halt-status").textContent = response.ok
        ? action === "halt" ? "Halted: open orders canceled, new ones refused." : "Trading resumed."
        : `${action} failed: ${body.detail || JSON.stringify(body)}`;
      $("halt-status").className = "status " + (response.ok ? "ok" : "error");
      loadPositions();
      loadOpenOrders();
    }
    $("halt-account").addEventListener("click", () => haltOrResume("halt"));
    $("resume-account").addEventListener("click", () => haltOrResume("resume"));
  }

  connect(state.ticker);
})();
