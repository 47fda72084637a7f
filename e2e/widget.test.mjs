// The website chat as a visitor sees it: the widget on the ISP's page (/widget-demo, one
// <script> tag), a message, a reload that keeps the whole conversation, the operator typing and
// replying without a reload, files both ways, and the same on a phone-sized screen. The
// operator side: the visitor typing shows "digitando…" in the panel, the visitor's file is a link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProsa, browser, login, api, deliver, callbackServer, ARTIFACTS } from './harness.mjs';

// A real PNG (a QR-like picture) to upload.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAACEAAAAhCAAAAAByj52zAAAAy0lEQVR42qVUWw7DMAzi/pdmUmMebj42aVFVLS41htCB3xZ+QeAs6r6rhNqcZ9rC1XM974b02blaCExven8jvMgXQv0hlq62loGZCQXlDMh3bbWxIjGJMyPgMjmIzD/axpQUzS6y8b7V+jdKWp8LginFZqnm9eJ9tmG9BUkJOwgoH2ieIt795mkMcgwQ15nDOu4Cy9gK1sh+ObFO1909/87H0Kl9zxHLKypM/GtuyLnOUxm0/K6vy6m2OcHysk472JZX1h3F5crf/w4f6yGgfNcdCuIAAAAASUVORK5CYII=', 'base64');

