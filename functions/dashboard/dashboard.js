// Surge live dashboard: polls statistics (figures, per-second series, orders, queues)
// and /health, and renders them. No libraries: the chart is one SVG path.
(function () {
  "use strict";
  var STATS_EVERY_MS = 2000;
  var HEALTH_EVERY_MS = 5000;
  var CHART_W = 1200, CHART_H = 200;
  var currency = new URLSearchParams(location.search).get("currency") || "";
  var $ = function (id) { return document.getElementById(id); };

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

  function drawSeries(prefix, counts) { // one SVG path over the counts, scaled to their peak
    var n = counts.length, peak = 0;
    for (var i = 0; i < n; i++) if (counts[i] > peak) peak = counts[i];
    var top = peak > 0 ? peak * 1.1 : 1;
    var dx = n > 1 ? CHART_W / (n - 1) : CHART_W;
    var d = "";
    for (var j = 0; j < n; j++) {
      var x = (j * dx).toFixed(1), y = (CHART_H - (counts[j] / top) * (CHART_H - 4)).toFixed(1);
      d += (j ? "L" : "M") + x + " " + y;
    }
    $(prefix + "-line").setAttribute("d", d);
    $(prefix + "-area").setAttribute("d", n ? d + "L" + CHART_W + " " + CHART_H + "L0 " + CHART_H + "Z" : "");
    text(prefix + "-max", Math.ceil(top));
    return peak;
  }

  function renderChart(series) {
    var counts = (series && series.counts) || [];
    var n = counts.length;
    var peak = drawSeries("chart", counts);
    drawSeries("zoom", counts.slice(-120));
    if (!n) return;
    var sum = 0;
    for (var i = 0; i < n; i++) sum += counts[i];
    // the current second is still filling up: "now" is the last complete one
    text("rate-now", n > 1 ? counts[n - 2] : counts[n - 1]);
    text("rate-peak", peak);
    text("rate-mean", (sum / n).toFixed(2));
  }

  function renderPayments(stats) {
    var p = stats.payments || {};
    text("pay-currency", p.currency);
    text("pay-count", p.count);
    text("pay-total", p.total);
    text("pay-average", p.average);
    text("pay-min", p.min);
    text("pay-max", p.max);
    text("pay-rate", p.per_second);
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
  function renderOrders(orders) {
    var has = !!orders && typeof orders === "object";
    $("orders").hidden = !has;
    $("orders-empty").hidden = has;
    $("products").hidden = !has;
    $("products-empty").hidden = has;
    if (!has) return;
    var soldOut = orders.sold_out || [];
    var soldOutIds = Array.isArray(soldOut) ? soldOut : (soldOut.product_ids || []);
    var soldOutCount = Array.isArray(soldOut) ? soldOut.length : (soldOut.count || 0);
    text("orders-count", pick(orders, ["count", "orders"]));
    text("orders-revenue", pick(orders, ["revenue", "total"]));
    $("orders-currency").textContent = orders.currency || "";
    text("orders-units", pick(orders, ["units", "units_sold"]));
    text("orders-soldout", soldOutCount);
    var products = pick(orders, ["best_sellers", "hottest"]) || [];
    var rows = products.map(function (item) {
      var id = pick(item, ["product_id", "id"]);
      var sold = Number(item.sold || 0);
      var left = item.available;
      var out = (left !== undefined && left !== null && Number(left) <= 0) || soldOutIds.indexOf(id) >= 0;
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
      cell(tr, sold, "num");
      cell(tr, left, "num");
      var total = sold + Number(left || 0);
      var bar = document.createElement("div");
      bar.className = "bar";
      bar.title = "stock left";
      var fill = document.createElement("i");
      fill.style.width = (total > 0 ? Math.round((Number(left || 0) / total) * 100) : 0) + "%";
      bar.appendChild(fill);
      cell(tr, bar);
      return tr;
    });
    fillRows($("products").tBodies[0], rows, 4);
  }

  function renderQueues(queues) {
    var names = Object.keys(queues || {}).sort();
    var rows = names.map(function (name) {
      var q = queues[name] || {};
      var tr = document.createElement("tr");
      var dlq = /-dlq$/.test(name);
      tr.className = dlq ? "dlq" + ((q.visible || 0) + (q.in_flight || 0) > 0 ? " alert" : "") : "";
      tr.dataset.queue = name;
      cell(tr, name + (dlq ? " (DLQ)" : ""));
      if (q.error) { var td = cell(tr, q.error, "down"); td.colSpan = 2; }
      else { cell(tr, q.visible, "num"); cell(tr, q.in_flight, "num"); }
      return tr;
    });
    fillRows($("queues").tBodies[0], rows, 3);
  }

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

  var lastOk = 0;
  function markUpdated(ok, why) {
    var pill = $("updated");
    if (ok) { lastOk = Date.now(); pill.className = "pill ok"; pill.textContent = "updated " + new Date().toLocaleTimeString(); }
    else { pill.className = "pill stale"; pill.textContent = "stale: " + why; }
  }

  // URLs are relative to the page, so it also works under an API Gateway stage (/api/).
  function refreshStats() {
    var url = "statistics?series=1" + (currency ? "&currency=" + encodeURIComponent(currency) : "");
    return getJson(url).then(function (stats) {
      renderPayments(stats);
      renderChart(stats.payments_per_second);
      renderOrders(stats.orders);
      renderQueues(stats.queues);
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
      markUpdated(true);
    }).catch(function (e) { markUpdated(false, e.message); });
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
  refreshHealth();
  setInterval(refreshStats, STATS_EVERY_MS);
  setInterval(refreshHealth, HEALTH_EVERY_MS);
})();
