// Surge live dashboard. Polls statistics (figures, the per-second series of the chosen
// currency, orders, queues), /metrics (request outcomes, latency and lag histograms,
// worker throughput) and /health, and draws the series with uPlot (vendored, inlined).
(function () {
  "use strict";
  var STATS_EVERY_MS = 2000;
  var HEALTH_EVERY_MS = 5000;
  var HISTORY_POINTS = 300; // 10 minutes of 2-second samples for the charts fed by polling
  var QUANTILE_SPAN = 5; // samples a quantile looks back over (10 s): smoother than one step
  var currency = new URLSearchParams(location.search).get("currency") || "";
  var $ = function (id) { return document.getElementById(id); };
  var COLORS = ["#3fb6a8", "#e0a030", "#8f7cf6", "#e5534b", "#5aa9e6", "#47c26b", "#d46ab8", "#c0c0c0"];
  var INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  var DEC = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  var SECONDS = uPlot.fmtDate("{HH}:{mm}:{ss}"), MINUTES = uPlot.fmtDate("{HH}:{mm}");

  // ---- formatting: thousands separators; money strings stay exact (no float round trip)
  function money(s) {
    if (s === null || s === undefined || s === "") return "—";
    var m = /^(-?)(\d+)(\.\d+)?$/.exec(String(s));
    return m ? m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] || "") : String(s);
  }
  function count(n) { return n === null || n === undefined || n === "" ? "—" : INT.format(Number(n)); }
  function num(n) { return n === null || n === undefined || !isFinite(n) ? "—" : DEC.format(Number(n)); }

  function text(id, value) {
    var el = $(id);
    var s = value === null || value === undefined || value === "" ? "—" : String(value);
    if (el && el.textContent !== s) el.textContent = s;
  }

  function pick(obj, names) { // the first field present: tolerate small naming differences
    for (var i = 0; i < names.length; i++) {
      if (obj && obj[names[i]] !== undefined && obj[names[i]] !== null) return obj[names[i]];
    }
    return undefined;
  }

  function cell(tr, value, cls) {
    var td = document.createElement("td");
    if (value instanceof Node) td.appendChild(value); else td.textContent = value === undefined ? "—" : String(value);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function fillRows(tbody, rows, columns) {
    tbody.textContent = "";
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = cell(tr, "none");
      td.colSpan = columns;
      td.className = "empty";
      tbody.appendChild(tr);
    }
    rows.forEach(function (tr) { tbody.appendChild(tr); });
  }

  // ---- charts: one uPlot per panel; time axis, grid, legend with the values under the cursor
  var charts = {};
  function axis(unit) {
    return {
      stroke: "#8a96a3", grid: { stroke: "#27313b", width: 1 }, ticks: { stroke: "#27313b", width: 1 },
      values: function (u, splits) { return splits.map(function (v) { return v === null ? "" : num(v) + (unit || ""); }); },
      size: 66,
    };
  }
  function plot(id, labels, unit, opts) {
    // labels: series names; the chart is rebuilt when they change (a queue appears)
    var el = $(id);
    var key = labels.join("|");
    var chart = charts[id];
    if (chart && chart.key === key) return chart.u;
    if (chart) chart.u.destroy();
    el.textContent = "";
    var series = [{ value: "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}" }];
    labels.forEach(function (label, i) {
      series.push({
        label: label, stroke: COLORS[i % COLORS.length], width: 1.5, scale: (opts && opts.scales && opts.scales[i]) || "y",
        fill: labels.length === 1 ? "rgba(63,182,168,0.15)" : undefined, points: { show: false },
        value: function (u, v) { return v === null || v === undefined ? "—" : num(v) + (unit || ""); },
      });
    });
    var timeAxis = {
      stroke: "#8a96a3", grid: { stroke: "#27313b", width: 1 }, ticks: { stroke: "#27313b", width: 1 },
      incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600], space: 60, // whole seconds at least
      values: function (u, splits, axisIdx, space, incr) { // local clock time; kept on the element for tests
        var fmt = incr < 60 ? SECONDS : MINUTES;
        var labels = splits.map(function (s) { return fmt(new Date(s * 1000)); });
        el.dataset.xticks = labels.join("|");
        return labels;
      },
    };
    var axes = [timeAxis, axis(unit)];
    if (opts && opts.rightAxis) axes.push(Object.assign(axis(opts.rightUnit), { scale: "right", side: 1, grid: { show: false } }));
    var u = new uPlot({
      width: Math.max(el.clientWidth, 300), height: el.classList.contains("small") ? 190 : 240,
      series: series, axes: axes, cursor: { drag: { x: true, y: false } },
      // one sample alone would give a zero-width time range: show the minute before it
      scales: { x: { time: true, range: function (u, min, max) { return min === max ? [min - 60, max] : [min, max]; } }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } },
                right: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      legend: { live: true },
    }, [[]].concat(labels.map(function () { return []; })), el);
    charts[id] = { u: u, key: key };
    return u;
  }
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      var u = charts[id].u;
      u.setSize({ width: Math.max($(id).clientWidth, 300), height: u.height });
    });
  });

  // A history of samples taken at each poll: {t: seconds, values: {series: number}}.
  function History() { this.t = []; this.rows = []; }
  History.prototype.push = function (t, row) {
    this.t.push(t); this.rows.push(row);
    if (this.t.length > HISTORY_POINTS) { this.t.shift(); this.rows.shift(); }
  };
  History.prototype.data = function (labels) {
    var rows = this.rows;
    return [this.t.slice()].concat(labels.map(function (l) {
      return rows.map(function (r) { return r[l] === undefined ? null : r[l]; });
    }));
  };
  function draw(id, history, labels, unit, opts) {
    var u = plot(id, labels, unit, opts);
    u.setData(history.data(labels));
    $(id).dataset.points = String(history.t.length);
  }

  // ---- the payments-per-second series of the chosen currency (from /statistics?series=1)
  function renderSeries(series) {
    var counts = (series && series.counts) || [];
    var n = counts.length;
    var start = series && series.from ? Date.parse(series.from) / 1000 : Date.now() / 1000 - n;
    var xs = new Array(n), peak = 0, sum = 0;
    for (var i = 0; i < n; i++) { xs[i] = start + i; peak = Math.max(peak, counts[i]); sum += counts[i]; }
    var u = plot("chart-payments", ["payments/s"], "");
    u.setData([xs, counts]);
    var el = $("chart-payments");
    el.dataset.points = String(n); el.dataset.sum = String(sum); el.dataset.peak = String(peak);
    text("series-currency", (series && series.currency) || "all currencies");
    if (!n) return;
    // the current second is still filling up: "now" is the last complete one
    text("rate-now", count(n > 1 ? counts[n - 2] : counts[n - 1]));
    text("rate-peak", count(peak));
    text("rate-mean", num(sum / n));
  }

  function renderPayments(stats) {
    var p = stats.payments || {};
    text("pay-currency", p.currency);
    text("pay-count", count(p.count));
    text("pay-total", money(p.total));
    text("pay-average", money(p.average));
    text("pay-min", money(p.min));
    text("pay-max", money(p.max));
    text("pay-rate", num(p.per_second));
    text("window", Math.round((stats.window_seconds || 1200) / 60));
    var select = $("currency");
    var codes = Object.keys(stats.payments_by_currency || {});
    if (p.currency && codes.indexOf(p.currency) < 0) codes.push(p.currency);
    codes.sort();
    if (select.options.length !== codes.length || codes.some(function (c, i) { return select.options[i].value !== c; })) {
      select.textContent = "";
      codes.forEach(function (c) { var o = document.createElement("option"); o.value = o.textContent = c; select.appendChild(o); });
    }
    select.value = p.currency;
  }

  // The checkout's section: {"currency", "count", "revenue", "units", "per_second",
  //   "best_sellers": [{"product_id", "sold", "available"}], "sold_out": {"count", "product_ids"}}
  var ordersHistory = new History(), lastOrders = null;
  function renderOrders(orders, t) {
    var has = !!orders && typeof orders === "object";
    $("orders").hidden = !has;
    $("orders-empty").hidden = has;
    $("products").hidden = !has;
    $("products-empty").hidden = has;
    if (!has) return;
    var soldOut = orders.sold_out || [];
    var soldOutIds = Array.isArray(soldOut) ? soldOut : (soldOut.product_ids || []);
    var soldOutCount = Array.isArray(soldOut) ? soldOut.length : (soldOut.count || 0);
    var products = pick(orders, ["best_sellers", "hottest"]) || [];
    var left = products.reduce(function (s, p) { return s + Math.max(Number(p.available || 0), 0); }, 0);
    var total = Number(pick(orders, ["count", "orders"]) || 0);
    // orders accepted per second between two polls (the window count only grows during a sale)
    var rate = lastOrders && t > lastOrders.t ? Math.max(total - lastOrders.count, 0) / (t - lastOrders.t) : null;
    lastOrders = { t: t, count: total };
    ordersHistory.push(t, { "orders/s": rate, "units left": left });
    draw("chart-orders", ordersHistory, ["orders/s", "units left"], "", { scales: { 1: "right" }, rightAxis: true });
    text("orders-count", count(total));
    text("orders-revenue", money(pick(orders, ["revenue", "total"])));
    $("orders-currency").textContent = orders.currency || "";
    text("orders-units", count(pick(orders, ["units", "units_sold"])));
    text("orders-rate", rate === null ? "—" : num(rate));
    text("orders-left", count(left));
    text("orders-soldout", count(soldOutCount));
    var rows = products.map(function (item) {
      var id = pick(item, ["product_id", "id"]);
      var sold = Number(item.sold || 0);
      var available = item.available;
      var out = (available !== undefined && available !== null && Number(available) <= 0) || soldOutIds.indexOf(id) >= 0;
      var tr = document.createElement("tr");
      tr.dataset.product = String(id);
      var label = document.createElement("span");
      label.textContent = item.name || "#" + id;
      if (out) {
        var mark = document.createElement("span");
        mark.className = "soldout";
        mark.textContent = " SOLD OUT";
        label.appendChild(mark);
        tr.className = "is-soldout";
      }
      cell(tr, label);
      cell(tr, count(sold), "num");
      cell(tr, count(available), "num");
      var all = sold + Number(available || 0);
      var bar = document.createElement("div");
      bar.className = "bar";
      bar.title = "stock left";
      var fill = document.createElement("i");
      fill.style.width = (all > 0 ? Math.round((Number(available || 0) / all) * 100) : 0) + "%";
      bar.appendChild(fill);
      cell(tr, bar);
      return tr;
    });
    fillRows($("products").tBodies[0], rows, 4);
  }

  // Queue names carry a deployment prefix ("surge-payments"): show what follows the part all share.
  function shortNames(names) {
    if (names.length < 2) return function (n) { return n; };
    var prefix = names.reduce(function (p, n) { while (n.indexOf(p) !== 0) p = p.slice(0, -1); return p; });
    prefix = prefix.slice(0, prefix.lastIndexOf("-") + 1);
    return function (n) { return n.slice(prefix.length); };
  }

  var queueHistory = new History();
  function renderQueues(queues, t) {
    var names = Object.keys(queues || {}).sort();
    var short = shortNames(names);
    var row = {};
    var rows = names.map(function (name) {
      var q = queues[name] || {};
      var tr = document.createElement("tr");
      var dlq = /-dlq$/.test(name);
      tr.className = dlq ? "dlq" + ((q.visible || 0) + (q.in_flight || 0) > 0 ? " alert" : "") : "";
      tr.dataset.queue = name;
      tr.title = name;
      cell(tr, dlq ? short(name).replace(/-dlq$/, "") + " (DLQ)" : short(name));
      if (q.error) { var td = cell(tr, q.error, "down"); td.colSpan = 2; }
      else { cell(tr, count(q.visible), "num"); cell(tr, count(q.in_flight), "num"); row[short(name)] = (q.visible || 0) + (q.in_flight || 0); }
      return tr;
    });
    fillRows($("queues").tBodies[0], rows, 3);
    queueHistory.push(t, row);
    draw("chart-queues", queueHistory, names.map(short), "");
  }

  // ---- /metrics: Prometheus text, parsed into {name: [{labels, value}]}
  function parseMetrics(body) {
    var out = {};
    body.split("\n").forEach(function (line) {
      if (!line || line.charAt(0) === "#") return;
      var m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) return;
      var labels = {};
      (m[2] || "").replace(/(\w+)="((?:[^"\\]|\\.)*)"/g, function (_, k, v) { labels[k] = v; return ""; });
      (out[m[1]] = out[m[1]] || []).push({ labels: labels, value: Number(m[3]) });
    });
    return out;
  }
  function total(scrape, name, where) {
    return (scrape[name] || []).reduce(function (s, x) { return where && !where(x.labels) ? s : s + x.value; }, 0);
  }
  function buckets(scrape, name) { // le -> cumulative count, all label sets added up
    var by = {};
    (scrape[name + "_bucket"] || []).forEach(function (x) { by[x.labels.le] = (by[x.labels.le] || 0) + x.value; });
    return by;
  }
  function quantile(q, now, then) { // histogram_quantile over the increase between two scrapes
    var les = Object.keys(now).filter(function (le) { return le !== "+Inf"; }).map(Number).sort(function (a, b) { return a - b; });
    var inc = function (le) { return (now[le] || 0) - ((then && then[le]) || 0); };
    var all = inc("+Inf");
    if (!(all > 0)) return null;
    var rank = q * all, prevLe = 0, prevCount = 0;
    for (var i = 0; i < les.length; i++) {
      var c = inc(String(les[i]));
      if (c >= rank) return prevLe + (les[i] - prevLe) * ((rank - prevCount) / Math.max(c - prevCount, 1e-9));
      prevLe = les[i]; prevCount = c;
    }
    return les.length ? les[les.length - 1] : null;
  }

  var scrapes = [], statusHistory = new History(), latencyHistory = new History();
  var storedHistory = new History(), lagHistory = new History();
  var STATUSES = ["202", "4xx", "409", "429", "503"];
  function renderMetrics(scrape, t) {
    scrapes.push({ t: t, s: scrape });
    if (scrapes.length > QUANTILE_SPAN + 1) scrapes.shift();
    if (scrapes.length < 2) return;
    var prev = scrapes[scrapes.length - 2], old = scrapes[0];
    var dt = t - prev.t;
    var rate = function (name, where) { return Math.max(total(scrape, name, where) - total(prev.s, name, where), 0) / dt; };
    var rejected = function (status) { return function (l) { return l.status === status; }; };
    statusHistory.push(t, {
      "202": rate("surge_payments_accepted_total"),
      "4xx": rate("surge_requests_rejected_total", function (l) { return ["409", "429"].indexOf(l.status) < 0; }),
      "409": rate("surge_requests_rejected_total", rejected("409")),
      "429": rate("surge_requests_rejected_total", rejected("429")),
      "503": rate("surge_requests_unavailable_total"),
    });
    draw("chart-status", statusHistory, STATUSES, "/s");
    var lat = buckets(scrape, "surge_enqueue_latency_seconds"), latThen = buckets(old.s, "surge_enqueue_latency_seconds");
    var ms = function (v) { return v === null ? null : v * 1000; };
    latencyHistory.push(t, { p50: ms(quantile(0.5, lat, latThen)), p99: ms(quantile(0.99, lat, latThen)) });
    draw("chart-latency", latencyHistory, ["p50", "p99"], " ms");
    var queue = function (name, outcome) { return function (l) { return l.queue === name && l.outcome === outcome; }; };
    storedHistory.push(t, {
      "payments accepted": rate("surge_payments_accepted_total"),
      "payments stored": rate("surge_worker_messages_total", queue("payments", "stored")),
      "orders stored": rate("surge_worker_messages_total", queue("orders", "stored")),
      "failed": rate("surge_worker_messages_total", function (l) { return l.outcome === "failed"; }),
    });
    draw("chart-stored", storedHistory, ["payments accepted", "payments stored", "orders stored", "failed"], "/s");
    var lag = buckets(scrape, "surge_worker_lag_seconds"), lagThen = buckets(old.s, "surge_worker_lag_seconds");
    lagHistory.push(t, { p50: quantile(0.5, lag, lagThen), p99: quantile(0.99, lag, lagThen) });
    draw("chart-lag", lagHistory, ["p50", "p99"], " s");
  }

  // ---- /health: dependencies, and (under ./surge up) the runtime's processes and injected faults:
  //   "runtime": {"processes": {"gateway": {"state", "restarts", ...}, ...},
  //               "faults": {"sqs": {"mode": "down"|"latency", "latency_ms", "left_s"}, ...}}
  function renderHealth(health) {
    text("health-status", health.status);
    var deps = health.dependencies || {};
    var rows = Object.keys(deps).sort().map(function (name) {
      var d = deps[name];
      var tr = document.createElement("tr");
      cell(tr, name);
      cell(tr, d.status + (d.error ? " (" + d.error + ")" : ""), d.status === "up" ? "up" : "down");
      cell(tr, d.latency_ms === undefined ? "—" : d.latency_ms.toFixed(1) + " ms", "num");
      return tr;
    });
    fillRows($("health").tBodies[0], rows, 3);
    var runtime = [];
    var processes = (health.runtime && health.runtime.processes) || {};
    var faults = (health.runtime && health.runtime.faults) || {};
    Object.keys(processes).sort().forEach(function (name) {
      var p = processes[name], restarts = p.restarts || 0, running = p.state === undefined || p.state === "running";
      runtime.push(["restarts: " + name, count(restarts) + (running ? "" : " (" + p.state + ")"), restarts > 0 || !running]);
    });
    Object.keys(faults).sort().forEach(function (dep) {
      var f = faults[dep];
      var what = f.mode === "latency" ? "latency " + count(f.latency_ms) + " ms" : String(f.mode);
      var left = f.left_s === undefined ? "" : ", " + count(Math.max(0, Math.round(f.left_s))) + " s left";
      runtime.push(["fault: " + dep, what + left, true]);
    });
    var has = health.runtime !== undefined;
    $("runtime").hidden = !has;
    $("runtime-empty").hidden = has;
    if (has) {
      fillRows($("runtime").tBodies[0], runtime.map(function (r) {
        var tr = document.createElement("tr");
        if (r[2]) tr.className = "alert";
        cell(tr, r[0]); cell(tr, r[1], "num");
        return tr;
      }), 2);
    }
  }

  function getJson(url) {
    // /health answers 503 with a JSON body when a dependency is down: still render it
    return fetch(url, { cache: "no-store" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok && !(body && body.dependencies)) throw new Error(r.status + " " + (body.message || ""));
        return body;
      });
    });
  }

  function markUpdated(ok, why) {
    var pill = $("updated");
    if (ok) { pill.className = "pill ok"; pill.textContent = "updated " + new Date().toLocaleTimeString(); }
    else { pill.className = "pill stale"; pill.textContent = "stale: " + why; }
  }

  // URLs are relative to the page, so it also works under an API Gateway stage (/api/).
  function refreshStats() {
    var url = "statistics?series=1" + (currency ? "&currency=" + encodeURIComponent(currency) : "");
    var t = Date.now() / 1000;
    return getJson(url).then(function (stats) {
      renderPayments(stats);
      renderSeries(stats.payments_per_second);
      renderOrders(stats.orders, t);
      renderQueues(stats.queues, t);
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
      markUpdated(true);
    }).catch(function (e) { markUpdated(false, e.message); });
  }

  function refreshMetrics() {
    var t = Date.now() / 1000;
    return fetch("metrics", { cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.text();
    }).then(function (body) {
      renderMetrics(parseMetrics(body), t);
      document.body.dataset.scraped = String(Number(document.body.dataset.scraped || 0) + 1);
    }).catch(function () { /* metrics go to CloudWatch on Lambda: the panels stay empty */ });
  }

  function refreshHealth() {
    return getJson("health").then(renderHealth).catch(function (e) { text("health-status", "unreachable: " + e.message); });
  }

  $("currency").addEventListener("change", function (e) {
    currency = e.target.value;
    history.replaceState(null, "", "?currency=" + encodeURIComponent(currency));
    refreshStats();
  });
  text("interval", STATS_EVERY_MS / 1000);
  refreshStats();
  refreshMetrics();
  refreshHealth();
  setInterval(refreshStats, STATS_EVERY_MS);
  setInterval(refreshMetrics, STATS_EVERY_MS);
  setInterval(refreshHealth, HEALTH_EVERY_MS);
})();
