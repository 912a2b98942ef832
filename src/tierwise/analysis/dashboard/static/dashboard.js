// tierwise dashboard: renders a report (tierwise.analysis.report's JSON) as cards, SVG charts and tables.
// No library and no network beyond the proxy's own /dashboard/api: the same script runs inline
// in the file `tierwise report --html` writes. Data is only ever set with textContent.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var TIERS = ["haiku", "sonnet", "opus", "fable"];
  var config = JSON.parse(document.getElementById("tierwise-config").textContent);

  function $(id) { return document.getElementById(id); }
  function setText(id, text) { $(id).textContent = text; }

  // --- formatting (en-US, fixed, so that what is shown can be read back) ---
  function usd(value) {
    if (value === null || value === undefined) { return "—"; }
    var n = Number(value), a = Math.abs(n);
    var digits = a === 0 || a >= 1 ? 2 : a >= 0.01 ? 4 : 6;
    return new Intl.NumberFormat("en-US", {
      style: "currency", currency: "USD",
      minimumFractionDigits: digits, maximumFractionDigits: digits
    }).format(n);
  }
  function pct(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }
  function ms(value) {
    if (value === null || value === undefined) { return "—"; }
    var text = value < 10 ? value.toFixed(2) : value < 1000 ? value.toFixed(1)
      : Math.round(value).toLocaleString("en-US");
    return text + " ms";
  }
  function count(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US");
  }
  function when(iso) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }
  function tierClass(tier) { return "tier-" + (TIERS.indexOf(tier) >= 0 ? tier : "other"); }

  // --- small DOM helpers ---
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function svg(tag, attrs, title) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (title !== undefined) {
      var t = document.createElementNS(SVG, "title");
      t.textContent = title;
      node.appendChild(t);
    }
    return node;
  }
  function fillTable(id, rows, cells) {
    var body = $(id).tBodies[0];
    body.replaceChildren();
    rows.forEach(function (row) {
      var tr = el("tr");
      cells(row).forEach(function (cell) {
        tr.appendChild(el("td", cell.cls ? { "class": cell.cls } : {}, cell.text));
      });
      body.appendChild(tr);
    });
    if (!rows.length) {
      var empty = el("td", { "class": "muted" }, "nothing in this period");
      empty.colSpan = $(id).tHead.rows[0].cells.length;
      body.appendChild(el("tr")).appendChild(empty);
    }
  }
  function num(text) { return { text: text, cls: "num" }; }

  // --- charts ---
  function niceMax(value) {
    if (!(value > 0)) { return 1; }
    var step = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * step >= value) { return steps[i] * step; }
    }
    return 10 * step;
  }
  function dailyChart(days) {
    var box = $("daily-chart");
    box.replaceChildren();
    if (!days.length) { box.appendChild(el("p", { "class": "muted" }, "No requests in this period.")); return; }
    var W = 640, H = 240, L = 64, R = 8, T = 10, B = 26;
    var top = niceMax(Math.max.apply(null, days.map(function (d) {
      return Math.max(Number(d.baseline_cost_usd), Number(d.cost_usd));
    })));
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "spend and spend without routing per day" });
    var plotH = H - T - B, plotW = W - L - R;
    for (var g = 0; g <= 5; g++) {
      var y = T + plotH - plotH * g / 5;
      root.appendChild(svg("line", { x1: L, x2: W - R, y1: y, y2: y, "class": "grid" }));
      var label = svg("text", { x: L - 6, y: y + 4, "text-anchor": "end" });
      label.textContent = "$" + parseFloat((top * g / 5).toPrecision(4));
      root.appendChild(label);
    }
    var slot = plotW / days.length, bar = Math.min(32, Math.max(1, slot * 0.38));
    var every = Math.ceil(days.length / 8);
    days.forEach(function (d, i) {
      var x = L + i * slot + slot / 2 - bar;
      var base = Number(d.baseline_cost_usd), cost = Number(d.cost_usd);
      var group = svg("g", { "class": "day", "data-day": d.day, "data-cost": d.cost_usd,
        "data-baseline": d.baseline_cost_usd },
        d.day + ": " + count(d.requests) + " requests, spend " + usd(d.cost_usd) +
        ", without routing " + usd(d.baseline_cost_usd) + ", saved " + usd(d.savings_usd));
      var bh = plotH * base / top, ch = plotH * cost / top;
      group.appendChild(svg("rect", { x: x, y: T + plotH - bh, width: bar, height: bh, "class": "bar-baseline" }));
      group.appendChild(svg("rect", { x: x + bar, y: T + plotH - ch, width: bar, height: ch, "class": "bar-spend" }));
      root.appendChild(group);
      if (i % every === 0) {
        var tick = svg("text", { x: x + bar, y: H - 8, "text-anchor": "middle" });
        tick.textContent = d.day.slice(5);
        root.appendChild(tick);
      }
    });
    box.appendChild(root);
  }
  function tierMix(mix) {
    var box = $("tier-chart"), list = $("tier-mix");
    box.replaceChildren();
    list.replaceChildren();
    if (!mix.length) { box.appendChild(el("p", { "class": "muted" }, "No routed requests in this period.")); return; }
    var W = 640, H = 40, x = 0;
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "tier mix" });
    mix.forEach(function (t) {
      var w = W * t.share;
      root.appendChild(svg("rect", { x: x, y: 0, width: w, height: H, "class": tierClass(t.tier) },
        t.tier + ": " + pct(t.share) + " (" + count(t.requests) + " requests)"));
      x += w;
      var item = el("li", { "class": "tier-share", "data-tier": t.tier });
      item.appendChild(el("span", { "class": "swatch " + tierClass(t.tier) }));
      item.appendChild(el("span", { "class": "name" }, t.tier));
      item.appendChild(el("span", { "class": "share" }, pct(t.share)));
      item.appendChild(el("span", { "class": "count" }, count(t.requests) + " req"));
      list.appendChild(item);
    });
    box.appendChild(root);
  }

  // --- the report ---
  function render(report) {
    var t = report.totals;
    setText("period", (report.period.since ? when(report.period.since) : "from the first record") +
      " → " + when(report.period.until) + " (" + Number(report.period.days).toFixed(1) + " days)");
    setText("kpi-requests", count(t.requests));
    setText("kpi-routed", count(t.routed));
    setText("kpi-errors", count(t.errors));
    setText("kpi-spend", usd(t.cost_usd));
    setText("kpi-baseline", usd(t.baseline_cost_usd));
    setText("kpi-savings", usd(t.savings_usd));
    setText("kpi-savings-pct", pct(t.savings_pct));
    setText("kpi-cpt-after", usd(t.cost_per_task_usd));
    setText("kpi-cpt-before", usd(t.baseline_cost_per_task_usd));
    setText("kpi-escalation", pct(t.escalation_rate));
    setText("kpi-escalations", count(t.escalations));
    setText("kpi-fallback", pct(t.fallback_rate));
    setText("kpi-quality", pct(t.quality_retention));
    setText("kpi-quality-scored", count(t.quality_scored));
    setText("kpi-overhead-p50", ms(t.overhead_ms.p50));
    setText("kpi-overhead-p95", ms(t.overhead_ms.p95));
    setText("kpi-overhead-p99", ms(t.overhead_ms.p99));
    setText("kpi-projected", usd(t.projected_monthly_usd));
    setText("kpi-projected-baseline", usd(t.projected_monthly_baseline_usd));

    var alerts = $("alerts");
    alerts.replaceChildren();
    report.alerts.forEach(function (a) {
      alerts.appendChild(el("li", { "class": a.firing ? "firing" : "ok", "data-alert": a.name },
        (a.firing ? "FIRING: " : "ok: ") + a.message));
    });
    if (!report.alerts.length) { alerts.appendChild(el("li", {}, "no alerts configured")); }

    dailyChart(report.daily);
    tierMix(report.tier_mix);

    setText("groups-by", report.by || "—");
    fillTable("groups", report.groups, function (g) {
      return [{ text: g.key === null ? "(none)" : String(g.key) }, num(count(g.requests)),
        num(usd(g.cost_usd)), num(usd(g.baseline_cost_usd)), num(pct(g.savings_pct)),
        num(usd(g.cost_per_task_usd)), num(usd(g.baseline_cost_per_task_usd)),
        num(pct(g.escalation_rate)), num(pct(g.quality_mean))];
    });
    fillTable("task-types", report.task_types.slice(0, 10), function (r) {
      return [{ text: r.task_type === null ? "(none)" : r.task_type }, num(count(r.requests)),
        num(usd(r.cost_usd)), num(usd(r.savings_usd))];
    });
    fillTable("recent", report.recent, function (r) {
      var routed = (r.chosen_model || "—") + (r.chosen_tier ? " (" + r.chosen_tier + ")" : "");
      if (r.served_model && r.served_model !== r.chosen_model) { routed += " → " + r.served_model; }
      return [{ text: when(r.time) }, { text: r.requested_model || "—" }, { text: routed },
        { text: r.task_type || "—" }, num(String(r.status)), num(usd(r.cost_usd)),
        num(usd(r.baseline_cost_usd)), num(r.total_ms === null ? "—" : r.total_ms.toFixed(0)),
        { text: r.reason || "", cls: "reason" }];
    });
    setText("generated", "generated " + when(report.generated_at));
    $("report").hidden = false;
  }

  function notice(text) {
    var box = $("notice");
    box.textContent = text;
    box.hidden = false;
  }
  function errorMessage(response, body) {
    if (body && body.error && body.error.message) { return body.error.message; }
    return "the proxy answered " + response.status;
  }
  function getJSON(response) {
    return response.json().catch(function () { return null; }).then(function (body) {
      if (!response.ok) { throw new Error(errorMessage(response, body)); }
      return body;
    });
  }

  function load() {
    document.body.dataset.state = "loading";
    var query = "?since=" + encodeURIComponent($("since").value) + "&by=" + encodeURIComponent($("by").value);
    return fetch(config.api + "/report" + query, { credentials: "same-origin", cache: "no-store" })
      .then(getJSON)
      .then(function (report) { $("notice").hidden = true; render(report); document.body.dataset.state = "ready"; })
      .catch(function (err) { notice("Could not load the report: " + err.message); document.body.dataset.state = "error"; });
  }

  // --- the Model Selector ---
  function recommend(event) {
    event.preventDefault();
    var section = $("selector"), button = $("selector-submit");
    var body = { task: $("selector-task").value };
    var taskType = $("selector-task-type").value.trim();
    if (taskType) { body.task_type = taskType; }
    section.dataset.state = "waiting";
    button.disabled = true;
    fetch(config.api + "/recommend", {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json" }, body: JSON.stringify(body)
    }).then(getJSON).then(function (rec) {
      setText("selector-model", rec.model);
      setText("selector-tier", rec.tier);
      setText("selector-max-tokens", count(rec.max_tokens));
      setText("selector-reason", rec.reason);
      var saved = rec.savings_fraction === null ? "" : ", " + pct(rec.savings_fraction) + " less";
      setText("selector-cost", usd(rec.estimated_cost_usd) + " vs " + usd(rec.baseline_cost_usd) +
        " on " + rec.baseline_model + saved + " (~" + count(rec.input_tokens_estimate) +
        " tokens in, " + count(rec.output_tokens_assumed) + " out assumed)");
      $("selector-error").hidden = true;
      $("selector-result").hidden = false;
      section.dataset.state = "done";
    }).catch(function (err) {
      setText("selector-error", err.message);
      $("selector-error").hidden = false;
      $("selector-result").hidden = true;
      section.dataset.state = "error";
    }).then(function () { button.disabled = false; });
  }

  function start() {
    var list = $("task-type-list");
    (config.task_types || []).forEach(function (name) { list.appendChild(el("option", { value: name })); });
    if (config.mode === "static") {
      $("selector-offline").hidden = false;
      Array.prototype.forEach.call($("selector-form").elements, function (e) { e.disabled = true; });
      render(config.report);
      document.body.dataset.state = "ready";
      return;
    }
    $("selector-form").addEventListener("submit", recommend);
    if (!config.recording) {
      notice("Recording is off: this proxy runs with --no-record, so there are no records to " +
        "show. The Model Selector below still works.");
      document.body.dataset.state = "ready";
      return;
    }
    $("since").value = config.since || "30d";
    $("by").value = config.by || "tier";
    $("controls").hidden = false;
    $("controls").addEventListener("submit", function (event) { event.preventDefault(); load(); });
    $("since").addEventListener("change", load);
    $("by").addEventListener("change", load);
    load();
  }
  start();
}());
