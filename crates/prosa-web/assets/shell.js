// Every signed-in page: the badge of untreated notifications on the "Avaliações" link, kept
// live over the WebSocket (a new one appears at once, no reload), and — on the panel — whether
// the human queue is open now ("Fila fechada — abre segunda-feira às 08:00").
(function () {
  "use strict";

  var link = document.querySelector('.topbar nav a[href="/ratings"]');
  var badge = null;
  if (link) {
    badge = document.createElement("span");
    badge.className = "badge nav-badge";
    badge.id = "nav-notifications";
    badge.hidden = true;
    link.appendChild(badge);
    var live = document.createElement("span");
    live.className = "sr-only";
    live.setAttribute("aria-live", "polite");
    link.appendChild(live);
  }

  var last = null;
  function refresh() {
    if (!badge) return;
    fetch("/api/v1/notifications/unread-count", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) return;
        var n = j.count || 0;
        badge.hidden = !n;
        badge.textContent = n ? String(n) : "";
        link.setAttribute("aria-label", n ? "Avaliações (" + n + " não tratadas)" : "Avaliações");
        if (last !== null && n > last) live.textContent = "Nova avaliação para tratar";
        last = n;
      })
      .catch(function () {});
  }

  var hours = document.getElementById("pn-hours");
  function queue() {
    if (!hours) return;
    fetch("/api/v1/service-hours/queue", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || !j.inboxes || !j.inboxes.length) { hours.hidden = true; return; }
        var closed = j.inboxes.filter(function (i) { return !i.open; });
        var text;
        if (!closed.length) {
          text = "Fila aberta";
        } else if (closed.length === j.inboxes.length) {
          var next = closed.map(function (i) { return i.next_opening; }).filter(Boolean);
          var same = next.length && next.every(function (n) { return n === next[0]; });
          text = "Fila fechada" + (same ? " — abre " + next[0] : "");
        } else {
          text = "Fila fechada em " + closed.map(function (i) {
            return i.name + (i.next_opening ? " (abre " + i.next_opening + ")" : "");
          }).join(", ");
        }
        hours.textContent = text;
        hours.className = "queue-hours " + (closed.length ? "closed" : "open");
        hours.hidden = false;
      })
      .catch(function () {});
  }

  refresh();
  queue();
  if (hours) setInterval(queue, 60000);

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
  if (badge && "WebSocket" in window) connect();
})();