async function until(what, f, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('visitor writes, reloads, sees everything; operator types and replies live; files both ways', async () => {
  const prosa = await startProsa();
  const b = await browser();
  try {
    const admin = await api(prosa.base);
    const inbox = await admin.call('POST', '/api/v1/inboxes', { name: 'Site', channel: { kind: 'web_chat', title: 'Atendimento Provedor Exemplo' } });
    assert.equal(inbox.status, 201);
    assert.equal((await admin.call('PUT', '/api/v1/users/me/presence', { presence: 'online' })).status, 204);

    const ctx = await b.newContext({ viewport: { width: 1366, height: 768 } });
    const visitor = await ctx.newPage();
    await visitor.goto(`${prosa.base}/widget-demo?inbox=${inbox.body.id}`);
    await visitor.getByRole('button', { name: 'Fale conosco' }).click();
    const dialog = visitor.getByRole('dialog', { name: 'Atendimento Provedor Exemplo' });
    await dialog.waitFor();
    await visitor.getByLabel('Sua mensagem').fill('Olá! Minha internet está lenta desde ontem.');
    await visitor.getByLabel('Sua mensagem').press('Enter');
    await visitor.locator('.prosa-w-msg:not(.prosa-w-pending)', { hasText: 'Minha internet está lenta' }).waitFor();

    // The operator opens the conversation in the panel.
    const convs = await until('the conversation', async () => {
      const r = await admin.call('GET', '/api/v1/conversations');
      return r.body.length ? r.body : null;
    });
    const conv = convs[0].id;
    const panel = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(panel, prosa.base);
    await panel.goto(`${prosa.base}/panel#c=${conv}`);
    await panel.getByText('Minha internet está lenta desde ontem.').waitFor();

    // A reload keeps the whole conversation.
    await visitor.reload();
    await visitor.getByRole('button', { name: 'Fale conosco' }).click();
    await visitor.locator('.prosa-w-msg', { hasText: 'Minha internet está lenta desde ontem.' }).waitFor();
    assert.equal(await visitor.locator('.prosa-w-msg').count(), 1);

    // The visitor types: the panel shows it for that conversation.
    await visitor.getByLabel('Sua mensagem').pressSequentially('O modem pisca', { delay: 20 });
    await panel.locator('#pn-typing', { hasText: 'digitando…' }).waitFor();
    await panel.screenshot({ path: `${ARTIFACTS}/panel-visitor-typing.png` });

    // The operator types, then replies: both show in the widget without a reload.
    await panel.locator('#pn-text').fill('Olá! Vou verificar');
    await panel.locator('#pn-text').pressSequentially(' sua conexão.', { delay: 10 });
    await visitor.getByText('Atendente digitando…').waitFor();
    await visitor.screenshot({ path: `${ARTIFACTS}/widget-operator-typing.png` });
    await panel.locator('#pn-text').press('Enter');
    await visitor.locator('.prosa-w-theirs', { hasText: 'Olá! Vou verificar sua conexão.' }).waitFor();
    assert.equal(await visitor.getByText('Atendente digitando…').isVisible(), false);

    // The visitor sends a photo; it shows in the widget and as a link in the panel.
    await visitor.getByLabel('Sua mensagem').fill('');
    await visitor.locator('#prosa-w-file').setInputFiles({ name: 'modem.png', mimeType: 'image/png', buffer: PNG });
    await visitor.locator('.prosa-w-mine img.prosa-w-img[alt="modem.png"]').waitFor();
    await until('the picture loads', () => visitor.locator('img.prosa-w-img').evaluate((i) => i.complete && i.naturalWidth > 0));
    await panel.getByRole('link', { name: 'Anexo: modem.png' }).waitFor();

    // The operator sends a PDF from the panel with what the composer holds as its caption; the
    // visitor gets the text and a link, and the composer is emptied.
    await panel.locator('#pn-text').fill('Segue a fatura de novembro.');
    await panel.locator('#pn-file').setInputFiles({ name: 'fatura-novembro.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% fatura\n') });
    await visitor.getByRole('link', { name: 'Anexo: fatura-novembro.pdf' }).waitFor();
    await visitor.locator('.prosa-w-theirs', { hasText: 'Segue a fatura de novembro.' }).waitFor();
    assert.equal(await panel.locator('#pn-text').inputValue(), '');
    await visitor.screenshot({ path: `${ARTIFACTS}/widget-desktop.png` });
    await panel.screenshot({ path: `${ARTIFACTS}/panel-webchat-files.png` });

    // A wrong file type is refused with the reason, next to it.
    await visitor.locator('#prosa-w-file').setInputFiles({ name: 'virus.exe', mimeType: 'application/octet-stream', buffer: Buffer.from('MZ\x90\x00') });
    await visitor.locator('.prosa-w-failed', { hasText: 'Envie uma imagem' }).waitFor();

    // Phone-sized screen: a new visitor, the chat fills the screen and works.
    const phone = await b.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const mobile = await phone.newPage();
    await mobile.goto(`${prosa.base}/widget-demo?inbox=${inbox.body.id}`);
    await mobile.screenshot({ path: `${ARTIFACTS}/widget-phone-closed.png` });
    await mobile.getByRole('button', { name: 'Fale conosco' }).tap();
    await mobile.getByLabel('Sua mensagem').fill('Quero a segunda via do boleto');
    await mobile.getByRole('button', { name: 'Enviar' }).tap();
    await mobile.locator('.prosa-w-msg:not(.prosa-w-pending)', { hasText: 'segunda via' }).waitFor();
    const box = await mobile.locator('.prosa-w-panel').boundingBox();
    assert.ok(box.width >= 389 && box.height >= 840, JSON.stringify(box));
    const convs2 = await until('the second conversation', async () => {
      const r = await admin.call('GET', '/api/v1/conversations');
      return r.body.length === 2 ? r.body : null;
    });
    const second = convs2.find((c) => c.id !== conv).id;
    assert.equal((await admin.call('POST', `/api/v1/conversations/${second}/messages`, { text: 'Claro! Enviando a segunda via agora.' })).status, 201);
    await mobile.locator('.prosa-w-theirs', { hasText: 'Enviando a segunda via' }).waitFor();
    await mobile.reload();
    await mobile.getByRole('button', { name: 'Fale conosco' }).tap();
    await mobile.locator('.prosa-w-theirs', { hasText: 'Enviando a segunda via' }).waitFor();
    assert.equal(await mobile.locator('.prosa-w-msg', { hasText: 'Minha internet' }).count(), 0, 'visitors never see each other');
    await mobile.screenshot({ path: `${ARTIFACTS}/widget-phone.png` });
  } finally {
    await b.close();
    prosa.stop();
  }
});

