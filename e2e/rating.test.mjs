// The rating rule journey (issue #7): the administrator creates "INSATISFAÇÃO" for scores 0 and 1
// with one operator chosen in the two-list picker; a subscriber's conversation is closed and
// rated 1; that operator, signed in elsewhere, sees the badge at once (no reload), opens the
// rated conversation, records what they found and marks it treated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProsa, browser, login, api, deliver, until, callbackServer, ARTIFACTS } from './harness.mjs';

test('INSATISFAÇÃO: rule made in the page, score 1 notifies the operator live, treated', async () => {
  const prosa = await startProsa();
  const cb = await callbackServer();
  const b = await browser();
  try {
    const admin = await api(prosa.base);
    const inbox = await admin.call('POST', '/api/v1/inboxes', { name: 'Portal', channel: { kind: 'api', secret: 'k', callback_url: cb.url } });
    assert.equal(inbox.status, 201);
    const ana = { email: 'ana@e2e.local', password: 'senha-da-ana' };
    assert.equal((await admin.call('POST', '/api/v1/users', { ...ana, name: 'Ana Atendente', role: 'agent' })).status, 201);
    assert.equal((await admin.call('POST', '/api/v1/users', { email: 'bruno@e2e.local', password: 'senha-do-bruno', name: 'Bruno Suporte', role: 'agent' })).status, 201);

    // 1. The administrator, clicking like a person.
    const adminCtx = await b.newContext({ viewport: { width: 1366, height: 768 }, locale: 'pt-BR' });
    const ap = await adminCtx.newPage();
    await login(ap, prosa.base);
    await ap.waitForURL(/\/panel/);
    await ap.getByRole('link', { name: 'Administração' }).click();
    await ap.getByRole('link', { name: 'Regras de avaliação' }).first().click();
    await ap.getByLabel('Descrição').fill('INSATISFAÇÃO');
    await ap.getByRole('checkbox', { name: '0', exact: true }).check();
    await ap.getByRole('checkbox', { name: '1', exact: true }).check();
    // Saving without an operator: the pt-BR message next to the picker, typed values kept.
    await ap.getByRole('button', { name: 'Salvar regra' }).click();
    await ap.locator('#err-operators').waitFor();
    assert.equal(await ap.locator('#err-operators').innerText(), 'informe ao menos um operador');
    assert.equal(await ap.getByLabel('Descrição').inputValue(), 'INSATISFAÇÃO');
    assert.ok(await ap.getByRole('checkbox', { name: '1', exact: true }).isChecked());
    await ap.screenshot({ path: `${ARTIFACTS}/rating-rule-error.png`, fullPage: true });
    // The two-list picker: choose Ana, move her to "Selecionados".
    await ap.getByLabel('Disponíveis').selectOption({ label: 'Ana Atendente (ana@e2e.local)' });
    await ap.getByRole('button', { name: 'Adicionar selecionados' }).click();
    assert.deepEqual(await ap.locator('#pick-selected option').allInnerTexts(), ['Ana Atendente (ana@e2e.local)']);
    assert.ok(!(await ap.locator('#pick-available option').allInnerTexts()).some((t) => t.startsWith('Ana')));
    await ap.screenshot({ path: `${ARTIFACTS}/rating-rule-picker.png`, fullPage: true });
    await ap.getByRole('button', { name: 'Salvar regra' }).click();
    const row = ap.locator('table.admin-table tbody tr', { hasText: 'INSATISFAÇÃO' });
    await row.waitFor();
    assert.match(await row.innerText(), /0, 1/);
    assert.match(await row.innerText(), /Ana Atendente/);
    assert.doesNotMatch(await row.innerText(), /Bruno/);
    await ap.screenshot({ path: `${ARTIFACTS}/rating-rule-saved.png`, fullPage: true });
    const rules = await admin.call('GET', '/api/v1/rating-rules');
    assert.equal(rules.body.length, 1);
    assert.deepEqual(rules.body[0].scores, [0, 1]);

    // 2. Ana, in another browser context, works the panel: takes the conversation and closes it.
    const anaCtx = await b.newContext({ viewport: { width: 1366, height: 768 }, locale: 'pt-BR' });
    const op = await anaCtx.newPage();
    await login(op, prosa.base, ana);
    await op.waitForURL(/\/panel/);
    const badge = op.locator('#nav-notifications');
    assert.ok(await badge.isHidden());
    await deliver(prosa.base, inbox.body.id, 'k', { message_id: 'r-1', from: { id: 'carla', name: 'Carla Assinante' }, text: 'Minha internet está lenta' });
    await op.locator('#pn-queue').getByText('Carla Assinante').waitFor();
    await op.getByRole('button', { name: 'Pegar próximo' }).click();
    await op.getByText('Minha internet está lenta').first().waitFor();
    await op.locator('#pn-text').fill('Reiniciei sua conexão, Carla.');
    await op.locator('#pn-text').press('Enter');
    await until('the reply at the callback', () => cb.got.find((m) => m.text === 'Reiniciei sua conexão, Carla.'));
    await op.locator('#pn-close').click();
    await op.locator('#cl-category').selectOption({ label: 'Resolvido' });
    await op.locator('#dlg-close button[value=ok]').click();
    await until('the rating request', () => cb.got.find((m) => (m.text || '').includes('De 0 a 10')));
    await op.screenshot({ path: `${ARTIFACTS}/rating-before-score.png` });

    // 3. The subscriber answers 1: Ana's badge shows at once, without reloading.
    const url = op.url();
    await deliver(prosa.base, inbox.body.id, 'k', { message_id: 'r-2', from: { id: 'carla', name: 'Carla Assinante' }, text: '1' });
    await badge.waitFor({ state: 'visible' });
    assert.equal(await badge.innerText(), '1');
    assert.equal(op.url(), url, 'no navigation happened');
    await op.screenshot({ path: `${ARTIFACTS}/rating-badge.png` });
    // Bruno was not chosen: nothing for him.
    const bruno = await api(prosa.base, { email: 'bruno@e2e.local', password: 'senha-do-bruno' });
    assert.equal((await bruno.call('GET', '/api/v1/notifications/unread-count')).body.count, 0);

    // 4. Ana opens the rated conversation, records what she found, marks it treated.
    await op.getByRole('link', { name: /Avaliações/ }).click();
    await op.waitForURL(/\/ratings/);
    const item = op.locator('.rating-item').first();
    assert.match(await item.innerText(), /INSATISFAÇÃO/);
    assert.match(await item.innerText(), /Não tratada/);
    await op.screenshot({ path: `${ARTIFACTS}/rating-list.png` });
    await item.getByRole('link').click();
    await op.getByText('Minha internet está lenta').waitFor();
    await op.getByText('Reiniciei sua conexão, Carla.').waitFor();
    // An empty note is refused in pt-BR next to the field.
    await op.getByLabel('O que foi verificado').fill('   ');
    await op.getByRole('button', { name: 'Marcar como tratada' }).click();
    await op.locator('#err-note').waitFor();
    assert.equal(await op.locator('#err-note').innerText(), 'descreva o que foi verificado');
    await op.getByLabel('O que foi verificado').fill('Sinal fraco na ONU; técnico agendado para amanhã. <b>não é markup</b>');
    await op.screenshot({ path: `${ARTIFACTS}/rating-detail.png`, fullPage: true });
    await op.getByRole('button', { name: 'Marcar como tratada' }).click();
    await op.getByText(/Tratada em/).waitFor();
    await op.getByText('Sinal fraco na ONU; técnico agendado para amanhã. <b>não é markup</b>').waitFor();
    assert.equal(await op.locator('.pre b').count(), 0, 'the note is text, not markup');
    await until('the badge to go away', async () => await badge.isHidden());
    await op.screenshot({ path: `${ARTIFACTS}/rating-treated.png`, fullPage: true });

    // The API agrees, and the audit trail has the rule and the treatment.
    const notes = await (await api(prosa.base, ana)).call('GET', '/api/v1/notifications');
    assert.equal(notes.body.length, 1);
    assert.equal(notes.body[0].description, 'INSATISFAÇÃO');
    assert.equal(notes.body[0].score, 1);
    assert.ok(notes.body[0].treated_at);
    const audit = await admin.call('GET', '/api/v1/audit');
    const actions = audit.body.map((a) => a.action);
    assert.ok(actions.includes('rating_rule.create'), actions.join());
    assert.ok(actions.includes('notification.treat'), actions.join());

    // The administrator's filters on the rated conversations: everyone's, by operator, treated.
    await ap.goto(`${prosa.base}/ratings?operator=all&treated=true&min_score=0&max_score=1`);
    const treated = ap.locator('.rating-item');
    assert.equal(await treated.count(), 1);
    assert.match(await treated.first().innerText(), /para Ana Atendente/);
    await ap.goto(`${prosa.base}/ratings?operator=all&treated=false`);
    assert.equal(await ap.locator('.rating-item').count(), 0);
    await ap.getByText('Nenhuma conversa avaliada com esses filtros.').waitFor();
    await ap.goto(`${prosa.base}/ratings?operator=all`);
    await ap.screenshot({ path: `${ARTIFACTS}/rating-admin-filters.png`, fullPage: true });
  } finally {
    await b.close();
    cb.close();
    prosa.stop();
  }
});
