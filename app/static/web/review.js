// Reviewer workspace: no double submission of a decision; the itemised-line editor.
(function () {
  "use strict";

  // A decision form is sent once: its button is disabled while the page reloads.
  document.querySelectorAll("#actions form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });

  var table = document.getElementById("lines-table");
  var form = document.getElementById("lines-form");
  if (!table || !form) { return; }
  var body = table.querySelector("tbody");
  var errorBox = document.getElementById("lines-error");

  // "12,345.6" -> 1234560 fen, exactly (no floating point); null when not an amount.
  function fen(text) {
    var value = String(text || "").replace(/[,\s]/g, "");
    if (value === "") { return 0; }
    var m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(value);
    if (!m) { return null; }
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
  }

  document.getElementById("add-line").addEventListener("click", function () {
    var row = body.querySelector(".line-row").cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) {
      input.value = input.name === "cnt" ? "1" : (/amt$/.test(input.name) ? "0.00" : "");
    });
    row.querySelector("input[name=det_item_fee_sumamt]").value = "";
    body.appendChild(row);
  });

  body.addEventListener("click", function (event) {
    if (event.target.classList.contains("remove-line") && body.rows.length > 1) {
      event.target.closest("tr").remove();
    }
  });

  function show(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var lines = [];
    var problems = [];
    Array.prototype.forEach.call(body.rows, function (row, i) {
      var get = function (name) { return row.querySelector("[name=" + name + "]").value.trim(); };
      var line = { med_list_codg: get("med_list_codg"), chrgitm_lv: get("chrgitm_lv") };
      if (get("name")) { line.name = get("name"); }
      if (get("cnt")) { line.cnt = get("cnt"); }
      [["det_item_fee_sumamt", "det_item_fee_sumamt_fen"], ["fulamt_ownpay_amt", "fulamt_ownpay_amt_fen"],
       ["overlmt_amt", "overlmt_amt_fen"]].forEach(function (pair) {
        var value = fen(get(pair[0]));
        if (value === null) { problems.push("第 " + (i + 1) + " 行金额格式不正确"); }
        line[pair[1]] = value;
      });
      // The rest of the amount is within the policy's scope (the parts add up to the amount).
      var rest = line.det_item_fee_sumamt_fen - line.fulamt_ownpay_amt_fen - line.overlmt_amt_fen;
      if (rest < 0) { problems.push("第 " + (i + 1) + " 行全自费与超限价之和大于金额"); }
      line.inscp_scp_amt_fen = rest;
      lines.push(line);
    });
    if (problems.length) { show(problems.join("；")); return; }
    show("");
    window.consoleFetch(form.getAttribute("data-url"), {
      method: "PUT", json: { lines: lines, reason: form.elements.reason.value.trim() }
    }).then(function (data) {
      window.location.assign(data.redirect);
    }).catch(function (err) {
      var detail = err.message;
      var rows = err.data && err.data.errors && (err.data.errors.rows || err.data.errors.json);
      if (rows) { detail += "：" + JSON.stringify(rows); }
      show(detail);
    });
  });
})();
