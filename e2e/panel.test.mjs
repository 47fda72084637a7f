// A subscriber's message reaches the queue; an operator takes it, answers, and closes it with a
// category; the subscriber receives the answer and the rating request; a supervisor watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startProsa, browser, login, api, deliver, ARTIFACTS } from './harness.mjs';

function callbackServer() {
  const got = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => { try { got.push(JSON.parse(body)); } catch {} res.end('ok'); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ got, url: `http://127.0.0.1:${server.address().port}/cb`, close: () => server.close() })));
}

async function until(what, f, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('operator takes, answers and closes; supervisor watches live', async () => {
  const prosa = await startProsa();
  const cb = await callbackServer();
  const b = await browser();
  try {
    const admin = await api(prosa.base);
    const inbox = await admin.call('POST', '/api/v1/inboxes', { name: 'Portal', channel: { kind: 'api', secret: 'k', callback_url: cb.url } });
    assert.equal(inbox.status, 201);
    const op = { email: 'ana@e2e.local', password: 'senha-da-ana' };
    assert.equal((await admin.call('POST', '/api/v1/users', { ...op, name: 'Ana Atendente', role: 'agent' })).status, 201);

    const supervisor = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(supervisor, prosa.base);
    await supervisor.goto(`${prosa.base}/supervision`);

    const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(page, prosa.base, op);
    await page.waitForURL(/\/panel/);
    await deliver(prosa.base, inbox.body.id, 'k', { message_id: 'e2e-1', from: { id: 'joana', name: 'Joana Cliente' }, text: 'Minha internet caiu desde ontem' });
    await page.locator('#pn-queue').getByText('Joana Cliente').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/panel-queue.png` });
    await supervisor.getByText('Joana Cliente').first().waitFor();
    await supervisor.screenshot({ path: `${ARTIFACTS}/supervision-live.png` });

    await page.getByRole('button', { name: 'Pegar próximo' }).click();
    await page.getByText('Minha internet caiu desde ontem').waitFor();
    await page.locator('#pn-text').fill('Olá, Joana! Vou verificar sua conexão.');
    await page.locator('#pn-text').press('Enter');
    await until('the reply at the callback', () => cb.got.find((m) => m.text === 'Olá, Joana! Vou verificar sua conexão.'));
    await page.getByText('Enviada').first().waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/panel-conversation.png` });

    await page.locator('#pn-close').click();
    await page.locator('#cl-category').selectOption({ label: 'Resolvido' });
    await page.locator('#dlg-close button[value=ok]').click();
    await until('the rating request', () => cb.got.find((m) => (m.text || '').includes('De 0 a 10')));
    const convs = await admin.call('GET', '/api/v1/conversations?status=resolved');
    assert.equal(convs.body.length, 1);
    const phone = await b.newPage({ viewport: { width: 390, height: 844 } });
    await login(phone, prosa.base, op);
    await phone.waitForURL(/\/panel/);
    await phone.screenshot({ path: `${ARTIFACTS}/panel-phone.png` });
  } finally {
    await b.close();
    cb.close();
    prosa.stop();
  }
});
