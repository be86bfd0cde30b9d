// The trade-analysis page: draws a saved analysis, and runs one through GET /api/trade-analysis/.
// Money arrives as decimal strings; they are shown as sent and only turned into numbers to plot.
(() => {
  "use strict";
  const config = JSON.parse(document.getElementById("analysis-config").textContent);
  const $ = (id) => document.getElementById(id);
  const GREEN = "#26a69a", RED = "#ef5350", ACCENT = "#4f9dff", TICK = "#8a9bb0", GRID = "#243042";
  const int = (n) => Number(n).toLocaleString("en-US");
  const scales = {
    x: { ticks: { color: TICK }, grid: { color: GRID } },
    y: { ticks: { color: TICK }, grid: { color: GRID }, beginAtZero: true },
  };
  const base = { animation: false, maintainAspectRatio: false, plugins: { legend: { labels: { color: TICK } } } };

  const volumeChart = new Chart($("volume-chart"), {
    type: "bar",
    data: { labels: [], datasets: [
      { label: "Buy volume", data: [], backgroundColor: GREEN, stack: "v" },
      { label: "Sell volume", data: [], backgroundColor: RED, stack: "v" },
    ] },
    options: { ...base, scales: { x: { ...scales.x, stacked: true }, y: { ...scales.y, stacked: true } } },
  });
  const vwapChart = new Chart($("vwap-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "VWAP", data: [], backgroundColor: ACCENT }] },
    options: { ...base, indexAxis: "y", scales: { x: { ...scales.x, beginAtZero: false }, y: scales.x } },
  });
  const hourChart = new Chart($("hour-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "Volume", data: [], backgroundColor: ACCENT }] },
    options: { ...base, scales },
  });

  // A decimal string with its thousands grouped, exactly as sent (no float on the way).
  function grouped(text) {
    const [whole, fraction] = String(text).split(".");
    const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return fraction === undefined ? digits : `${digits}.${fraction}`;
  }

  function setStatus(text, kind) {
    const status = $("analysis-status");
    status.textContent = text;
    status.className = "status" + (kind ? " " + kind : "");
  }

  function draw(analysis, meta) {
    const tickers = (analysis && analysis.tickers) || {};
    const names = Object.keys(tickers).sort((a, b) => tickers[b].volume - tickers[a].volume || a.localeCompare(b));
    $("total-trades").textContent = analysis ? int(analysis.total_trades) : "–";
    $("rows-read").textContent = analysis ? `rows read ${int(analysis.rows_read)}` : "rows read –";
    $("total-volume").textContent = analysis ? int(analysis.total_volume) : "–";
    $("total-notional").textContent = analysis ? grouped(analysis.total_notional) : "–";
    $("ticker-count").textContent = analysis ? int(analysis.ticker_count) : "–";
    const top = analysis && analysis.most_traded && analysis.most_traded[0];
    $("most-traded").textContent = top ? `most traded ${top.ticker}` : "most traded –";
    $("malformed").textContent = analysis ? int(analysis.malformed_rows) : "–";
    $("generated-at").textContent = analysis ? analysis.generated_at.slice(11, 19) + "Z" : "–";
    $("source").textContent = analysis ? `${analysis.source} (${meta.invoked_via || "?"})` : "no analysis saved for this day";

    volumeChart.data.labels = names;
    volumeChart.data.datasets[0].data = names.map((t) => tickers[t].buy_volume);
    volumeChart.data.datasets[1].data = names.map((t) => tickers[t].sell_volume);
    vwapChart.data.labels = names;
    vwapChart.data.datasets[0].data = names.map((t) => Number(tickers[t].vwap));
    const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
    hourChart.data.labels = hours.map((h) => `${h}:00`);
    hourChart.data.datasets[0].data = hours.map((h) => names.reduce((sum, t) => sum + (tickers[t].volume_by_hour[h] || 0), 0));
    [volumeChart, vwapChart, hourChart].forEach((chart) => chart.update());

    const body = $("tickers-table").querySelector("tbody");
    body.replaceChildren(...names.map((t) => {
      const s = tickers[t], row = document.createElement("tr");
      for (const [value, num] of [[t, false], [int(s.trades), true], [int(s.volume), true], [grouped(s.notional), true],
        [s.vwap, true], [s.open, true], [s.high, true], [s.low, true], [s.close, true]]) {
        const cell = document.createElement("td");
        cell.textContent = value;
        if (num) cell.className = "num";
        row.append(cell);
      }
      return row;
    }));
    if (analysis && analysis.tickers_omitted) setStatus(`Per-ticker figures left out: ${analysis.tickers_omitted}`, "error");

    const samples = $("malformed-samples");
    const list = (analysis && analysis.malformed_samples) || [];
    samples.replaceChildren(...(list.length ? list.map((s) => {
      const item = document.createElement("li");
      item.textContent = `line ${s.line}: ${s.reason}`;
      return item;
    }) : [Object.assign(document.createElement("li"), { className: "empty", textContent: "None." })]));
  }

  $("run-analysis").addEventListener("click", async () => {
    const day = $("date").value;
    if (!day) return setStatus("Pick a day first.", "error");
    $("run-analysis").disabled = true;
    setStatus(`Analysing ${day}…`, "");
    try {
      const response = await fetch(`${config.apiUrl}?date=${encodeURIComponent(day)}`, { credentials: "same-origin" });
      const reply = await response.json();
      if (response.ok) {
        history.replaceState(null, "", `?date=${day}`);
        draw(reply.analysis, { invoked_via: "just now" });
        setStatus(reply.message, "ok");
      } else {
        setStatus(reply.message || (reply.date && reply.date.join(" ")) || reply.detail || `HTTP ${response.status}`, "error");
      }
    } catch (err) {
      setStatus(`Request failed: ${err}`, "error");
    } finally {
      $("run-analysis").disabled = false;
    }
  });

  draw(config.analysis, config);
  if (!config.analysis && !$("analysis-status").textContent) {
    setStatus(`No analysis saved for ${config.date}: export the day, then press Run analysis.`, "");
  }
})();
