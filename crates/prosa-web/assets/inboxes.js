// Inbox pages: "Copiar" buttons, and the Evolution pairing box following the connection
// state (a short poll of /api/v1/inboxes/{id}/evolution/state) until "Conectado".
(function () {
  "use strict";

  document.querySelectorAll("[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      var input = document.getElementById(b.getAttribute("data-copy"));
      if (!input) return;
      input.select();
      var done = function () { b.textContent = "Copiado!"; setTimeout(function () { b.textContent = "Copiar"; }, 2000); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });

  var box = document.querySelector("[data-pairing]");
  if (!box || box.getAttribute("data-state") === "open") return;
  var id = box.getAttribute("data-pairing");
  var stateEl = document.getElementById("pair-state");
  var errorEl = document.getElementById("pair-error");
  var figure = document.getElementById("pair-qr");
  var img = document.getElementById("pair-qr-img");
  var form = box.querySelector("form");
  var failures = 0;

  function show(p) {
    box.setAttribute("data-state", p.state);
    if (p.state === "open") {
      stateEl.replaceChildren();
      var tag = document.createElement("span");
      tag.className = "tag ok";
      tag.textContent = "Conectado";
      stateEl.appendChild(tag);
      figure.hidden = true;
      if (form) form.hidden = true;
      errorEl.hidden = true;
      return true;
    }
    stateEl.replaceChildren(document.createTextNode("Estado: "));
    var strong = document.createElement("strong");
    strong.textContent = p.state_label;
    stateEl.appendChild(strong);
    if (p.qr && /^data:image\/(png|jpeg);base64,[A-Za-z0-9+\/=]+$/.test(p.qr)) {
      if (img.getAttribute("src") !== p.qr) img.setAttribute("src", p.qr);
      figure.hidden = false;
    }
    errorEl.hidden = !p.error;
    errorEl.textContent = p.error || "";
    return false;
  }

  function poll() {
    fetch("/api/v1/inboxes/" + encodeURIComponent(id) + "/evolution/state", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (p) {
        failures = 0;
        if (!show(p)) setTimeout(poll, 3000);
      })
      .catch(function () {
        failures += 1;
        if (failures < 20) setTimeout(poll, 5000);
      });
  }
  setTimeout(poll, 2000);
})();
