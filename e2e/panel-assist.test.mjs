// Automatic assignment, the title badge, canned responses and the mute toggle, in Chromium:
// an administrator turns on automatic assignment for a team; a subscriber writes while the
// operator's tab is in the background; the conversation is given to her, the title counts it;
// back on the tab she answers with "/ola" + Enter (placeholders filled) and the subscriber gets it.
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

test('auto-assignment notifies in the title; a canned response answers', async () => {
  const prosa = await startProsa();
  const cb = await callbackServer();
  const b = await browser();
  try {
    const admin = await api(prosa.base);
    const team = await admin.call('POST', '/api/v1/teams', { name: 'Suporte' });
    assert.equal(team.status, 201);
    const inbox = await admin.call('POST', '/api/v1/inboxes', { name: 'Portal', channel: { kind: 'api', secret: 'k', callback_url: cb.url }, team_id: team.body.id });
    assert.equal(inbox.status, 201);
    const op = { email: 'ana@e2e.local', password: 'senha-da-ana' };
    assert.equal((await admin.call('POST', '/api/v1/users', { ...op, name: 'Ana Atendente', role: 'agent', team_ids: [team.body.id] })).status, 201);
    assert.equal((await admin.call('POST', '/api/v1/canned-responses', { shortcut: 'ola', content: 'Olá, {primeiro_nome}! Sou {atendente}, como posso ajudar?' })).status, 201);
    assert.equal((await admin.call('POST', '/api/v1/canned-responses', { shortcut: 'boleto', content: 'Vou enviar a segunda via do seu boleto.' })).status, 201);

    // The administrator turns automatic assignment on in the page.
    const adm = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(adm, prosa.base);
    await adm.goto(`${prosa.base}/admin/assignment`);
    const form = adm.getByRole('form', { name: 'Equipe Suporte' });
    await form.getByLabel('Distribuir automaticamente').check();
    await form.getByLabel(/Limite por atendente nesta equipe/).fill('0');
    await form.getByRole('button', { name: 'Salvar equipe' }).click();
    await adm.getByText('limite deve ser um número de 1 a 100').waitFor();
    // What was typed stays in the form being corrected.
    assert.equal(await adm.getByRole('form', { name: 'Equipe Suporte' }).getByLabel(/Limite por atendente nesta equipe/).inputValue(), '0');
    assert.equal(await adm.getByRole('form', { name: 'Equipe Suporte' }).getByLabel('Distribuir automaticamente').isChecked(), true);
    await adm.screenshot({ path: `${ARTIFACTS}/admin-assignment-error.png`, fullPage: true });
    await adm.getByRole('form', { name: 'Equipe Suporte' }).getByLabel(/Limite por atendente nesta equipe/).fill('3');
    await adm.getByRole('form', { name: 'Equipe Suporte' }).getByLabel('Distribuir automaticamente').check();
    await adm.getByRole('form', { name: 'Equipe Suporte' }).getByRole('button', { name: 'Salvar equipe' }).click();
    await adm.waitForURL(/\/admin\/assignment$/);
    const settings = await admin.call('GET', '/api/v1/assignment');
    assert.equal(settings.body.teams[0].auto_assign, true);
    assert.equal(settings.body.teams[0].max_conversations, 3);
    await adm.screenshot({ path: `${ARTIFACTS}/admin-assignment.png`, fullPage: true });

    const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(page, prosa.base, op);
    await page.waitForURL(/\/panel/);
    const baseTitle = await page.title();
    await page.getByText('Ninguém aguardando.').waitFor();
    await page.locator('#pn-presence').selectOption('online');
    await page.getByText('Situação: Disponível.').waitFor();

    // The tab goes to the background; the subscriber writes; the conversation is assigned.
    await page.evaluate(() => window.dispatchEvent(new Event('blur')));
    await deliver(prosa.base, inbox.body.id, 'k', { message_id: 'e2e-a1', from: { id: 'joana', name: 'Joana Cliente' }, text: 'Estou sem internet' });
    await page.locator('#pn-mine').getByText('Joana Cliente').waitFor();
    // One conversation with news (queued, then assigned to her, with one message): "(1) Prosa".
    await until('the title badge', async () => (await page.title()) === '(1) Prosa');
    await page.screenshot({ path: `${ARTIFACTS}/panel-assigned-badge.png` });
    const mine = await admin.call('GET', '/api/v1/conversations?status=open');
    assert.equal(mine.body.length, 1);
    // Back on the tab: the title is clean again.
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await until('the title cleared', async () => (await page.title()) === baseTitle);

    // "/ol" shows the filtered list; arrows and Esc work; Enter inserts with placeholders.
    await page.locator('#pn-mine').getByText('Joana Cliente').click();
    await page.getByText('Estou sem internet').waitFor();
    const ta = page.locator('#pn-text');
    await ta.click();
    await ta.pressSequentially('/');
    const list = page.getByRole('listbox', { name: 'Respostas prontas' });
    await list.waitFor();
    assert.equal(await list.getByRole('option').count(), 2);
    await ta.press('Escape');
    await list.waitFor({ state: 'hidden' });
    await ta.fill('');
    await ta.pressSequentially('/ol');
    await list.waitFor();
    // Shortcuts starting with the typed text come first, then those containing it.
    assert.equal(await list.getByRole('option').count(), 2);
    assert.equal(await ta.getAttribute('aria-expanded'), 'true');
    assert.equal(await list.getByRole('option', { selected: true }).textContent(), '/olaOlá, {primeiro_nome}! Sou {atendente}, como posso ajudar?');
    await page.screenshot({ path: `${ARTIFACTS}/panel-canned.png` });
    await ta.press('Enter');
    await list.waitFor({ state: 'hidden' });
    assert.equal(await ta.inputValue(), 'Olá, Joana! Sou Ana Atendente, como posso ajudar?');
    await ta.press('Enter');
    await until('the canned answer at the callback', () => cb.got.find((m) => m.text === 'Olá, Joana! Sou Ana Atendente, como posso ajudar?'));
    await page.getByText('Enviada').first().waitFor();

    // The mute toggle is remembered.
    const mute = page.locator('#pn-mute');
    assert.equal(await mute.getAttribute('aria-pressed'), 'false');
    await mute.click();
    assert.equal(await mute.getAttribute('aria-pressed'), 'true');
    await page.reload();
    await page.locator('#pn-mute[aria-pressed="true"]').waitFor();
    await page.locator('#pn-mine').getByText('Joana Cliente').waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/panel-muted.png` });
  } finally {
    await b.close();
    cb.close();
    prosa.stop();
  }
});
