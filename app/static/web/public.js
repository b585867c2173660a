/* The disclosure page: draws the figures of GET /public/statistics with ECharts and refreshes
   them from that endpoint without a reload. No figure is computed here: every number shown is a
   cell of the API's answer (fen are only divided by 100 for display), and a suppressed cell is
   shown as "不公布", never guessed. */
(function () {
  "use strict";
  var script = document.currentScript;
  var api = script.getAttribute("data-api");
  var refreshSeconds = Math.max(parseInt(script.getAttribute("data-refresh"), 10) || 0, 10);
  var labels = JSON.parse(document.getElementById("stats-labels").textContent);
  var data = JSON.parse(document.getElementById("stats-data").textContent);
  var selected = 0;
  var charts = {};
  var SUPPRESSED = "不公布";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function yuanText(fen) {
    var whole = Math.floor(fen / 100), cents = fen % 100;
    return whole.toLocaleString("zh-CN") + "." + (cents < 10 ? "0" : "") + cents + " 元";
  }
  function cellText(cell, kind) {
    if (cell.suppressed) return SUPPRESSED;
    if (kind === "rate") return cell.display === null ? "—" : cell.display;
    if (cell.value === null) return "—";
    return kind === "fen" ? yuanText(cell.value) : cell.value.toLocaleString("zh-CN") + (kind === "people" ? " 人" : " 件");
  }
  function chartValue(cell, fen) {
    if (cell.suppressed || cell.value === null) return null;
    return fen ? cell.value / 100 : cell.value;
  }
  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    return charts[id];
  }

  var CARDS = [
    ["enrolled_people", "参保人数", "people"],
    ["participation_rate", "参保率", "rate"],
    ["premiums_collected_fen", "保费收入", "fen"],
    ["premiums_refunded_fen", "退保退费", "fen"],
    ["claims_received", "受理理赔", "count"],
    ["claims_paid", "已赔付", "count"],
    ["amount_paid_fen", "赔付金额", "fen"],
    ["loss_ratio", "赔付率", "rate"],
    ["average_claim_paid_fen", "平均赔付", "fen"],
    ["largest_claim_paid_fen", "最高单笔赔付", "fen"]
  ];

  function renderCards(year) {
    var box = document.getElementById("cards");
    box.textContent = "";
    CARDS.forEach(function (c) {
      var cell = year[c[0]];
      var card = el("div", "card" + (cell.suppressed ? " suppressed" : ""));
      card.setAttribute("data-figure", c[0]);
      card.appendChild(el("div", "card-label", c[1]));
      card.appendChild(el("div", "card-value", cellText(cell, c[2])));
      box.appendChild(card);
    });
  }

  function emptyNote(show) {
    return show ? [{ type: "text", left: "center", top: "middle",
                     style: { text: SUPPRESSED + "（人数过少）", fill: "#999", fontSize: 16 } }] : [];
  }

  function barOption(xs, values, name, fen) {
    // A hidden month still has its place on the axis, marked "不公布" instead of a bar.
    xs = xs.map(function (x, i) { return values[i] === null ? x + "\n" + SUPPRESSED : x; });
    return {
      graphic: emptyNote(values.length > 0 && values.every(function (v) { return v === null; })),
      grid: { left: 48, right: 12, top: 16, bottom: 28, containLabel: true },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? SUPPRESSED : v.toLocaleString("zh-CN"); } },
      xAxis: { type: "category", data: xs },
      yAxis: { type: "value", minInterval: fen ? 0 : 1 },
      series: [{ name: name, type: "bar", data: values, itemStyle: { color: "#0b5c7a" },
                 label: { show: xs.length <= 6, position: "top", formatter: function (p) { return p.value === null ? SUPPRESSED : p.value; } } }]
    };
  }

  function pieParts(group, labelPairs) {
    var shown = [], hidden = [];
    labelPairs.forEach(function (pair) {
      var cell = group[pair[0]];
      if (cell.suppressed) hidden.push(pair[1]);
      else if (cell.value) shown.push({ name: pair[1], value: cell.value, key: pair[0] });
    });
    return { shown: shown, hidden: hidden };
  }

  function render() {
    var product = data.products[selected];
    var year = product.year;
    document.getElementById("product-name").textContent = product.product_name + "（" + product.plan_year + " 年度）";
    document.querySelectorAll(".tab").forEach(function (tab, i) { tab.classList.toggle("active", i === selected); });
    renderCards(year);
    var months = product.months.map(function (m) { return m.period; });
    chart("chart-monthly").setOption(barOption(months, product.months.map(function (m) { return chartValue(m.enrolled_people, false); }), "参保人数"), true);
    chart("chart-paid").setOption(barOption(months, product.months.map(function (m) { return chartValue(m.amount_paid_fen, true); }), "赔付金额（元）", true), true);
    var types = pieParts(year.enrolled_by_insurance_type, labels.insurance_type);
    chart("chart-insurance").setOption({
      graphic: emptyNote(types.shown.length === 0 && types.hidden.length > 0),
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "62%"], center: ["50%", "45%"], data: types.shown, showEmptyCircle: false,
                 label: { position: "inside", formatter: "{c} 人", color: "#fff" } }]
    }, true);
    var sources = pieParts(year.enrolled_by_funding_source, labels.funding_source);
    var noBars = sources.shown.length === 0;  // every part withheld: the note, no empty axes
    chart("chart-sources").setOption({
      graphic: emptyNote(noBars && sources.hidden.length > 0),
      grid: { left: 8, right: 36, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "value", minInterval: 1, show: !noBars },
      yAxis: { type: "category", inverse: true, show: !noBars, data: sources.shown.map(function (s) { return s.name; }) },
      series: [{ name: "参保人数", type: "bar", data: sources.shown.map(function (s) { return s.value; }),
                 itemStyle: { color: "#2f8f6f" }, label: { show: true, position: "right" } }]
    }, true);
    var hidden = types.hidden.concat(sources.hidden);
    document.getElementById("suppressed-note").textContent = hidden.length
      ? "全年" + SUPPRESSED + "的分项：" + hidden.join("、") + "（人数过少或可据以推算）。"
      : "";
  }

  function stamp() {
    var now = new Date();
    document.getElementById("updated").textContent = "更新于 " + now.toLocaleTimeString("zh-CN", { hour12: false });
  }

  function refresh() {
    return fetch(api, { headers: { Accept: "application/json" }, cache: "no-cache" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (fresh) {
        var code = data.products[selected].product_code, year = data.products[selected].plan_year;
        data = fresh;
        selected = Math.max(0, data.products.findIndex(function (p) { return p.product_code === code && p.plan_year === year; }));
        if (data.products.length) render();
        stamp();
        return data;
      })
      .catch(function () { document.getElementById("updated").textContent = "刷新失败，稍后重试"; });
  }

  document.querySelectorAll(".tab").forEach(function (tab, i) {
    tab.addEventListener("click", function () { selected = i; render(); });
  });
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  render();
  stamp();
  setInterval(refresh, refreshSeconds * 1000);
  window.huiminDisclosure = {
    refresh: refresh,
    chart: function (id) { return charts[id]; },
    current: function () { return data.products[selected]; }
  };
})();
