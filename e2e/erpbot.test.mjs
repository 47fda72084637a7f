import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProsa, browser, login, ARTIFACTS } from './harness.mjs';

test('an administrator tests and saves the ERP connection, with pt-BR errors next to the fields', async () => {
  const prosa = await startProsa();
  const b = await browser();
  try {
    const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(page, prosa.base);
    await page.waitForURL(/\/panel/);
    await page.goto(`${prosa.base}/admin/erp`);
    await page.getByRole('heading', { name: 'Conexão com o ERP' }).waitFor();
    // The demo ERP: the MK/IXC fields are hidden; the test works.
    assert.equal(await page.getByLabel('Endereço do ERP').isVisible(), false);
    await page.getByRole('button', { name: 'Testar conexão' }).click();
    await page.getByRole('status').filter({ hasText: 'Conexão funcionando' }).waitFor();

    // MK Solutions on an address nothing answers: unreachable, in pt-BR, nothing saved.
    await page.getByLabel('Sistema de gestão (ERP)').selectOption('mk');
    await page.getByLabel('Endereço do ERP').fill('http://127.0.0.1:9');
    await page.getByLabel('Token do usuário').fill('token-secreto-123');
    await page.getByLabel('Contra-senha do perfil de web services').fill('senha-secreta-456');
    await page.getByLabel('Tempo limite de cada consulta (segundos)').fill('2');
    await page.getByLabel('Permitir endereço de rede interna').check();
    await page.getByRole('button', { name: 'Testar conexão' }).click();
    await page.getByRole('status').filter({ hasText: 'Não foi possível conectar' }).waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/erp-test-unreachable.png`, fullPage: true });

    // A LAN address without the checkbox: refused next to the field.
    await page.getByLabel('Endereço do ERP').fill('http://10.0.0.5:8080');
    await page.getByLabel('Permitir endereço de rede interna').uncheck();
    await page.getByRole('button', { name: 'Salvar' }).click();
    await page.locator('#err-base_url').waitFor();
    assert.match(await page.locator('#err-base_url').innerText(), /rede interna/);
    // The typed credentials are not written back into the page.
    assert.equal(await page.getByLabel('Token do usuário').inputValue(), '');
    assert.ok(!(await page.content()).includes('token-secreto-123'));
    await page.screenshot({ path: `${ARTIFACTS}/erp-private-refused.png`, fullPage: true });

    // Allowed explicitly: saved; the secrets show as "definido", never their value.
    await page.getByLabel('Token do usuário').fill('token-secreto-123');
    await page.getByLabel('Contra-senha do perfil de web services').fill('senha-secreta-456');
    await page.getByLabel('Permitir endereço de rede interna').check();
    await page.getByRole('button', { name: 'Salvar' }).click();
    await page.getByText('Em uso:').waitFor();
    assert.match(await page.locator('.erp-status').innerText(), /MK Solutions/);
    assert.match(await page.locator('#erp-user-token-hint').innerText(), /definido/);
    assert.ok(!(await page.content()).includes('token-secreto-123'));
    await page.screenshot({ path: `${ARTIFACTS}/erp-saved.png`, fullPage: true });

    const phone = await b.newPage({ viewport: { width: 390, height: 844 } });
    await login(phone, prosa.base);
    await phone.waitForURL(/\/panel/);
    await phone.goto(`${prosa.base}/admin/erp`);
    await phone.screenshot({ path: `${ARTIFACTS}/erp-phone.png`, fullPage: true });
  } finally {
    await b.close();
    prosa.stop();
  }
});

test('an administrator edits a bot text; an unknown placeholder is refused next to the field', async () => {
  const prosa = await startProsa();
  const b = await browser();
  try {
    const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(page, prosa.base);
    await page.waitForURL(/\/panel/);
    await page.goto(`${prosa.base}/admin/bot-texts`);
    await page.getByRole('heading', { name: 'Bot: textos e ajustes' }).waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/bot-texts.png` });
    const greeting = page.locator('#t-greeting');
    await greeting.fill('Oi, {cliente}! Aqui é a {empresa}.');
    await page.getByRole('button', { name: 'Salvar textos' }).first().click();
    await page.locator('#err-greeting').waitFor();
    assert.match(await page.locator('#err-greeting').innerText(), /marcador desconhecido: \{cliente\}/);
    await page.locator('#item-greeting').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/bot-texts-error.png` });

    await page.locator('#t-greeting').fill('Oi! Aqui é a {empresa}.');
    await page.getByRole('button', { name: 'Salvar textos' }).first().click();
    await page.locator('#item-greeting.changed').waitFor();
    assert.equal(await page.locator('#t-greeting').inputValue(), 'Oi! Aqui é a {empresa}.');
    await page.locator('#item-greeting').getByRole('button', { name: 'Restaurar padrão' }).click();
    await page.locator('#item-greeting:not(.changed)').waitFor();
    assert.match(await page.locator('#t-greeting').inputValue(), /assistente virtual/);

    // Settings: a warning after the closing is refused next to the field.
    await page.getByLabel('Encerrar por inatividade após (minutos)').fill('10');
    await page.getByLabel(/Perguntar "você ainda está aí\?" após/).fill('15');
    await page.getByRole('button', { name: 'Salvar ajustes' }).click();
    await page.locator('#err-inactivity_warning_secs').waitFor();
    await page.getByLabel(/Perguntar "você ainda está aí\?" após/).fill('8');
    await page.getByRole('button', { name: 'Salvar ajustes' }).click();
    await page.getByText('Ajustes salvos.').waitFor();

    const phone = await b.newPage({ viewport: { width: 390, height: 844 } });
    await login(phone, prosa.base);
    await phone.waitForURL(/\/panel/);
    await phone.goto(`${prosa.base}/admin/bot-texts#texts`);
    await phone.screenshot({ path: `${ARTIFACTS}/bot-texts-phone.png` });
  } finally {
    await b.close();
    prosa.stop();
  }
});
