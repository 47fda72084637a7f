import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProsa, browser, login, ARTIFACTS } from './harness.mjs';

test('an administrator signs in and a wrong password is refused in pt-BR', async () => {
  const prosa = await startProsa();
  const b = await browser();
  try {
    const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(page, prosa.base, { email: 'admin@e2e.local', password: 'errada' });
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /E-mail ou senha incorretos/);
    await page.screenshot({ path: `${ARTIFACTS}/login-error.png` });
    await login(page, prosa.base);
    await page.waitForURL(/\/panel/);
    await page.screenshot({ path: `${ARTIFACTS}/after-login.png` });
    const phone = await b.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${prosa.base}/login`);
    await phone.screenshot({ path: `${ARTIFACTS}/login-phone.png` });
  } finally {
    await b.close();
    prosa.stop();
  }
});
