// The ERP connection page: shows the fields of the chosen ERP and runs "Testar conexão"
// with the values of the form (not saved) through the API, announcing the result.
(function () {
  "use strict";
  var form = document.getElementById("erp-form");
  if (!form) return;
  var kind = document.getElementById("erp-kind");
  function show() {
    form.querySelectorAll("[data-erp-kinds]").forEach(function (el) {
      el.hidden = el.getAttribute("data-erp-kinds").split(" ").indexOf(kind.value) < 0;
    });
  }
  kind.addEventListener("change", show);
  show();

  var button = document.getElementById("erp-test");
  var out = document.getElementById("erp-test-result");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  button.addEventListener("click", function (e) {
    e.preventDefault();
    var v = function (n) { var el = form.elements[n]; return el && el.value.trim() ? el.value.trim() : null; };
    var secs = parseFloat((v("timeout_secs") || "").replace(",", "."));
    var body = {
      kind: kind.value,
      base_url: v("base_url"),
      user_token: v("user_token"),
      password: v("password"),
      token: v("token"),
      timeout_ms: isNaN(secs) ? null : Math.round(secs * 1000),
      allow_private: form.elements.allow_private.checked
    };
    form.querySelectorAll(".field-error.js").forEach(function (el) { el.remove(); });
    out.className = "test-result busy";
    out.textContent = "Testando a conexão…";
    button.disabled = true;
    fetch("/api/v1/erp/test", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) { return { status: r.status, body: j }; });
    }).then(function (r) {
      if (r.status === 200) {
        out.className = "test-result " + (r.body.ok ? "ok" : "bad");
        out.textContent = r.body.message;
      } else {
        out.className = "test-result bad";
        out.textContent = r.body.message || "Não foi possível testar.";
        var name = r.body.field === "timeout_ms" ? "timeout_secs" : r.body.field;
        var field = name && form.elements[name];
        if (field && field.insertAdjacentElement) {
          var err = document.createElement("span");
          err.className = "field-error js";
          err.setAttribute("role", "alert");
          err.textContent = r.body.message;
          field.insertAdjacentElement("afterend", err);
        }
      }
    }).catch(function () {
      out.className = "test-result bad";
      out.textContent = "Não foi possível falar com o servidor do Prosa.";
    }).then(function () { button.disabled = false; });
  });
})();