test('a waiting visitor sees their place in the queue live, with an estimate, on a phone too', async () => {
  const prosa = await startProsa();
  const b = await browser();
  const cb = await callbackServer();
  try {
    const admin = await api(prosa.base);
    const inbox = await admin.call('POST', '/api/v1/inboxes', { name: 'Site', channel: { kind: 'web_chat', title: 'Atendimento Provedor Exemplo' } });
    assert.equal(inbox.status, 201);
    const portal = await admin.call('POST', '/api/v1/inboxes', { name: 'Portal', channel: { kind: 'api', secret: 'segredo', callback_url: cb.url } });
    assert.equal(portal.status, 201);
    assert.equal((await admin.call('PUT', '/api/v1/users/me/presence', { presence: 'online' })).status, 204);
    const waiting = async (n) => until(`${n} waiting`, async () => {
      const r = await admin.call('GET', '/api/v1/conversations?status=waiting');
      return r.body.length === n ? r.body : null;
    });

    // Two visitors write, a desktop one first, then one on a phone.
    const desk = await (await b.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
    await desk.goto(`${prosa.base}/widget-demo?inbox=${inbox.body.id}`);
    await desk.getByRole('button', { name: 'Fale conosco' }).click();
    await desk.getByLabel('Sua mensagem').fill('Quero falar com um atendente, por favor.');
    await desk.getByLabel('Sua mensagem').press('Enter');
    const deskLine = desk.getByRole('status').filter({ hasText: 'da fila' });
    await deskLine.filter({ hasText: 'Você é o 1º da fila' }).waitFor();
    const [first] = await waiting(1);

    const phone = await (await b.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
    await phone.goto(`${prosa.base}/widget-demo?inbox=${inbox.body.id}`);
    await phone.getByRole('button', { name: 'Fale conosco' }).tap();
    await phone.getByLabel('Sua mensagem').fill('Minha internet caiu, preciso de ajuda');
    await phone.getByRole('button', { name: 'Enviar' }).tap();
    const line = phone.locator('.prosa-w-queue');
    await line.filter({ hasText: 'Você é o 2º da fila' }).waitFor();
    assert.equal(await line.getAttribute('role'), 'status');
    assert.equal(await line.getAttribute('aria-live'), 'polite');
    // Above the composer, inside the screen.
    const lineBox = await line.boundingBox();
    const formBox = await phone.locator('.prosa-w-form').boundingBox();
    assert.ok(lineBox.y + lineBox.height <= formBox.y + 1 && lineBox.width >= 389, JSON.stringify({ lineBox, formBox }));
    await phone.screenshot({ path: `${ARTIFACTS}/widget-queue-phone-2nd.png` });

    // The operator takes the first: the phone visitor moves up, the first is told a person came.
    assert.equal((await admin.call('POST', `/api/v1/conversations/${first.id}/take`)).status, 200);
    await line.filter({ hasText: /^Você é o 1º da fila$/ }).waitFor();
    await desk.getByRole('status').filter({ hasText: 'Um atendente entrou na conversa' }).waitFor();
    await desk.screenshot({ path: `${ARTIFACTS}/widget-queue-served.png` });

    // Two subscribers of another channel pass through the same queue: with three departures
    // the line has an estimate.
    for (const who of ['ana', 'bia']) {
      await deliver(prosa.base, portal.body.id, 'segredo', { message_id: who, from: { id: who, name: who }, text: 'quero falar com alguém' });
      const list = await waiting(2);
      const other = list.find((c) => c.inbox_id === portal.body.id);
      assert.equal((await admin.call('POST', `/api/v1/conversations/${other.id}/take`)).status, 200);
      await waiting(1);
    }
    await line.filter({ hasText: /^Você é o 1º da fila · espera estimada ~\d+ min$/ }).waitFor();
    await phone.screenshot({ path: `${ARTIFACTS}/widget-queue-phone.png` });

    // The served visitor's line goes away by itself.
    await desk.locator('.prosa-w-queue:empty').waitFor({ state: 'attached', timeout: 15000 });
  } finally {
    cb.close();
    await b.close();
    prosa.stop();
  }
});
