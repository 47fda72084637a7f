// Administration pages and rated conversations: the two-list operator picker, and the
// "Avaliações" link with the count of untreated notifications, kept live over the WebSocket.
(function () {
  "use strict";

  function move(from, to) {
    var picked = Array.prototype.filter.call(from.options, function (o) { return o.selected; });
    picked.forEach(function (o) { o.selected = false; to.appendChild(o); });
    return picked.length;
  }

  document.querySelectorAll("[data-picker]").forEach(function (box) {
    var available = box.querySelector("#pick-available");
    var selected = box.querySelector("#pick-selected");
    if (!available || !selected) return;
    var live = document.createElement("p");
    live.className = "sr-only";
    live.setAttribute("aria-live", "polite");
    box.appendChild(live);
    function add() { var n = move(available, selected); if (n) live.textContent = n + " operador(es) adicionado(s)"; }
    function remove() { var n = move(selected, available); if (n) live.textContent = n + " operador(es) removido(s)"; }
    box.querySelector("[data-pick=add]").addEventListener("click", add);
    box.querySelector("[data-pick=remove]").addEventListener("click", remove);
    available.addEventListener("dblclick", add);
    selected.addEventListener("dblclick", remove);
    available.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); add(); } });
    selected.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === "Delete") { e.preventDefault(); remove(); } });
    // Only the chosen list is submitted: select all of it on submit.
    var form = box.closest("form");
    if (form) form.addEventListener("submit", function () {
      Array.prototype.forEach.call(selected.options, function (o) { o.selected = true; });
    });
  });

  // The "Avaliações" link in the top navigation, with a badge of untreated notifications.
  var nav = document.querySelector(".topbar nav ul");
  if (!nav) return;
  var li = document.createElement("li");
  var a = document.createElement("a");
  a.href = "/ratings";
  a.textContent = "Avaliações";
  if (location.pathname.indexOf("/ratings") === 0) a.setAttribute("aria-current", "page");
  var badge = document.createElement("span");
  badge.className = "badge nav-badge";
  badge.setAttribute("aria-live", "polite");
  badge.hidden = true;
  a.appendChild(badge);
  li.appendChild(a);
  nav.appendChild(li);

  function refresh() {
    fetch("/api/v1/notifications/unread-count", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) return;
        badge.hidden = !j.count;
        badge.textContent = j.count ? String(j.count) : "";
        badge.setAttribute("aria-label", j.count + " avaliações não tratadas");
      })
      .catch(function () {});
  }
  refresh();

  var since = null;
  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(proto + "//" + location.host + "/api/v1/ws" + (since ? "?since=" + since : ""));
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.id) since = f.id;
      if (f.type === "hello" && f.cursor) since = f.cursor;
      if (f.type === "notification_created") refresh();
    };
    ws.onclose = function () { setTimeout(connect, 5000); };
  }
  if ("WebSocket" in window) connect();
})();
