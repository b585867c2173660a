// Staff console helpers (no inline scripts: the pages' CSP allows only this origin's files).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');

  // fetch() with the page's CSRF token and JSON in/out; rejects with the problem's detail.
  window.consoleFetch = function (url, options) {
    options = options || {};
    var headers = Object.assign({ "X-CSRF-Token": meta ? meta.content : "",
      "Accept": "application/json" }, options.headers || {});
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    return fetch(url, { method: options.method || "GET", headers: headers, body: options.body,
      credentials: "same-origin" }).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      var body = type.indexOf("json") >= 0 ? resp.json() : resp.text();
      return body.then(function (data) {
        if (!resp.ok) {
          var err = new Error((data && data.detail) || ("请求失败（" + resp.status + "）"));
          err.status = resp.status; err.data = data;
          throw err;
        }
        return data;
      });
    });
  };

  // <form data-confirm="..."> asks before submitting.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
