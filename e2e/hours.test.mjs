// Service hours (issue #7): with "Atendimento" 08:00–18:00 Monday–Friday, a subscriber who asks
// for a person on a Saturday is told when the queue opens ("segunda-feira às 08:00"), and the
// panel shows the queue closed. The server runs on the development clock (Saturday 2026-12-05
// 10:00 in São Paulo), which it only accepts with PROSA_DEV_MODE=1 and announces loudly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startProsa, browser, login, api, deliver, until, callbackServer, ARTIFACTS } from './harness.mjs';

const SATURDAY = '2026-12-05T10:00:00-03:00';

test('the development clock is refused without PROSA_DEV_MODE', () => {
  const r = spawnSync(process.env.PROSA_BIN, ['config', 'dump'], {
    env: { ...process.env, PROSA_DEV_FAKE_NOW: SATURDAY, PROSA_DEV_MODE: '' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /PROSA_DEV_FAKE_NOW is for development and tests only/);
});

test('on a Saturday the bot says when the queue opens and the panel shows it closed', async () => {
  const prosa = await startProsa({ env: { PROSA_DEV_FAKE_NOW: SATURDAY, PROSA_DEV_MODE: '1' } });
  const cb = await callbackServer();
  const b = await browser();
  try {
    assert.match(prosa.stderr(), /DEVELOPMENT CLOCK/);
    const admin = await api(prosa.base);
    const inbox = await admin.call('POST', '/api/v1/inboxes', { name: 'WhatsApp Loja', channel: { kind: 'api', secret: 'k', callback_url: cb.url }, bot_enabled: true });
    assert.equal(inbox.status, 201, JSON.stringify(inbox.body));
    const ana = { email: 'ana@e2e.local', password: 'senha-da-ana' };
    assert.equal((await admin.call('POST', '/api/v1/users', { ...ana, name: 'Ana Atendente', role: 'agent' })).status, 201);

    // The administrator sets the hours in the page: 08:00–18:00, Monday to Friday.
    const ap = await b.newPage({ viewport: { width: 1366, height: 768 }, locale: 'pt-BR' });
    await login(ap, prosa.base);
    await ap.goto(`${prosa.base}/admin/service-hours`);
    // Without rules the queue is always open.
    assert.match(await ap.locator('.queue-status').innerText(), /WhatsApp Loja: aberta/);
    await ap.getByLabel('Descrição').first().fill('Atendimento');
    for (const day of ['Segunda', 'Terça', 'Quarta', 'Quinta', 'Sexta']) {
      assert.ok(await ap.getByRole('checkbox', { name: day }).isChecked(), day);
    }
    assert.ok(!(await ap.getByRole('checkbox', { name: 'Sábado' }).isChecked()));
    // A wrong time is refused in pt-BR next to the field.
    await ap.getByLabel('Início 1').fill('25:00');
    await ap.getByLabel('Fim 1').fill('18:00');
    await ap.getByRole('button', { name: 'Adicionar regra' }).click();
    await ap.locator('#err-intervals\\[0\\]\\.start').waitFor();
    assert.match(await ap.locator('#err-intervals\\[0\\]\\.start').innerText(), /horário/i);
    await ap.screenshot({ path: `${ARTIFACTS}/hours-error.png`, fullPage: true });
    await ap.getByLabel('Início 1').fill('08:00');
    await ap.getByRole('button', { name: 'Adicionar regra' }).click();
    const row = ap.locator('table.admin-table tbody tr', { hasText: 'Atendimento' });
    await row.waitFor();
    assert.match(await row.innerText(), /Segunda, Terça, Quarta, Quinta, Sexta/);
    assert.match(await row.innerText(), /08:00–18:00/);
    // It is Saturday on the server's clock: closed, opens Monday at 08:00.
    assert.match(await ap.locator('.queue-status').innerText(), /WhatsApp Loja: fechada — abre segunda-feira às 08:00/);
    await ap.screenshot({ path: `${ARTIFACTS}/hours-admin.png`, fullPage: true });

    // The operator's panel shows the queue closed.
    const op = await b.newPage({ viewport: { width: 1366, height: 768 }, locale: 'pt-BR' });
    await login(op, prosa.base, ana);
    await op.waitForURL(/\/panel/);
    const hours = op.locator('#pn-hours');
    await hours.waitFor({ state: 'visible' });
    assert.equal(await hours.innerText(), 'Fila fechada — abre segunda-feira às 08:00');

    // A subscriber asks for a person: the bot hands off and says when the queue opens.
    await deliver(prosa.base, inbox.body.id, 'k', { message_id: 'h-1', from: { id: 'davi', name: 'Davi Assinante' }, text: 'quero falar com um atendente' });
    const told = await until('the bot telling when the queue opens', () => cb.got.find((m) => (m.text || '').includes('segunda-feira às 08:00')), 30000);
    assert.match(told.text, /fora do horário/);
    // The conversation waits in the queue for Monday.
    await op.locator('#pn-queue').getByText('Davi Assinante').waitFor();
    await op.screenshot({ path: `${ARTIFACTS}/hours-panel-closed.png` });
    const phone = await b.newPage({ viewport: { width: 390, height: 844 }, locale: 'pt-BR' });
    await login(phone, prosa.base, ana);
    await phone.locator('#pn-hours').waitFor({ state: 'visible' });
    await phone.screenshot({ path: `${ARTIFACTS}/hours-panel-phone.png` });

    // The REST API says the same.
    const st = await admin.call('GET', `/api/v1/service-hours/status?inbox_id=${inbox.body.id}`);
    assert.deepEqual(st.body, { open: false, next_opening: 'segunda-feira às 08:00' });
    const q = await admin.call('GET', '/api/v1/service-hours/queue');
    assert.equal(q.body.open, false);
    assert.ok(q.body.now.startsWith('2026-12-05T13:'), q.body.now);
  } finally {
    await b.close();
    cb.close();
    prosa.stop();
  }
});
