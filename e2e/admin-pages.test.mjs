// Every administration page, with data in it, at 1366x768 and on a phone (390x844): each one
// renders its title, nothing spills sideways on the phone, and a screenshot of each is saved to
// e2e/artifacts/ to look at. Also edits a user (role, team) and reorders categories by clicking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProsa, browser, login, api, ARTIFACTS } from './harness.mjs';

const PAGES = [
  ['/admin', 'Administração', 'admin-home'],
  ['/admin/users', 'Usuários', 'admin-users'],
  ['/admin/teams', 'Equipes', 'admin-teams'],
  ['/admin/categories', 'Categorias', 'admin-categories'],
  ['/admin/rating-rules', 'Regras de avaliação', 'admin-rating-rules'],
  ['/admin/service-hours', 'Horário de atendimento', 'admin-service-hours'],
  ['/admin/canned-responses', 'Respostas prontas', 'admin-canned'],
  ['/admin/audit', 'Trilha de auditoria', 'admin-audit'],
  ['/ratings', 'Conversas avaliadas', 'ratings'],
];

test('administration pages at desktop and phone sizes', async () => {
  const prosa = await startProsa();
  const b = await browser();
  try {
    const admin = await api(prosa.base);
    const ok = async (r) => { assert.ok(r.status < 300, JSON.stringify(r.body)); return r.body; };
    await ok(await admin.call('POST', '/api/v1/inboxes', { name: 'WhatsApp Principal', channel: { kind: 'api', secret: 'k', callback_url: 'http://127.0.0.1:9/cb' } }));
    const suporte = await ok(await admin.call('POST', '/api/v1/teams', { name: 'Suporte técnico' }));
    await ok(await admin.call('POST', '/api/v1/teams', { name: 'Financeiro' }));
    const ana = await ok(await admin.call('POST', '/api/v1/users', { email: 'ana@e2e.local', password: 'senha-da-ana', name: 'Ana Atendente', role: 'agent', team_ids: [suporte.id] }));
    await ok(await admin.call('POST', '/api/v1/users', { email: 'bruno.souza.supervisor@provedor-exemplo.com.br', password: 'senha-do-bruno', name: 'Bruno Souza', role: 'supervisor' }));
    await ok(await admin.call('POST', '/api/v1/rating-rules', { description: 'Insatisfação', scores: [0, 1, 2], operators: [ana.id] }));
    await ok(await admin.call('POST', '/api/v1/rating-rules', { description: 'Promotores', scores: [9, 10], operators: [ana.id] }));
    await ok(await admin.call('POST', '/api/v1/service-hours/rules', { description: 'Atendimento', weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'], intervals: [{ start: '08:00', end: '12:00' }, { start: '13:00', end: '18:00' }] }));
    await ok(await admin.call('POST', '/api/v1/service-hours/rules', { description: 'Plantão noturno', weekdays: ['sat'], intervals: [{ start: '22:00', end: '02:00' }] }));
    await ok(await admin.call('POST', '/api/v1/service-hours/closed-dates', { date: '2026-12-24', description: 'Véspera de Natal' }));
    await ok(await admin.call('POST', '/api/v1/canned-responses', { shortcut: 'boleto', content: 'Segue a segunda via do seu boleto. Qualquer dúvida, estamos à disposição.' }));

    const desk = await b.newPage({ viewport: { width: 1366, height: 768 }, locale: 'pt-BR' });
    await login(desk, prosa.base);
    await desk.waitForURL(/\/panel/);

    // Edit a user: Ana becomes supervisor of "Financeiro" (pt-BR error first for an empty name).
    await desk.goto(`${prosa.base}/admin/users`);
    await desk.getByRole('link', { name: 'Editar Ana Atendente' }).click();
    await desk.locator('#e-name').fill(' ');
    await desk.locator('#e-name').evaluate((e) => e.removeAttribute('required'));
    await desk.getByRole('button', { name: 'Salvar alterações' }).click();
    await desk.locator('#err-name').waitFor();
    assert.equal(await desk.locator('#err-name').innerText(), 'nome é obrigatório');
    await desk.locator('#e-name').fill('Ana Lima');
    await desk.locator('#e-role').selectOption('supervisor');
    await desk.getByRole('checkbox', { name: 'Suporte técnico' }).uncheck();
    await desk.getByRole('checkbox', { name: 'Financeiro' }).check();
    await desk.screenshot({ path: `${ARTIFACTS}/admin-user-edit.png`, fullPage: true });
    await desk.getByRole('button', { name: 'Salvar alterações' }).click();
    const anaRow = desk.locator('table.admin-table tbody tr', { hasText: 'Ana Lima' });
    await anaRow.waitFor();
    assert.match(await anaRow.innerText(), /Supervisor/);
    assert.match(await anaRow.innerText(), /Financeiro/);
    assert.doesNotMatch(await anaRow.innerText(), /Suporte técnico/);

    // Categories created in the page land last; reorder by clicking ↑ on "Cancelamento" twice.
    await desk.goto(`${prosa.base}/admin/categories`);
    for (const name of ['Sem conexão', 'Segunda via de boleto', 'Cancelamento']) {
      await desk.locator('#c-name').fill(name);
      await desk.getByRole('button', { name: 'Criar categoria' }).click();
      await desk.locator('td.cat-name', { hasText: name }).waitFor();
    }
    const names = async () => (await desk.locator('td.cat-name').allInnerTexts()).map((s) => s.trim());
    const before = await names();
    assert.equal(before[before.length - 1], 'Cancelamento');
    for (let i = 0; i < 2; i++) {
      await desk.getByRole('button', { name: 'Subir Cancelamento' }).click();
      await desk.waitForLoadState();
    }
    const after = await names();
    assert.equal(after.indexOf('Cancelamento'), before.length - 3, after.join());
    const audit = await admin.call('GET', '/api/v1/audit');
    const actions = audit.body.map((a) => a.action);
    for (const a of ['user.update', 'category.reorder']) assert.ok(actions.includes(a), `${a} in ${actions}`);

    const phone = await b.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'pt-BR' });
    await login(phone, prosa.base);
    await phone.waitForURL(/\/panel/);
    for (const [path, title, shot] of PAGES) {
      for (const [page, size] of [[desk, 'desktop'], [phone, 'phone']]) {
        await page.goto(`${prosa.base}${path}`);
        assert.equal(await page.locator('h1').first().innerText(), title, path);
        await page.screenshot({ path: `${ARTIFACTS}/${shot}-${size}.png`, fullPage: true });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 1, `${path} at ${size} spills ${overflow}px sideways`);
      }
    }
  } finally {
    await b.close();
    prosa.stop();
  }
});
