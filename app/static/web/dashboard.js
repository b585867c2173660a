// Operator dashboard: fetches /console/dashboard/data.json every N seconds and redraws the
// ECharts charts, key figures and warnings in place (no page reload). The figures are the
// server's (app/disclosure/dashboard.py); this file only draws them. Amounts arrive in fen.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !window.echarts) { return; }
  var source = root.getAttribute("data-source");
  var refreshMs = Math.max(5, parseInt(root.getAttribute("data-refresh-seconds"), 10) || 15) * 1000;

  var INSURANCE_TYPES = { employee: "职工医保", resident: "城乡居民医保", unknown: "未核实" };
  var SOURCES = {
    personal_account: "医保个人账户", wechat: "微信支付", employer: "用人单位",
    charity: "慈善组织", relief_fund: "救助资金", paired_assistance: "结对帮扶"
  };
  var STAGES = [
    ["received", "已受理"], ["in_review", "审核中"], ["approved", "待支付"],
    ["paid", "已赔付"], ["rejected", "已拒赔"], ["closed", "已结案（无赔款）"],
    ["reversed", "医院已撤销结算"]
  ];
  var PALETTE = ["#0b6e4f", "#2b8cbe", "#f0a30a", "#9b59b6", "#e76f51", "#6c757d"];

  var charts = {};
  function chart(id) {
    if (!charts[id]) {
      var el = document.getElementById(id);
      charts[id] = echarts.init(el, null, { renderer: "canvas" });
    }
    return charts[id];
  }
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
  });

  function yuan(fen) { return fen / 100; }
  function yuanText(fen) {
    return (fen / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function pct(bp) { return bp === null || bp === undefined ? "—" : (bp / 100).toFixed(2) + "%"; }
  function setText(name, text) {
    var nodes = root.querySelectorAll('[data-figure="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = text; }
  }
  // Pie slices in the labels' order; an empty slice stays in the data (and the legend) unlabelled.
  function entries(map, labels) {
    return Object.keys(labels).map(function (key) {
      var shown = map[key] > 0;
      return { name: labels[key], value: map[key], label: { show: shown }, labelLine: { show: shown } };
    });
  }

  function drawKpis(d) {
    setText("product", d.product.plan_year + " · " + d.product.name);
    setText("enrollment.today", d.enrollment.today.toLocaleString("zh-CN"));
    setText("enrollment.total", d.enrollment.total.toLocaleString("zh-CN"));
    setText("enrollment.days", String(d.enrollment.by_day.length));
    setText("participation.rate", pct(d.participation.rate_bp));
    setText("participation.target", pct(d.participation.target_bp));
    setText("premiums.net", yuanText(d.premiums.net_fen));
    setText("loss.paid", yuanText(d.loss_ratio.claims_paid_fen));
    setText("loss.ratio", pct(d.loss_ratio.loss_ratio_bp));
    setText("loss.projected", pct(d.loss_ratio.projected_bp));
    setText("loss.method", "预测方法：" + d.loss_ratio.projection_method);
    setText("warnings.count", String(d.warnings.length));
    setText("estimates.shown", d.value_estimates.shown.toLocaleString("zh-CN"));
    setText("estimates.converted", d.value_estimates.converted.toLocaleString("zh-CN"));
    setText("estimates.rate", pct(d.value_estimates.conversion_bp));
  }

  function drawWarnings(d) {
    var list = document.getElementById("dash-warnings");
    list.textContent = "";
    if (!d.warnings.length) {
      var ok = document.createElement("li");
      ok.className = "none";
      ok.textContent = "暂无预警：各项指标在设定阈值之内。";
      list.appendChild(ok);
      return;
    }
    d.warnings.forEach(function (w) {
      var li = document.createElement("li");
      li.className = w.level;
      li.setAttribute("data-code", w.code);
      var badge = document.createElement("span");
      badge.className = "badge " + (w.level === "critical" ? "bad" : "warn");
      badge.textContent = w.level === "critical" ? "严重" : "关注";
      var text = document.createElement("span");
      text.textContent = w.message;
      li.appendChild(badge); li.appendChild(text);
      list.appendChild(li);
    });
  }

  function drawCharts(d) {
    var days = d.enrollment.by_day;
    chart("chart-daily").setOption({
      color: PALETTE, tooltip: { trigger: "axis" },
      grid: { left: 40, right: 16, top: 20, bottom: 30 },
      xAxis: { type: "category", data: days.map(function (x) { return x.date.slice(5); }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: "参保人数", type: "bar", data: days.map(function (x) { return x.people; }) }]
    });

    var p = d.participation;
    chart("chart-participation").setOption({
      series: [{
        name: "目标完成度", type: "gauge", min: 0, max: 100,
        progress: { show: true, width: 14 }, axisLine: { lineStyle: { width: 14 } },
        detail: { formatter: "{value}%", fontSize: 20, offsetCenter: [0, "60%"] },
        title: { offsetCenter: [0, "85%"] },
        data: [{ name: p.target_people === null ? "未设参保目标"
            : "目标 " + p.target_people.toLocaleString("zh-CN") + " 人的完成度",
          value: p.progress_bp === null ? 0 : Math.min(p.progress_bp, 10000) / 100 }]
      }]
    });

    var areas = d.enrollment.by_area.slice().reverse();
    chart("chart-area").setOption({
      color: PALETTE, tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 80, right: 24, top: 10, bottom: 24 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: areas.map(function (a) { return a.name; }) },
      series: [{ name: "参保人数", type: "bar", data: areas.map(function (a) { return a.people; }) }]
    });

    var pie = function (name, data) {
      return {
        color: PALETTE, tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
        legend: { bottom: 0, type: "scroll", itemWidth: 12, itemGap: 8, textStyle: { fontSize: 11 } },
        series: [{ name: name, type: "pie", radius: ["30%", "55%"], center: ["50%", "45%"],
          label: { formatter: "{b}\n{c}", overflow: "none" }, data: data }]
      };
    };
    chart("chart-type").setOption(pie("参保人数", entries(d.enrollment.by_insurance_type, INSURANCE_TYPES)));
    chart("chart-source").setOption(pie("参保人数", entries(d.enrollment.by_funding_source, SOURCES)));

    var bySource = d.premiums.collected_by_source_fen;
    chart("chart-premiums").setOption({
      color: PALETTE, tooltip: { trigger: "axis" },
      grid: { left: 70, right: 16, top: 16, bottom: 50 },
      xAxis: { type: "category", data: Object.keys(SOURCES).map(function (k) { return SOURCES[k]; }),
        axisLabel: { interval: 0, rotate: 20 } },
      yAxis: { type: "value" },
      series: [{ name: "保费（元）", type: "bar",
        data: Object.keys(SOURCES).map(function (k) { return yuan(bySource[k]); }) }]
    });

    chart("chart-claims").setOption({
      color: ["#2b8cbe"], tooltip: { trigger: "axis" },
      grid: { left: 40, right: 16, top: 16, bottom: 50 },
      xAxis: { type: "category", data: STAGES.map(function (s) { return s[1]; }),
        axisLabel: { interval: 0, rotate: 20 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: "理赔件数", type: "bar", label: { show: true, position: "top" },
        data: STAGES.map(function (s) { return d.claims[s[0]]; }) }]
    });

    var po = d.payouts;
    chart("chart-payouts").setOption({
      color: ["#0b6e4f", "#f0a30a"], tooltip: { trigger: "axis" }, legend: { bottom: 0 },
      grid: { left: 40, right: 70, top: 16, bottom: 50 },
      xAxis: { type: "category", data: ["成功", "失败", "处理中"] },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value" }],
      series: [
        { name: "转账笔数", type: "bar", data: [po.paid, po.failed, po.pending] },
        { name: "金额（元）", type: "bar", yAxisIndex: 1,
          data: [yuan(po.paid_fen), yuan(po.failed_fen), yuan(po.pending_fen)] }
      ]
    });

    var lr = d.loss_ratio;
    // The dial runs to 150%, or further (in steps of 50%) when a ratio is beyond it.
    var highest = Math.max(lr.loss_ratio_bp || 0, lr.projected_bp || 0) / 100;
    var max = Math.max(150, Math.ceil(highest / 50) * 50);
    var stops = [];
    var floor = lr.floor_bp === null ? null : lr.floor_bp / 100;
    var low = lr.corridor_low_bp === null ? null : lr.corridor_low_bp / 100;
    var high = lr.corridor_high_bp === null ? null : lr.corridor_high_bp / 100;
    if (floor !== null) { stops.push([floor / max, "#e76f51"]); }
    if (low !== null) { stops.push([low / max, "#f0a30a"]); }
    if (high !== null) { stops.push([high / max, "#2f855a"]); }
    stops.push([1, high !== null ? "#c53030" : "#2f855a"]);
    var points = [];
    if (lr.loss_ratio_bp !== null) {
      points.push({ name: "实际", value: lr.loss_ratio_bp / 100, title: { offsetCenter: ["-45%", "75%"] },
        detail: { offsetCenter: ["-45%", "98%"] } });
    }
    if (lr.projected_bp !== null) {
      points.push({ name: "预测", value: lr.projected_bp / 100, title: { offsetCenter: ["45%", "75%"] },
        detail: { offsetCenter: ["45%", "98%"] }, itemStyle: { color: "#2b8cbe" } });
    }
    chart("chart-loss").setOption({
      series: [{
        name: "赔付率", type: "gauge", min: 0, max: max, splitNumber: max / 25 > 8 ? max / 50 : max / 25,
        axisLine: { lineStyle: { width: 12, color: stops } },
        axisLabel: { formatter: "{value}%", distance: 16 },
        pointer: { width: 5 }, anchor: { show: true, size: 10 },
        detail: { formatter: "{value}%", fontSize: 15 }, title: { fontSize: 12 },
        data: points
      }]
    }, { replaceMerge: ["series"] });
  }

  var status = document.getElementById("dash-updated");
  var errorBadge = document.getElementById("dash-error");
  function showError(message) {
    errorBadge.textContent = message;
    errorBadge.hidden = false;
  }

  // An ended session sends the page's request to the sign-in page (a redirect) or answers 401;
  // anything else that is not the figures is said as the server says it (a problem body's
  // Chinese detail: 404 for a product that is not there), and a refusal that will not change
  // by asking again (4xx other than 429) stops the polling.
  function failure(message, status) {
    return Object.assign(new Error(message), { stop: status >= 400 && status < 500 && status !== 429 });
  }
  function load() {
    return fetch(source, { headers: { "Accept": "application/json" }, credentials: "same-origin",
      cache: "no-store" }).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      var signIn = resp.redirected && resp.url.indexOf("/console/sign-in") >= 0;
      if (signIn || resp.status === 401) {
        throw Object.assign(new Error("登录已失效，请重新登录"), { stop: true, expired: true });
      }
      if (!/^application\/(problem\+)?json/.test(type)) {
        throw failure("数据更新失败（" + resp.status + "），请稍后刷新页面", resp.status);
      }
      return resp.json().then(function (body) {
        if (!resp.ok) {
          throw failure(body.detail || ("数据更新失败（" + resp.status + "）"), resp.status);
        }
        return body;
      });
    }).then(function (d) {
      drawKpis(d);
      drawWarnings(d);
      drawCharts(d);
      window.huiminDashboard.data = d;
      window.huiminDashboard.updates += 1;
      errorBadge.hidden = true;
      status.textContent = "更新于 " + new Date().toLocaleTimeString("zh-CN", { hour12: false });
    }).catch(function (err) {
      showError(err.message || "数据更新失败，稍后重试");
      window.huiminDashboard.error = { message: err.message, expired: !!err.expired };
      if (err.stop) { window.huiminDashboard.stopped = true; }
    }).then(function () {
      if (!window.huiminDashboard.stopped) { window.setTimeout(load, refreshMs); }
    });
  }

  // Read by people debugging in the browser console and by the browser tests.
  window.huiminDashboard = { data: null, updates: 0, stopped: false, error: null };
  var select = document.querySelector("select[data-autosubmit]");
  if (select) { select.addEventListener("change", function () { select.form.submit(); }); }
  load();
})();
