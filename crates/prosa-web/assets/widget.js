/* Prosa website chat widget. Embed with:
   <script src="https://prosa.example/widget.js" data-inbox="ID" async></script>
   Optional identity (verified by Prosa): data-identifier="..." data-identity-hash="<HMAC-SHA256 hex>". */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-inbox]');
  if (!script || window.__prosaChat) { return; }
  window.__prosaChat = true;
  var inbox = script.getAttribute("data-inbox");
  var base = new URL(script.src, location.href).origin;
  var wsBase = base.replace(/^http/, "ws");
  var key = "prosa.webchat." + inbox;
  var store = {
    get: function (k) { try { return localStorage.getItem(key + "." + k); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(key + "." + k, v); } catch (e) { /* private mode */ } }
  };

  var token = store.get("token");
  var lastId = null;          // last message id received in this page
  var seen = {};              // message ids shown
  var pending = {};           // client_id -> frame not yet acknowledged
  var pendingEl = {};         // client_id -> element
  var socket = null;
  var retry = 0;
  var online = true;
  var hasHistory = false;
  var typingTimer = null;
  var lastTypingSent = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text != null) { e.textContent = text; }
    return e;
  }
  function clientId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  var css = el("link");
  css.rel = "stylesheet";
  css.href = base + "/widget.css";
  document.head.appendChild(css);

  var root = el("div", "prosa-w");
  var button = el("button", "prosa-w-launcher");
  button.type = "button";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "prosa-w-panel");
  // A drawn speech bubble: an emoji depends on the visitor having an emoji font.
  var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("class", "prosa-w-launcher-icon");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "20");
  icon.setAttribute("height", "20");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  var bubble = document.createElementNS("http://www.w3.org/2000/svg", "path");
  bubble.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  bubble.setAttribute("fill", "currentColor");
  icon.appendChild(bubble);
  button.appendChild(icon);
  button.appendChild(el("span", "prosa-w-launcher-text", "Fale conosco"));

  var panel = el("section", "prosa-w-panel");
  panel.id = "prosa-w-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "prosa-w-title");
  panel.hidden = true;

  var head = el("header", "prosa-w-head");
  var title = el("h2", "prosa-w-title", "Atendimento");
  title.id = "prosa-w-title";
  var status = el("p", "prosa-w-status", "Conectando…");
  var close = el("button", "prosa-w-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Fechar o chat");
  var headText = el("div");
  headText.appendChild(title);
  headText.appendChild(status);
  head.appendChild(headText);
  head.appendChild(close);

  var log = el("ol", "prosa-w-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Mensagens");
  var typing = el("p", "prosa-w-typing", "Atendente digitando…");
  typing.hidden = true;
  typing.setAttribute("aria-live", "polite");
  // The place in the queue, live: always in the page (empty when there is nothing to say) so
  // screen readers announce its changes.
  var queueLine = el("p", "prosa-w-queue");
  queueLine.setAttribute("role", "status");
  queueLine.setAttribute("aria-live", "polite");
  queueLine.setAttribute("aria-atomic", "true");
  var queueTimer = null;

  var form = el("form", "prosa-w-form");
  var label = el("label", "prosa-w-sr", "Sua mensagem");
  label.htmlFor = "prosa-w-input";
  var input = el("textarea", "prosa-w-input");
  input.id = "prosa-w-input";
  input.rows = 1;
  input.maxLength = 4000;
  input.placeholder = "Escreva sua mensagem";
  var send = el("button", "prosa-w-send", "Enviar");
  send.type = "submit";
  // Attachments: an image or a PDF up to 5 MB (checked again by Prosa, from the bytes).
  var fileInput = el("input", "prosa-w-sr");
  fileInput.type = "file";
  fileInput.id = "prosa-w-file";
  fileInput.accept = "image/png,image/jpeg,image/gif,image/webp,application/pdf";
  fileInput.tabIndex = -1;
  fileInput.setAttribute("aria-hidden", "true");
  var attach = el("button", "prosa-w-attach");
  attach.type = "button";
  attach.setAttribute("aria-label", "Anexar imagem ou PDF");
  attach.title = "Anexar imagem ou PDF (até 5 MB)";
  var clip = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  clip.setAttribute("viewBox", "0 0 24 24");
  clip.setAttribute("width", "20");
  clip.setAttribute("height", "20");
  clip.setAttribute("aria-hidden", "true");
  clip.setAttribute("focusable", "false");
  var clipPath = document.createElementNS("http://www.w3.org/2000/svg", "path");
  clipPath.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z");
  clipPath.setAttribute("fill", "currentColor");
  clip.appendChild(clipPath);
  attach.appendChild(clip);
  form.appendChild(label);
  form.appendChild(fileInput);
  form.appendChild(attach);
  form.appendChild(input);
  form.appendChild(send);

  var offline = el("form", "prosa-w-offline");
  offline.hidden = true;
  offline.appendChild(el("p", "prosa-w-offline-intro",
    "No momento não há atendentes disponíveis. Deixe sua mensagem e retornamos assim que possível."));
  function field(name, text, type, auto) {
    var wrap = el("p", "prosa-w-field");
    var l = el("label", null, text);
    var f = el(type === "textarea" ? "textarea" : "input");
    f.name = name;
    f.id = "prosa-w-off-" + name;
    f.required = true;
    if (type !== "textarea") { f.type = type; }
    if (auto) { f.autocomplete = auto; }
    l.htmlFor = f.id;
    wrap.appendChild(l);
    wrap.appendChild(f);
    offline.appendChild(wrap);
    return f;
  }
  var offName = field("name", "Nome", "text", "name");
  var offContact = field("contact", "E-mail ou telefone", "text", "email");
  var offMessage = field("message", "Mensagem", "textarea");
  offMessage.maxLength = 4000;
  var offSend = el("button", "prosa-w-send", "Enviar mensagem");
  offSend.type = "submit";
  offline.appendChild(offSend);
  var offStatus = el("p", "prosa-w-offline-status");
  offStatus.setAttribute("aria-live", "polite");
  offline.appendChild(offStatus);

  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(queueLine);
  panel.appendChild(offline);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(button);

  function setOpen(open) {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    root.classList.toggle("prosa-w-open", open);
    if (open) {
      connect();
      (offline.hidden ? input : offName).focus();
      log.scrollTop = log.scrollHeight;
    } else {
      button.focus();
    }
  }
  button.addEventListener("click", function () { setOpen(panel.hidden); });
  close.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { setOpen(false); } });

  function showOffline() {
    var show = !online && !hasHistory;
    offline.hidden = !show;
    form.hidden = show;
  }

  // `queue` frames: waiting (place, estimate or closed hours), served (shown a moment), none.
  function showQueue(f) {
    clearTimeout(queueTimer);
    var text = f.state === "none" ? "" : (f.text || "");
    if (queueLine.textContent !== text) { queueLine.textContent = text; }
    queueLine.className = "prosa-w-queue" + (f.state === "served" ? " prosa-w-queue-served" : "") +
      (f.state === "waiting" && f.open === false ? " prosa-w-queue-closed" : "");
    if (f.state === "served") {
      queueTimer = setTimeout(function () { queueLine.textContent = ""; queueLine.className = "prosa-w-queue"; }, 8000);
    }
  }

  function time(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString("pt-BR", { hour: "2-digit", minute: "2-digit" });
  }

  function clearOptions() {
    var old = log.querySelectorAll(".prosa-w-options");
    for (var i = 0; i < old.length; i++) { old[i].remove(); }
  }

  function render(m) {
    var li = el("li", "prosa-w-msg " + (m.direction === "incoming" ? "prosa-w-mine" : "prosa-w-theirs"));
    var who = m.direction === "incoming" ? "Você" : (m.author === "bot" ? "Assistente" : "Atendente");
    li.appendChild(el("span", "prosa-w-sr", who + ": "));
    if (m.text) { li.appendChild(el("p", "prosa-w-text", m.text)); }
    (m.attachments || []).forEach(function (a) {
      var name = a.file_name || "arquivo";
      if (!a.url || !token) { li.appendChild(el("p", "prosa-w-file", "Anexo: " + name)); return; }
      var href = base + a.url + "?token=" + encodeURIComponent(token);
      var link = el("a", "prosa-w-file");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener";
      if (a.kind === "image") {
        var img = el("img", "prosa-w-img");
        img.src = href;
        img.alt = name;
        img.loading = "lazy";
        link.appendChild(img);
      } else {
        link.textContent = "Anexo: " + name;
      }
      li.appendChild(link);
    });
    var meta = el("span", "prosa-w-time", time(m.sent_at));
    li.appendChild(meta);
    return li;
  }

  function addMessage(m) {
    if (seen[m.id]) { return; }
    seen[m.id] = true;
    hasHistory = true;
    showOffline();
    lastId = m.id;
    var li = render(m);
    if (m.client_id && pendingEl[m.client_id]) {
      pendingEl[m.client_id].replaceWith(li);
      delete pendingEl[m.client_id];
      delete pending[m.client_id];
    } else {
      log.appendChild(li);
    }
    if (m.direction === "outgoing") {
      typing.hidden = true;
      clearOptions();
      if (m.options && m.options.length) {
        var box = el("li", "prosa-w-options");
        var group = el("div");
        group.setAttribute("role", "group");
        group.setAttribute("aria-label", "Opções");
        m.options.forEach(function (o) {
          var b = el("button", "prosa-w-option", o.label);
          b.type = "button";
          b.addEventListener("click", function () {
            clearOptions();
            sendFrame({ type: "option", client_id: clientId(), option_id: o.id, label: o.label }, o.label);
          });
          group.appendChild(b);
        });
        box.appendChild(group);
        log.appendChild(box);
      }
    } else if (m.selected_option) {
      clearOptions();
    }
    log.scrollTop = log.scrollHeight;
  }

  function sendFrame(frame, text) {
    pending[frame.client_id] = frame;
    var li = el("li", "prosa-w-msg prosa-w-mine prosa-w-pending");
    li.appendChild(el("p", "prosa-w-text", text));
    li.appendChild(el("span", "prosa-w-time", "enviando…"));
    pendingEl[frame.client_id] = li;
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(frame)); }
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    sendFrame({ type: "message", client_id: clientId(), text: text }, text);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (socket && socket.readyState === 1 && now - lastTypingSent > 3000) {
      lastTypingSent = now;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  });

  attach.addEventListener("click", function () { fileInput.click(); });
  var FILE_ERRORS = {
    413: "Arquivo maior que 5 MB.",
    422: "Envie uma imagem (PNG, JPEG, GIF ou WebP) ou um PDF.",
    429: "Muitas mensagens em pouco tempo. Aguarde um minuto."
  };
  function failPending(cid, message) {
    if (!pendingEl[cid]) { return; }
    pendingEl[cid].classList.add("prosa-w-failed");
    pendingEl[cid].querySelector(".prosa-w-time").textContent = message;
  }
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) { return; }
    var cid = clientId();
    var li = el("li", "prosa-w-msg prosa-w-mine prosa-w-pending");
    li.appendChild(el("p", "prosa-w-text", "Anexo: " + file.name));
    li.appendChild(el("span", "prosa-w-time", "enviando arquivo…"));
    pendingEl[cid] = li;
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    if (file.size > 5 * 1024 * 1024) { failPending(cid, FILE_ERRORS[413]); return; }
    session().then(function () {
      return fetch(base + "/webchat/" + inbox + "/upload?token=" + encodeURIComponent(token) +
        "&client_id=" + encodeURIComponent(cid) + "&name=" + encodeURIComponent(file.name), {
        method: "POST", headers: { "content-type": "application/octet-stream" }, body: file
      });
    }).then(function (r) {
      if (!r.ok) { failPending(cid, FILE_ERRORS[r.status] || "Não foi possível enviar o arquivo."); }
      // On success the message arrives over the socket and replaces the pending line.
    }).catch(function () { failPending(cid, "Sem conexão. Tente de novo."); });
  });

  offline.addEventListener("submit", function (e) {
    e.preventDefault();
    offSend.disabled = true;
    offStatus.textContent = "Enviando…";
    post("/offline", {
      token: token, client_id: clientId(), name: offName.value,
      contact: offContact.value, message: offMessage.value
    }).then(function (res) {
      offStatus.textContent = (res && res.message) || "Recebemos sua mensagem. Obrigado!";
      offline.reset();
    }).catch(function () {
      offStatus.textContent = "Não foi possível enviar. Confira os campos e tente de novo.";
    }).then(function () { offSend.disabled = false; });
  });

  function post(path, body) {
    return fetch(base + "/webchat/" + inbox + path, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  var sessionPromise = null;
  function session() {
    if (!sessionPromise) {
      var body = { token: token };
      var id = script.getAttribute("data-identifier");
      var hash = script.getAttribute("data-identity-hash");
      if (id && hash) { body.identifier = id; body.identity_hash = hash; }
      sessionPromise = post("/session", body).then(function (s) {
        token = s.token;
        store.set("token", token);
        online = s.online;
        title.textContent = s.title || "Atendimento";
        return s;
      });
    }
    return sessionPromise;
  }

  function connect() {
    if (socket) { return; }
    session().then(function () {
      var url = wsBase + "/webchat/" + inbox + "/ws?token=" + encodeURIComponent(token) +
        (lastId ? "&since=" + encodeURIComponent(lastId) : "");
      var ws = new WebSocket(url);
      socket = ws;
      ws.onopen = function () {
        retry = 0;
        status.textContent = online ? "Online" : "Fora do horário";
        Object.keys(pending).forEach(function (k) { ws.send(JSON.stringify(pending[k])); });
      };
      ws.onmessage = function (ev) {
        var f;
        try { f = JSON.parse(ev.data); } catch (e) { return; }
        if (f.type === "message") { addMessage(f); }
        else if (f.type === "ready") { showOffline(); }
        else if (f.type === "queue") { showQueue(f); }
        else if (f.type === "ack") { /* the message event follows */ }
        else if (f.type === "typing") {
          typing.hidden = false;
          clearTimeout(typingTimer);
          typingTimer = setTimeout(function () { typing.hidden = true; }, 5000);
        } else if (f.type === "error") {
          if (f.client_id && pendingEl[f.client_id]) {
            pendingEl[f.client_id].classList.add("prosa-w-failed");
            pendingEl[f.client_id].querySelector(".prosa-w-time").textContent = f.message;
            delete pending[f.client_id];
          }
        }
      };
      ws.onclose = function () {
        socket = null;
        status.textContent = "Reconectando…";
        retry = Math.min(retry + 1, 6);
        setTimeout(connect, 500 * Math.pow(2, retry - 1));
      };
    }).catch(function () {
      sessionPromise = null;
      status.textContent = "Sem conexão. Tentando de novo…";
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 1000 * retry);
    });
  }

  function mount() {
    document.body.appendChild(root);
    if (token) { connect(); }
  }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
