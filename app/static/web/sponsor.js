/* The sponsor console's roster upload and batch-enrollment progress bar (app/web/sponsor.py).
   Uploads the roster with fetch(), then (when asked, with the terms accepted) starts the batch
   enrollment and polls the job's status.json until it is finished, drawing the bar. Every POST
   carries the CSRF token from <meta name="csrf-token"> as the X-CSRF-Token header. */
(function () {
  "use strict";
  var POLL_MS = 700;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function $(id) { return document.getElementById(id); }

  function show(el, on) { if (el) { el.hidden = !on; } }

  function fail(message) {
    var box = $("roster-error");
    box.textContent = message;
    show(box, true);
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          throw new Error(data.detail || data.title || ("请求失败（" + resp.status + "）"));
        }
        return data;
      });
    });
  }

  function drawJob(job) {
    var pct = Math.max(0, Math.min(100, Number(job.percent) || 0));
    $("job-bar-fill").style.width = pct + "%";
    $("job-bar-text").textContent = pct + "%";
    $("job-bar").setAttribute("aria-valuenow", String(pct));
    $("job-status-label").textContent = job.status_label;
    var counts = "共 " + job.total + " 人，已投保 " + job.done + " 人，未投保 " + job.failed + " 人";
    if (job.eta_seconds !== null && job.eta_seconds !== undefined && !job.finished) {
      counts += "，预计还需 " + job.eta_seconds + " 秒";
    }
    $("job-counts").textContent = counts;
    if (job.finished) {
      $("job-rows-link").setAttribute("href", job.rows_xlsx_url);
      show($("job-done"), true);
      $("job-progress").setAttribute("data-finished", job.status);
    }
  }

  function poll(statusUrl) {
    show($("job-progress"), true);
    fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) {
        if (!resp.ok) { throw new Error("无法读取任务进度（" + resp.status + "）"); }
        return resp.json();
      })
      .then(function (job) {
        drawJob(job);
        if (!job.finished) { window.setTimeout(function () { poll(statusUrl); }, POLL_MS); }
      })
      .catch(function (err) { fail(err.message); });
  }

  /* While the start request is in flight (with no broker the job runs inside it), follow the
     programme's newest job: a job newer than the last one the page was rendered with. */
  function followLatest(form, pending) {
    var lastJob = Number(form.getAttribute("data-last-job")) || 0;
    function tick() {
      if (!pending.open) { return; }
      fetch(form.getAttribute("data-latest-url"), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      })
        .then(function (resp) { return resp.ok ? resp.json() : { job: null }; })
        .then(function (data) {
          if (pending.open && data.job && data.job.id > lastJob) { drawJob(data.job); }
        })
        .catch(function () { /* the start request reports any failure */ })
        .then(function () { if (pending.open) { window.setTimeout(tick, POLL_MS); } });
    }
    window.setTimeout(tick, POLL_MS);
  }

  function startJob(form) {
    var body = new FormData();
    body.append("terms_version", form.elements.terms_version.value);
    body.append("terms_accepted", "yes");
    show($("job-progress"), true);
    $("job-status-label").textContent = "正在提交";
    var pending = { open: true };
    followLatest(form, pending);
    return post(form.getAttribute("data-job-url"), body)
      .then(function (job) {
        pending.open = false;
        form.setAttribute("data-last-job", String(job.id));
        drawJob(job);
        poll(job.status_url);
      }, function (err) {
        pending.open = false;
        throw err;
      });
  }

  function uploaded(upload) {
    var box = $("upload-result");
    box.textContent = "名单已上传：共 " + upload.rows_total + " 行，新加入 " + upload.added +
      " 人，已在名单 " + upload.already_listed + " 人，已投保 " + upload.already_insured +
      " 人，未通过校验 " + upload.rows_invalid + " 行。";
    var link = document.createElement("a");
    link.href = upload.report_xlsx_url;
    link.id = "upload-report-link";
    link.textContent = "下载逐行校验结果（XLSX）";
    box.appendChild(document.createTextNode(" "));
    box.appendChild(link);
    show(box, true);
  }

  var form = $("roster-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show($("roster-error"), false);
      var enroll = form.elements.enroll_after && form.elements.enroll_after.checked;
      var accepted = form.elements.terms_accepted && form.elements.terms_accepted.checked;
      if (enroll && !accepted) {
        fail("请先阅读并同意保险条款，或取消“上传后立即批量投保”");
        return;
      }
      var button = $("roster-submit");
      button.disabled = true;
      post(form.getAttribute("action"), new FormData(form))
        .then(function (upload) {
          uploaded(upload);
          if (enroll) { return startJob(form); }
          return null;
        })
        .catch(function (err) { fail(err.message); })
        .then(function () { button.disabled = false; });
    });
  }

  var progress = $("job-progress");
  if (progress && progress.getAttribute("data-status-url")) {
    poll(progress.getAttribute("data-status-url"));
  }
})();
