// Prosa — operator panel and supervision. Vanilla JS over the REST API and the one WebSocket.
// Everything from the server is inserted as text (textContent), never as markup.
(function () {
  'use strict';
  var root = document.getElementById('panel') || document.getElementById('supervision');
  if (!root) return;
  var isPanel = root.id === 'panel';
  var ME = root.dataset.me, ROLE = root.dataset.role, TZ = root.dataset.tz || 'America/Sao_Paulo';
  var SUP = ROLE === 'supervisor' || ROLE === 'admin';
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var $ = function (id) { return document.getElementById(id); };
  var STATUS_PT = { bot: 'No bot', waiting: 'Aguardando', open: 'Em atendimento', resolved: 'Encerrada' };
  var RANK = { queued: 0, sent: 1, failed: 2, delivered: 3, read: 4 };
  var DELIVERY_PT = { queued: 'Na fila', sent: 'Enviada', delivered: 'Entregue', read: 'Lida', failed: 'Falhou' };
  var CONTRACT_PT = { active: 'Ativo', suspended: 'Suspenso', cancelled: 'Cancelado', other: 'Outro' };
  var TICKET_PT = { open: 'Aberto', in_progress: 'Em andamento', closed: 'Fechado' };
  var BASE_TITLE = document.title;
  var PRESENCE_PT = { online: 'Disponível', paused: 'Em pausa', offline: 'Ausente' };
  var timeFmt = new Intl.DateTimeFormat('pt-BR', { timeZone: TZ, hour: '2-digit', minute: '2-digit' });
  var dateFmt = new Intl.DateTimeFormat('pt-BR', { timeZone: TZ, day: '2-digit', month: '2-digit' });

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function api(method, path, body) {
    var opts = { method: method, headers: { 'x-csrf-token': csrf }, credentials: 'same-origin' };
    if (body !== undefined) { opts.headers['content-type'] = 'application/json'; opts.body = JSON.stringify(body); }
    return fetch('/api/v1' + path, opts).then(function (r) {
      if (r.status === 401) { location.href = '/login'; throw new Error('401'); }
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (j) {
        if (!r.ok) { var e = new Error((j && j.message) || ('HTTP ' + r.status)); e.status = r.status; e.body = j; throw e; }
        return j;
      });
    });
  }
  function say(text) { var s = $('pn-status'); if (s) s.textContent = text; }
  function since(iso) {
    var s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), ss = s % 60;
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    return h ? h + 'h' + two(m) : m + ':' + two(ss);
  }
  function tick() {
    document.querySelectorAll('[data-since]').forEach(function (e) { e.textContent = since(e.dataset.since); });
  }
  setInterval(tick, 1000);

  // ------------------------------------------------------------ shared data
  var convs = new Map(), users = new Map(), teams = [], inboxes = new Map(), categories = [];
  function loadUsers() {
    return api('GET', '/panel/operators').then(function (list) {
      users.clear(); list.forEach(function (u) { users.set(u.id, u); });
    });
  }
  function loadConvs() {
    return api('GET', '/panel/conversations').then(function (list) {
      convs.clear(); list.forEach(function (c) { convs.set(c.id, c); });
      render();
    });
  }
  var refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; loadConvs().catch(function () {}); }, 250);
  }

  // ------------------------------------------------------------ unread marks and notifications
  // Unread counts per conversation mark the lists; a notification (new message in one of my
  // conversations, a conversation given to me, a new one in the queue) also plays a short
  // sound and, while the tab is hidden or unfocused, counts in the title: "(3) Prosa".
  // The title counts conversations with news since the tab was left, not single events.
  var unread = 0, unreadByConv = new Map(), alerts = new Set(), lastBeep = 0;
  var focused = document.hasFocus ? document.hasFocus() : true;
  var MUTE_KEY = 'prosa.panel.muted', muted = false, audio = null;
  try { muted = localStorage.getItem(MUTE_KEY) === '1'; } catch (e) { /* storage disabled */ }
  function bump(convId) {
    unread++; unreadByConv.set(convId, (unreadByConv.get(convId) || 0) + 1);
    showBadge();
  }
  function showBadge() {
    var b = $('pn-tab-badge'); if (b) { b.textContent = unread; b.hidden = unread === 0; }
  }
  function showTitle() { document.title = alerts.size > 0 ? '(' + alerts.size + ') Prosa' : BASE_TITLE; }
  function away() { return document.hidden || !focused; }
  function unlockAudio() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    try { if (!audio) audio = new AC(); if (audio.state === 'suspended') audio.resume(); } catch (e) { audio = null; }
  }
  // Two short tones made with the Web Audio API: no sound file to download.
  function beep() {
    if (muted || Date.now() - lastBeep < 1500) return;
    lastBeep = Date.now();
    unlockAudio(); if (!audio) return;
    try {
      var t = audio.currentTime, o = audio.createOscillator(), g = audio.createGain();
      o.type = 'sine';
      o.frequency.setValueAtTime(880, t); o.frequency.setValueAtTime(660, t + 0.12);
      g.gain.setValueAtTime(0.0001, t);
      g.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
      o.connect(g); g.connect(audio.destination); o.start(t); o.stop(t + 0.32);
      root.dataset.sounds = String(Number(root.dataset.sounds || 0) + 1);
    } catch (e) { /* no audio device */ }
  }
  // kind: 'message' counts every new message on the conversation's mark; 'assigned' and
  // 'queued' only make sure the conversation is marked.
  var markOnly = new Set();
  function notify(convId, kind) {
    if (kind === 'message') {
      // The first message of a conversation that was only marked takes over the mark.
      if (markOnly.has(convId)) markOnly.delete(convId); else bump(convId);
    } else if (!unreadByConv.has(convId)) { bump(convId); markOnly.add(convId); }
    beep();
    if (away()) { alerts.add(convId); showTitle(); }
  }
  function backHere() {
    if (document.hidden || !focused) return;
    alerts.clear(); showTitle();
    if (current) { clearUnread(current.id); render(); }
  }
  function clearUnread(convId) {
    var n = unreadByConv.get(convId) || 0;
    unread = Math.max(0, unread - n); unreadByConv.delete(convId); markOnly.delete(convId); showBadge();
  }
  document.addEventListener('visibilitychange', backHere);
  window.addEventListener('focus', function () { focused = true; backHere(); });
  window.addEventListener('blur', function () { focused = false; });
  // Browsers start audio only after a gesture on the page.
  ['pointerdown', 'keydown'].forEach(function (k) { document.addEventListener(k, unlockAudio, { once: true }); });
  function showMute() {
    var b = $('pn-mute'); if (!b) return;
    b.setAttribute('aria-pressed', String(muted));
    b.textContent = muted ? 'Som: desligado' : 'Som: ligado';
  }

  // ------------------------------------------------------------ WebSocket, resumable
  var lastEvent = null, reloadedOnce = false, backoff = 500, firstHello = true;
  function connect() {
    var proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var url = proto + location.host + '/api/v1/ws' + (lastEvent !== null ? '?since=' + lastEvent : '');
    var ws = new WebSocket(url);
    ws.onmessage = function (ev) {
      var f; try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (typeof f.id === 'number') { if (lastEvent !== null && f.id <= lastEvent) return; lastEvent = f.id; }
      backoff = 500;
      switch (f.type) {
        case 'hello':
          if (lastEvent === null) lastEvent = f.cursor;
          if (firstHello) { firstHello = false; start(); }
          say('');
          break;
        case 'reload':
          if (!reloadedOnce) { reloadedOnce = true; start(); }
          break;
        case 'message_created':
        case 'message_status_changed':
          onMessage(f);
          break;
        case 'conversation_created':
        case 'conversation_updated':
          onConversation(f);
          break;
        case 'typing': onTyping(f); break;
        case 'user_updated':
          if (!isPanel) loadUsers().then(render).catch(function () {});
          break;
      }
    };
    ws.onclose = function () {
      say('Conexão perdida — reconectando…');
      setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000);
    };
  }
  function onMessage(f) {
    var m = f.message; if (!m) return;
    if (current && f.conversation_id === current.id && isPanel) upsertMessage(m, true);
    if (f.type === 'message_created' && m.direction === 'incoming') {
      var c = convs.get(f.conversation_id);
      var watching = current && current.id === f.conversation_id && !document.hidden;
      if (!watching && c && (c.assignee_id === ME || c.status === 'waiting')) notify(f.conversation_id, 'message');
    }
    if (!convs.has(f.conversation_id)) refreshSoon(); else render();
  }
  function onConversation(f) {
    var c = f.conversation; if (!c) { refreshSoon(); return; }
    var before = convs.get(c.id);
    if (isPanel && c.assignee_id === ME && (!before || before.assignee_id !== ME)) {
      if (!(pendingTake === c.id)) notify(c.id, 'assigned');
    }
    if (isPanel && c.status === 'waiting' && (!before || before.status !== 'waiting')) notify(c.id, 'queued');
    // Keep the local copy current so that the next frame compares against it.
    if (before) Object.assign(before, c); else if (isPanel && c.status !== 'resolved') convs.set(c.id, Object.assign({}, c));
    refreshSoon();
    if (current && current.id === c.id) { Object.assign(current, c); renderHead(); }
  }

  // ------------------------------------------------------------ lists
  function convButton(c, showWho) {
    var n = unreadByConv.get(c.id) || 0;
    var tm = c.status === 'waiting' && c.waiting_since
      ? el('span', { class: 'tm', 'data-since': c.waiting_since, title: 'Tempo de espera', text: since(c.waiting_since) })
      : el('span', { class: 'tm', text: c.last_message_at ? timeFmt.format(new Date(c.last_message_at)) : '' });
    var sub = (c.inbox_name || c.channel) + (showWho && c.assignee_name ? ' · ' + c.assignee_name : '');
    var b = el('button', { type: 'button', 'aria-current': current && current.id === c.id ? 'true' : null }, [
      el('span', { class: 'nm', text: c.contact_name || ('Conversa ' + c.id) }),
      n ? el('span', { class: 'unread', text: String(n), 'aria-label': n + ' novas' }) : tm,
      el('span', { class: 'sub', text: sub })
    ]);
    b.addEventListener('click', function () { open(c.id); });
    return el('li', null, [b]);
  }
  function fill(id, list, emptyText, showWho) {
    var ul = $(id); if (!ul) return;
    ul.replaceChildren.apply(ul, list.length ? list.map(function (c) { return convButton(c, showWho); })
      : [el('li', { class: 'empty', text: emptyText })]);
  }
  function render() {
    if (!isPanel) return renderSupervision();
    var all = Array.from(convs.values());
    var queue = all.filter(function (c) { return c.status === 'waiting'; })
      .sort(function (a, b) { return Date.parse(a.waiting_since || a.created_at) - Date.parse(b.waiting_since || b.created_at); });
    var mine = all.filter(function (c) { return c.status === 'open' && c.assignee_id === ME; });
    fill('pn-queue', queue, 'Ninguém aguardando.');
    fill('pn-mine', mine, 'Nenhuma conversa com você.');
    fill('pn-others', all.filter(function (c) { return c.status === 'open' && c.assignee_id !== ME; }), 'Nenhuma.', true);
    $('pn-queue-count').textContent = queue.length;
    $('pn-mine-count').textContent = mine.length;
  }

  // ------------------------------------------------------------ the open conversation
  var current = null, messages = new Map(), oldest = null, loadingOlder = false, hasOlder = false;
  var pendingTake = null, contactName = '';
  function authorLabel(m) {
    if (m.direction === 'incoming') return contactName || 'Cliente';
    if (m.author === 'bot') return 'Bot';
    if (m.author === 'system') return 'Sistema';
    var u = m.author_id && users.get(m.author_id);
    return u ? u.name : 'Atendente';
  }
  function messageNode(m) {
    var cls = 'pn-msg ' + (m.direction === 'incoming' ? 'in' : 'out') + (m.author === 'bot' ? ' bot' : '') + (m.private ? ' note' : '') + (m._pending ? ' pending' : '');
    var when = new Date(m.created_at);
    var body = [];
    body.push(el('div', { class: 'meta' }, [
      el('span', { class: 'who', text: (m.private ? 'Nota privada · ' : '') + authorLabel(m) }),
      el('time', { datetime: m.created_at, text: dateFmt.format(when) + ' ' + timeFmt.format(when) })
    ]));
    var text = m.text || '';
    if (m.selected_option) text = text || m.selected_option;
    if (m.unsupported) text = text || '[mensagem não suportada: ' + m.unsupported + ']';
    body.push(el('div', { class: 'tx', text: text }));
    if (m.attachments && m.attachments.length) body.push(attachmentLinks(m));
    if (m.options && m.options.length) body.push(el('div', { class: 'opts' }, m.options.map(function (o) { return el('span', { text: o.label }); })));
    if (m.direction === 'outgoing' && !m.private) {
      var st = m._pending ? 'Enviando…' : (DELIVERY_PT[m.delivery_status] || '');
      // The provider's error (English, technical) stays in a tooltip for whoever investigates.
      body.push(el('div', { class: 'st' + (m.delivery_status === 'failed' ? ' failed' : ''), title: m.delivery_status === 'failed' ? m.delivery_error : null, text: st }));
    }
    return el('li', { class: cls, id: 'm-' + m.id }, body);
  }
  function upsertMessage(m, live) {
    var ol = $('pn-messages'), scroll = $('pn-scroll');
    var atBottom = scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < 80;
    // Delivery statuses only move forward: a late copy (the POST answer arriving after the
    // live "sent" frame) must not show an older state.
    var known = messages.get(m.id);
    if (known && (RANK[known.delivery_status] || 0) > (RANK[m.delivery_status] || 0)) {
      m.delivery_status = known.delivery_status; m.delivery_error = known.delivery_error;
    }
    var node = messageNode(m), existing = document.getElementById('m-' + m.id);
    messages.set(m.id, m);
    if (existing) { existing.replaceWith(node); return; }
    // Keep id order: find the first rendered message with a greater id.
    var after = null, mid = Number(m.id);
    for (var i = ol.children.length - 1; i >= 0; i--) {
      var cid = Number(ol.children[i].id.slice(2));
      if (cid > mid) after = ol.children[i]; else break;
    }
    ol.insertBefore(node, after);
    if (live && (atBottom || m.direction === 'outgoing')) scroll.scrollTop = scroll.scrollHeight;
  }
  function open(id) {
    if (!isPanel) { location.href = '/panel#c=' + id; return; }
    var token = {}; open.token = token;
    return api('GET', '/conversations/' + id).then(function (c) {
      if (open.token !== token) return;
      current = c; contactName = (c.contact && (c.contact.name || c.contact.phone)) || '';
      messages.clear(); $('pn-messages').replaceChildren(); oldest = null;
      $('pn-empty').hidden = true;
      history.replaceState(null, '', '#c=' + id);
      clearUnread(id); renderHead(); renderContact(c.contact); render(); setView('chat');
      closeCanned(); loadErp(id); loadHistory(id);
      return api('GET', '/conversations/' + id + '/messages?limit=50').then(function (list) {
        if (open.token !== token) return;
        list.forEach(function (m) { upsertMessage(m, false); });
        oldest = list.length ? list[0].id : null; hasOlder = list.length === 50;
        $('pn-older').hidden = !hasOlder;
        var s = $('pn-scroll'); s.scrollTop = s.scrollHeight;
      });
    }).catch(function (e) { say(e.status === 404 ? 'Conversa indisponível.' : 'Não foi possível abrir a conversa.'); });
  }
  function loadOlder() {
    if (!current || !hasOlder || loadingOlder || !oldest) return;
    loadingOlder = true;
    var s = $('pn-scroll'), h = s.scrollHeight, id = current.id;
    api('GET', '/conversations/' + id + '/messages?limit=50&before=' + oldest).then(function (list) {
      if (!current || current.id !== id) return;
      list.forEach(function (m) { upsertMessage(m, false); });
      if (list.length) oldest = list[0].id;
      hasOlder = list.length === 50; $('pn-older').hidden = !hasOlder;
      s.scrollTop = s.scrollHeight - h;
    }).catch(function () { say('Não foi possível carregar mensagens anteriores.'); })
      .then(function () { loadingOlder = false; });
  }
  function renderHead() {
    if (!current) return;
    var c = current, mine = c.assignee_id === ME;
    $('pn-chat-title').textContent = contactName || ('Conversa ' + c.id);
    var who = c.assignee_id ? (users.get(c.assignee_id) || {}).name : null;
    var inb = convs.get(c.id);
    $('pn-chat-sub').textContent = [STATUS_PT[c.status] || c.status, who ? 'com ' + who : null, inb ? inb.inbox_name : null].filter(Boolean).join(' · ');
    $('pn-actions').hidden = c.status === 'resolved';
    $('pn-take').hidden = mine || !(c.status === 'waiting' || SUP);
    $('pn-take').textContent = c.status === 'waiting' ? 'Assumir' : 'Assumir (supervisão)';
    var acts = mine || SUP;
    $('pn-transfer').hidden = !acts || c.status === 'bot';
    $('pn-return').hidden = !acts || c.status !== 'open';
    $('pn-close').hidden = !acts;
    var form = $('pn-composer'); form.hidden = false;
    var canWrite = c.status !== 'resolved' && (mine || SUP);
    $('pn-readonly').hidden = canWrite;
    $('pn-text').disabled = !canWrite && !$('pn-private').checked;
    $('pn-send').disabled = $('pn-text').disabled;
  }
  function renderContact(ct) {
    var box = $('pn-contact');
    if (!ct) { box.replaceChildren(el('p', { class: 'muted', text: '—' })); return; }
    var rows = [['Nome', ct.name], ['Telefone', ct.phone], ['E-mail', ct.email], ['CPF/CNPJ', ct.document]]
      .filter(function (r) { return r[1]; });
    var dl = el('dl');
    rows.forEach(function (r) { dl.appendChild(el('dt', { text: r[0] })); dl.appendChild(el('dd', { text: r[1] })); });
    box.replaceChildren(rows.length ? dl : el('p', { class: 'muted', text: 'Sem dados de contato.' }));
  }

  // ------------------------------------------------------------ ERP beside the chat
  function loadErp(id) {
    var box = $('pn-erp'); box.replaceChildren(el('p', { class: 'muted', text: 'Consultando o ERP…' }));
    api('GET', '/conversations/' + id + '/erp').then(function (d) {
      if (!current || current.id !== id) return;
      if (!d || d.available === false) { box.replaceChildren(el('p', { class: 'tag bad', text: 'ERP indisponível' })); return; }
      if (!d.subscriber) { box.replaceChildren(el('p', { class: 'muted', text: 'Assinante não identificado no ERP.' })); return; }
      var s = d.subscriber, parts = [];
      var dl = el('dl');
      [['Assinante', s.name], ['Código', s.id], ['Situação', s.active ? 'Ativo' : 'Inativo'], ['Endereço', s.address]]
        .forEach(function (r) { if (r[1]) { dl.appendChild(el('dt', { text: r[0] })); dl.appendChild(el('dd', { text: r[1] })); } });
      parts.push(dl);
      function section(title, list, fn) {
        if (!list) return;
        parts.push(el('h3', { text: title }));
        parts.push(list.length ? el('ul', null, list.map(fn)) : el('p', { class: 'muted', text: 'Nenhum.' }));
      }
      section('Contratos', d.contracts, function (c) { return el('li', null, [(c.plan || 'Contrato ' + c.id) + ' ', el('span', { class: 'tag' + (c.status === 'active' ? ' ok' : ' warn'), text: CONTRACT_PT[c.status] || c.status })]); });
      section('Conexões', d.connections, function (c) {
        var t = c.blocked ? el('span', { class: 'tag bad', text: 'Bloqueada' }) : c.online === true ? el('span', { class: 'tag ok', text: 'Online' }) : c.online === false ? el('span', { class: 'tag warn', text: 'Offline' }) : null;
        return el('li', null, [(c.login || c.id) + ' ', t, c.speed_reduced ? el('span', { class: 'tag warn', text: 'Velocidade reduzida' }) : null]);
      });
      section('Faturas em aberto', d.invoices, function (i) {
        var btns = [];
        var mine = current && (current.assignee_id === ME || SUP) && current.status !== 'resolved';
        if (mine && (i.has_linha_digitavel || i.has_pdf)) btns.push(invoiceButton(i, 'second_copy', 'Enviar 2ª via'));
        if (mine && (d.actions || []).indexOf('invoice_pix') >= 0) btns.push(invoiceButton(i, 'pix', 'Enviar Pix'));
        return el('li', null, [
          el('div', { text: i.value + ' · vence ' + i.due_date + ' ' }, [el('span', { class: 'tag' + (i.status === 'overdue' ? ' bad' : ''), text: i.status === 'overdue' ? 'Vencida' : 'Em aberto' })]),
          btns.length ? el('div', { class: 'btns' }, btns) : null
        ]);
      });
      section('Chamados', d.tickets, function (t) { return el('li', null, [(t.protocol ? 'Protocolo ' + t.protocol + ' · ' : '') + (t.subject || '') + ' ', el('span', { class: 'tag', text: TICKET_PT[t.status] || t.status })]); });
      if (d.outages && d.outages.length) section('Falha na região (massiva)', d.outages, function (o) { return el('li', null, [el('span', { class: 'tag bad', text: 'Massiva' }), ' ' + (o.description || '') + (o.forecast ? ' · previsão ' + o.forecast : '')]); });
      box.replaceChildren.apply(box, parts);
    }).catch(function () { box.replaceChildren(el('p', { class: 'tag bad', text: 'ERP indisponível' })); });
  }
  function invoiceButton(inv, kind, label) {
    var b = el('button', { type: 'button', class: 'secondary', text: label });
    b.addEventListener('click', function () {
      var what = kind === 'pix' ? 'o Pix copia e cola' : 'a 2ª via (linha digitável e PDF)';
      if (!window.confirm('Enviar ao cliente ' + what + ' da fatura de ' + inv.value + '?')) return;
      b.disabled = true;
      api('POST', '/conversations/' + current.id + '/erp/invoice', { invoice_id: inv.id, kind: kind })
        .then(function (m) { upsertMessage(m, true); say('Enviado ao cliente.'); })
        .catch(function (e) { say(e.status === 503 ? 'ERP indisponível — tente novamente.' : 'Não foi possível enviar: ' + e.message); })
        .then(function () { b.disabled = false; });
    });
    return b;
  }

  // ------------------------------------------------------------ composer
  var draftClientId = null;
  function newClientId() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
  }
  function send() {
    if (!current) return;
    var ta = $('pn-text'), text = ta.value.trim(); if (!text) return;
    var priv = $('pn-private').checked, id = current.id;
    if (!draftClientId) draftClientId = newClientId();
    var cid = draftClientId;
    $('pn-send').disabled = true; $('pn-send-error').textContent = '';
    api('POST', '/conversations/' + id + '/messages', { text: text, private: priv, client_id: cid }).then(function (m) {
      draftClientId = null; ta.value = '';
      if (current && current.id === id) upsertMessage(m, true);
    }).catch(function (e) {
      // The same client id is reused on retry: the server keeps the first copy.
      $('pn-send-error').textContent = e.status ? 'Não enviada: ' + e.message : 'Falha de rede — tente enviar de novo.';
    }).then(function () { $('pn-send').disabled = false; ta.focus(); });
  }

  // ------------------------------------------------------------ canned responses ("/atalho")
  var canned = [], cannedAt = 0, cannedMatches = [], cannedSel = 0, cannedTok = null, cannedOpen = false;
  function loadCanned() {
    cannedAt = Date.now();
    return api('GET', '/canned-responses').then(function (l) { canned = l || []; });
  }
  // The "/word" just before the caret, at the start of the text or after a space.
  function slashToken() {
    var ta = $('pn-text'), pos = ta.selectionStart, before = ta.value.slice(0, pos);
    var m = /(^|\s)\/([^\s\/]*)$/.exec(before);
    return m ? { start: pos - m[2].length - 1, end: pos, q: m[2].toLowerCase() } : null;
  }
  function updateCanned() {
    var tok = slashToken();
    if (!tok || !current || $('pn-text').disabled) { closeCanned(); return; }
    if (Date.now() - cannedAt > 30000) loadCanned().then(function () { if (cannedOpen) updateCanned(); }).catch(function () {});
    cannedTok = tok;
    var starts = canned.filter(function (c) { return c.shortcut.toLowerCase().indexOf(tok.q) === 0; });
    var inside = canned.filter(function (c) { return c.shortcut.toLowerCase().indexOf(tok.q) > 0; });
    cannedMatches = starts.concat(inside).slice(0, 30);
    cannedSel = 0; renderCanned();
  }
  function renderCanned() {
    var ul = $('pn-canned'), ta = $('pn-text');
    var items = cannedMatches.map(function (c, i) {
      var li = el('li', { role: 'option', id: 'pn-canned-' + i, 'aria-selected': String(i === cannedSel) }, [
        el('code', { text: '/' + c.shortcut }), el('span', { text: c.content })
      ]);
      // mousedown, not click: the textarea keeps the focus and the caret.
      li.addEventListener('mousedown', function (ev) { ev.preventDefault(); chooseCanned(i); });
      return li;
    });
    if (!items.length) items = [el('li', { class: 'empty', role: 'option', 'aria-disabled': 'true', text: canned.length ? 'Nenhuma resposta pronta com este atalho.' : 'Nenhuma resposta pronta cadastrada.' })];
    ul.replaceChildren.apply(ul, items);
    ul.hidden = false; cannedOpen = true;
    ta.setAttribute('aria-expanded', 'true');
    if (cannedMatches.length) {
      ta.setAttribute('aria-activedescendant', 'pn-canned-' + cannedSel);
      var s = $('pn-canned-' + cannedSel); if (s && s.scrollIntoView) s.scrollIntoView({ block: 'nearest' });
    } else ta.removeAttribute('aria-activedescendant');
  }
  function closeCanned() {
    if (!cannedOpen) return;
    cannedOpen = false; $('pn-canned').hidden = true;
    var ta = $('pn-text'); ta.setAttribute('aria-expanded', 'false'); ta.removeAttribute('aria-activedescendant');
  }
  // Placeholders an administrator may write in a canned response.
  function fillPlaceholders(text) {
    var name = ((current && current.contact && current.contact.name) || '').trim();
    var me = users.get(ME);
    return text.replace(/\{(nome|primeiro_nome|atendente)\}/g, function (_, k) {
      if (k === 'nome') return name;
      if (k === 'primeiro_nome') return name.split(/\s+/)[0] || '';
      return me ? me.name : '';
    }).replace(/ +([,.!?])/g, '$1');
  }
  function chooseCanned(i) {
    var c = cannedMatches[i], ta = $('pn-text'), tok = cannedTok;
    if (!c || !tok) return;
    var text = fillPlaceholders(c.content);
    ta.value = ta.value.slice(0, tok.start) + text + ta.value.slice(tok.end);
    var pos = tok.start + text.length;
    ta.focus(); ta.setSelectionRange(pos, pos);
    draftClientId = null; closeCanned();
  }
  // Keys while the list is open; true when the key was used.
  function cannedKey(ev) {
    if (!cannedOpen) return false;
    var n = cannedMatches.length;
    switch (ev.key) {
      case 'ArrowDown': if (n) { cannedSel = (cannedSel + 1) % n; renderCanned(); } break;
      case 'ArrowUp': if (n) { cannedSel = (cannedSel - 1 + n) % n; renderCanned(); } break;
      case 'Enter': case 'Tab': if (!n) return false; chooseCanned(cannedSel); break;
      case 'Escape': closeCanned(); break;
      default: return false;
    }
    ev.preventDefault();
    return true;
  }

  // ------------------------------------------------------------ earlier conversations
  function loadHistory(id) {
    var ul = $('pn-history'); if (!ul) return;
    ul.replaceChildren(el('li', { class: 'muted', text: 'Carregando…' }));
    api('GET', '/conversations/' + id + '/earlier').then(function (list) {
      if (!current || current.id !== id) return;
      if (!list.length) { ul.replaceChildren(el('li', { class: 'muted', text: 'Nenhuma.' })); return; }
      ul.replaceChildren.apply(ul, list.map(function (h) {
        var when = new Date(h.created_at);
        var label = dateFmt.format(when) + ' · ' + (h.inbox_name || '') + ' · ' + (STATUS_PT[h.status] || h.status) + (h.category ? ' (' + h.category + ')' : '');
        var b = el('button', { type: 'button', text: label });
        b.addEventListener('click', function () { showEarlier(id, h, label); });
        return el('li', null, [b]);
      }));
    }).catch(function () { ul.replaceChildren(el('li', { class: 'muted', text: 'Não foi possível carregar.' })); });
  }
  function showEarlier(id, h, label) {
    var d = $('dlg-earlier'), ol = $('er-messages');
    $('dlg-earlier-title').textContent = 'Conversa de ' + label;
    ol.replaceChildren(el('li', { class: 'muted', text: 'Carregando…' }));
    d.querySelectorAll('[data-close]').forEach(function (b) { b.onclick = function () { d.close(); }; });
    d.showModal();
    api('GET', '/conversations/' + id + '/earlier/' + h.id + '/messages').then(function (list) {
      ol.replaceChildren.apply(ol, list.length ? list.map(messageNode) : [el('li', { class: 'muted', text: 'Sem mensagens.' })]);
    }).catch(function () { ol.replaceChildren(el('li', { class: 'muted', text: 'Não foi possível carregar.' })); });
  }

  // ------------------------------------------------------------ dialogs and actions
  function dialogAction(dlg, errId, run) {
    var d = $(dlg);
    d.querySelectorAll('[data-close]').forEach(function (b) { b.onclick = function () { d.close(); }; });
    d.querySelector('form').onsubmit = function (ev) {
      ev.preventDefault(); $(errId).textContent = '';
      run().then(function () { d.close(); }).catch(function (e) {
        $(errId).textContent = (e.body && e.body.field === 'category_id') ? 'Escolha uma categoria.' : 'Não foi possível: ' + e.message;
      });
    };
    d.showModal();
  }
  function openTransfer() {
    var sel = $('tr-target'); sel.replaceChildren(el('option', { value: '', text: 'Selecione…' }));
    var og = el('optgroup', { label: 'Atendentes' });
    users.forEach(function (u) { if (u.id !== ME) og.appendChild(el('option', { value: 'u:' + u.id, text: u.name + ' (' + (PRESENCE_PT[u.presence] || u.presence) + ', ' + u.open_conversations + ')' })); });
    var tg = el('optgroup', { label: 'Setores (fila)' });
    teams.forEach(function (t) { tg.appendChild(el('option', { value: 't:' + t.id, text: t.name })); });
    sel.appendChild(og); if (teams.length) sel.appendChild(tg);
    $('tr-note').value = '';
    dialogAction('dlg-transfer', 'tr-error', function () {
      var v = sel.value; if (!v) return Promise.reject(new Error('escolha o destino'));
      var body = { note: $('tr-note').value };
      if (v[0] === 'u') body.user_id = v.slice(2); else body.team_id = v.slice(2);
      return api('POST', '/conversations/' + current.id + '/transfer', body).then(function () { say('Conversa transferida.'); });
    });
  }
  function openClose() {
    var sel = $('cl-category'); sel.replaceChildren(el('option', { value: '', text: 'Selecione…' }));
    categories.forEach(function (c) { sel.appendChild(el('option', { value: c.id, text: c.name })); });
    $('cl-note').value = '';
    dialogAction('dlg-close', 'cl-error', function () {
      if (!sel.value) return Promise.reject(Object.assign(new Error('categoria'), { body: { field: 'category_id' } }));
      return api('POST', '/conversations/' + current.id + '/close', { category_id: sel.value, note: $('cl-note').value })
        .then(function (c) { Object.assign(current, c); renderHead(); say('Atendimento encerrado; pedido de avaliação enviado.'); });
    });
  }
  function openReturn() {
    $('rt-note').value = '';
    dialogAction('dlg-return', 'rt-error', function () {
      return api('POST', '/conversations/' + current.id + '/return', { note: $('rt-note').value }).then(function () { say('Conversa devolvida à fila.'); });
    });
  }
  function take(id) {
    pendingTake = id;
    return api('POST', '/conversations/' + id + '/take').then(function (c) {
      say('Conversa assumida.'); if (isPanel) { if (current && current.id === id) { Object.assign(current, c); renderHead(); } else open(id); }
      refreshSoon();
    }).catch(function (e) { say(e.status === 409 ? 'Outra pessoa já assumiu esta conversa.' : 'Não foi possível assumir: ' + e.message); });
  }
  function setView(v) {
    if (!isPanel) return;
    root.dataset.view = v;
    root.querySelectorAll('.pn-tabs button').forEach(function (b) { b.setAttribute('aria-pressed', String(b.dataset.view === v)); });
  }

  // ------------------------------------------------------------ supervision
  function renderSupervision() {
    var f = { status: $('sv-status').value, inbox: $('sv-inbox').value, team: $('sv-team').value, op: $('sv-operator').value };
    var list = Array.from(convs.values()).filter(function (c) {
      return (!f.status || c.status === f.status) && (!f.inbox || c.inbox_id === f.inbox) && (!f.team || c.team_id === f.team) && (!f.op || c.assignee_id === f.op);
    });
    $('sv-count').textContent = list.length;
    var rows = list.map(function (c) {
      var ref = c.status === 'waiting' ? c.waiting_since : (c.first_response_at && c.status === 'open' ? c.updated_at || c.created_at : c.created_at);
      var acts = el('div', { class: 'acts' });
      var a = el('a', { href: '/panel#c=' + c.id, class: 'button secondary', text: 'Abrir' }); acts.appendChild(a);
      var tk = el('button', { type: 'button', text: 'Assumir' }); tk.onclick = function () { take(c.id); }; acts.appendChild(tk);
      var sel = el('select', { 'aria-label': 'Reatribuir a' }, [el('option', { value: '', text: 'Reatribuir…' })]);
      users.forEach(function (u) { if (u.id !== c.assignee_id) sel.appendChild(el('option', { value: u.id, text: u.name })); });
      sel.onchange = function () {
        if (!sel.value) return;
        api('POST', '/conversations/' + c.id + '/assign', { user_id: sel.value }).then(function () { say('Conversa reatribuída.'); refreshSoon(); })
          .catch(function (e) { say('Não foi possível reatribuir: ' + e.message); });
      };
      acts.appendChild(sel);
      return el('tr', null, [
        el('td', { text: c.contact_name || ('Conversa ' + c.id) }),
        el('td', { text: c.inbox_name }),
        el('td', { text: STATUS_PT[c.status] || c.status }),
        el('td', { text: c.assignee_name || '—' }),
        el('td', { class: 'tm', 'data-since': ref, text: since(ref) }),
        el('td', null, [acts])
      ]);
    });
    var tb = $('sv-rows');
    tb.replaceChildren.apply(tb, rows.length ? rows : [el('tr', null, [el('td', { colspan: '6', class: 'muted', text: 'Nenhuma conversa aberta.' })])]);
    var ops = Array.from(users.values()).map(function (u) {
      return el('tr', null, [
        el('td', { text: u.name }),
        el('td', null, [el('span', { class: 'tag ' + (u.presence === 'online' ? 'ok' : u.presence === 'paused' ? 'warn' : ''), text: PRESENCE_PT[u.presence] || u.presence }), u.pause_reason ? ' ' + u.pause_reason : null]),
        el('td', { text: String(u.open_conversations) })
      ]);
    });
    $('sv-ops').replaceChildren.apply($('sv-ops'), ops);
  }
  function fillSelect(id, items) {
    var s = $(id); items.forEach(function (it) { s.appendChild(el('option', { value: it[0], text: it[1] })); });
  }

  // ------------------------------------------------------------ start
  var started = false, presenceTouched = false;
  function start() {
    var first = !started; started = true;
    var jobs = [loadUsers(), api('GET', '/teams').then(function (t) { teams = t; })];
    if (isPanel) jobs.push(api('GET', '/categories').then(function (c) { categories = c; }));
    Promise.all(jobs).then(loadConvs).then(function () {
      if (!first) { if (current) open(current.id); return; }
      if (isPanel) {
        var me = users.get(ME);
        if (me && !presenceTouched) { $('pn-presence').value = me.presence; $('pn-pause-reason').hidden = me.presence !== 'paused'; $('pn-pause-reason').value = me.pause_reason || ''; }
        var m = /#c=(\d+)/.exec(location.hash); if (m) open(m[1]);
      } else {
        convs.forEach(function (c) { inboxes.set(c.inbox_id, c.inbox_name); });
        fillSelect('sv-inbox', Array.from(inboxes.entries()));
        fillSelect('sv-team', teams.map(function (t) { return [t.id, t.name]; }));
        fillSelect('sv-operator', Array.from(users.values()).map(function (u) { return [u.id, u.name]; }));
        render();
      }
    }).catch(function () { say('Não foi possível carregar os dados.'); });
  }

  if (isPanel) {
    $('pn-next').addEventListener('click', function () {
      var b = $('pn-next'); b.disabled = true;
      api('POST', '/conversations/next').then(function (c) {
        if (!c) { say('A fila está vazia.'); return; }
        pendingTake = c.id; say('Conversa assumida.'); open(c.id); refreshSoon();
      }).catch(function (e) { say('Não foi possível pegar: ' + e.message); }).then(function () { b.disabled = false; });
    });
    $('pn-older').addEventListener('click', loadOlder);
    $('pn-scroll').addEventListener('scroll', function () { if ($('pn-scroll').scrollTop < 40) loadOlder(); });
    $('pn-composer').addEventListener('submit', function (ev) { ev.preventDefault(); send(); });
    $('pn-text').addEventListener('keydown', function (ev) {
      if (cannedKey(ev)) return;
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
    });
    $('pn-text').addEventListener('input', function () { draftClientId = null; updateCanned(); });
    $('pn-text').addEventListener('click', updateCanned);
    $('pn-text').addEventListener('blur', closeCanned);
    $('pn-mute').addEventListener('click', function () {
      muted = !muted;
      try { localStorage.setItem(MUTE_KEY, muted ? '1' : '0'); } catch (e) { /* storage disabled */ }
      showMute(); say(muted ? 'Som dos avisos desligado.' : 'Som dos avisos ligado.');
      if (!muted) beep();
    });
    showMute();
    loadCanned().catch(function () {});
    $('pn-private').addEventListener('change', function () {
      $('pn-composer').classList.toggle('note-mode', $('pn-private').checked);
      $('pn-send').textContent = $('pn-private').checked ? 'Salvar nota' : 'Enviar';
      renderHead();
    });
    $('pn-take').addEventListener('click', function () { if (current) take(current.id); });
    $('pn-transfer').addEventListener('click', openTransfer);
    $('pn-close').addEventListener('click', openClose);
    $('pn-return').addEventListener('click', openReturn);
    root.querySelectorAll('.pn-tabs button').forEach(function (b) { b.addEventListener('click', function () { setView(b.dataset.view); }); });
    function sendPresence() {
      presenceTouched = true;
      var p = $('pn-presence').value, r = $('pn-pause-reason');
      r.hidden = p !== 'paused';
      if (p === 'paused' && !r.value.trim()) { r.focus(); say('Informe o motivo da pausa.'); return; }
      api('PUT', '/users/me/presence', { presence: p, reason: p === 'paused' ? r.value.trim() : null })
        .then(function () { say('Situação: ' + PRESENCE_PT[p] + '.'); }).catch(function (e) { say('Não foi possível mudar a situação: ' + e.message); });
    }
    $('pn-presence').addEventListener('change', sendPresence);
    $('pn-pause-reason').addEventListener('change', sendPresence);
  } else {
    ['sv-status', 'sv-inbox', 'sv-team', 'sv-operator'].forEach(function (id) { $(id).addEventListener('change', render); });
  }
  // ------------------------------------------------------------ website chat: typing and files
  var typingTimer = null, lastTyping = 0;
  function onTyping(f) {
    if (!isPanel || f.author !== 'contact' || !current || f.conversation_id !== current.id) return;
    var t = $('pn-typing');
    if (!t) { t = el('p', { id: 'pn-typing', class: 'muted pn-typing', 'aria-live': 'polite' }); $('pn-scroll').appendChild(t); }
    t.textContent = (contactName || 'Cliente') + ' está digitando…'; t.hidden = false;
    clearTimeout(typingTimer); typingTimer = setTimeout(function () { t.hidden = true; }, 6000);
  }
  function attachmentLinks(m) {
    return el('ul', { class: 'pn-files' }, m.attachments.map(function (a, i) {
      var name = a.file_name || a.kind;
      if (!a.stored_path) return el('li', { text: '[anexo: ' + name + ']' });
      return el('li', null, [el('a', { href: '/api/v1/attachments/' + m.id + '/' + i, target: '_blank', rel: 'noopener', text: 'Anexo: ' + name })]);
    }));
  }
  if (isPanel) {
    $('pn-text').addEventListener('input', function () {
      var now = Date.now();
      if (!current || $('pn-private').checked || now - lastTyping < 3000 || !$('pn-text').value.trim()) return;
      lastTyping = now;
      api('POST', '/conversations/' + current.id + '/typing').catch(function () {});
    });
    var fileIn = el('input', { type: 'file', id: 'pn-file', class: 'sr-only', accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf', tabindex: '-1', 'aria-hidden': 'true' });
    var fileBtn = el('button', { type: 'button', class: 'secondary', id: 'pn-attach', text: 'Anexar arquivo' });
    var bar = $('pn-composer').querySelector('.pn-composer-bar');
    bar.insertBefore(fileBtn, $('pn-send-error')); bar.appendChild(fileIn);
    fileBtn.addEventListener('click', function () {
      if (!current) return;
      fileIn.click();
    });
    fileIn.addEventListener('change', function () {
      var file = fileIn.files && fileIn.files[0]; fileIn.value = '';
      if (!file || !current) return;
      if (file.size > 5 * 1024 * 1024) { $('pn-send-error').textContent = 'Arquivo maior que 5 MB.'; return; }
      var id = current.id;
      var channel = (convs.get(id) || {}).channel;
      // What each channel can carry (the server refuses the rest with 422 on "file").
      var kinds = channel === 'whatsapp_cloud' ? 'o WhatsApp aceita imagens PNG ou JPEG e PDF'
        : channel === 'instagram' ? 'o Instagram aceita imagens PNG, JPEG ou GIF e PDF'
        : 'envie uma imagem (PNG, JPEG, GIF, WebP) ou um PDF';
      // What is typed in the composer goes with the file as its caption (not for a private note).
      var caption = $('pn-private').checked ? '' : $('pn-text').value.trim();
      $('pn-send-error').textContent = ''; fileBtn.disabled = true; say('Enviando arquivo…');
      fetch('/api/v1/conversations/' + id + '/attachments?name=' + encodeURIComponent(file.name) + '&client_id=' + encodeURIComponent(newClientId()) + (caption ? '&caption=' + encodeURIComponent(caption) : ''), {
        method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': csrf, 'content-type': 'application/octet-stream' }, body: file
      }).then(function (r) {
        return r.json().catch(function () { return null; }).then(function (j) {
          if (!r.ok) throw new Error(r.status === 413 ? 'arquivo maior que 5 MB' : (j && j.field === 'file') ? kinds : (j && j.message) || ('HTTP ' + r.status));
          if (current && current.id === id) upsertMessage(j, true);
          if (caption && $('pn-text').value.trim() === caption) $('pn-text').value = '';
          say('Arquivo enviado.');
        });
      }).catch(function (e) { $('pn-send-error').textContent = 'Arquivo não enviado: ' + e.message; say(''); })
        .then(function () { fileBtn.disabled = false; });
    });
  }
  connect();
})();
