// An administrator sets up channels in /admin/inboxes: per-kind form with pt-BR errors next to
// the field, what to paste where after saving, "Testar credenciais", and WhatsApp through
// Evolution API paired by QR code, followed live until "Conectado". Evolution is a small fake
// on 127.0.0.1 answering like Evolution API v2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startProsa, browser, login, ARTIFACTS } from './harness.mjs';

const QR = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACEAAAAhCAAAAAByj52zAAAAy0lEQVR42qVUWw7DMAzi/pdmUmMebj42aVFVLS41htCB3xZ+QeAs6r6rhNqcZ9rC1XM974b02blaCExven8jvMgXQv0hlq62loGZCQXlDMh3bbWxIjGJMyPgMjmIzD/axpQUzS6y8b7V+jdKWp8LginFZqnm9eJ9tmG9BUkJOwgoH2ieIt795mkMcgwQ15nDOu4Cy9gK1sh+ObFO1909/87H0Kl9zxHLKypM/GtuyLnOUxm0/K6vy6m2OcHysk472JZX1h3F5crf/w4f6yGgfNcdCuIAAAAASUVORK5CYII=';
const KEY = 'chave-global-evolution';

function fakeEvolution() {
  const state = { value: 'close', requests: [] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      state.requests.push({ method: req.method, url: req.url, body });
      const reply = (status, v) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
      if (req.headers.apikey !== KEY) return reply(401, { status: 401, error: 'Unauthorized', response: { message: 'Unauthorized' } });
      if (req.url.startsWith('/instance/connectionState/provedor')) return reply(200, { instance: { instanceName: 'provedor', state: state.value } });
      if (req.url.startsWith('/instance/connect/provedor')) {
        state.value = 'connecting';
        return reply(200, { pairingCode: null, code: '2@fake', base64: QR, count: 1 });
      }
      if (req.url.startsWith('/webhook/set/provedor')) return reply(201, { webhook: JSON.parse(body || '{}').webhook });
      return reply(404, { status: 404, error: 'Not Found', response: { message: ['Cannot find route'] } });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ state, url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() })));
}

test('administrator creates inboxes, sees what to paste where, tests credentials and pairs WhatsApp by QR code', async () => {
  const prosa = await startProsa();
  const evo = await fakeEvolution();
  const b = await browser();
  try {
    const page = await b.newPage({ viewport: { width: 1366, height: 768 } });
    await login(page, prosa.base);
    await page.goto(`${prosa.base}/admin/inboxes`);
    await page.getByText('Nenhuma caixa de entrada ainda.').waitFor();

    // WhatsApp Cloud with a missing field: the error is next to the field, in pt-BR.
    await page.getByLabel('Canal').selectOption('whatsapp_cloud');
    await page.getByRole('button', { name: 'Continuar' }).click();
    await page.getByLabel('Nome da caixa').fill('WhatsApp oficial');
    await page.getByLabel('Token de acesso').fill('EAAG-token-de-teste');
    await page.getByLabel('Chave secreta do app').fill('segredo-do-app');
    await page.getByRole('button', { name: 'Criar caixa de entrada' }).click();
    await page.locator('#err-s\\.phone_number_id', { hasText: 'campo obrigatório' }).waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/admin-inbox-error.png`, fullPage: true });
    await page.getByLabel('ID do número de telefone').fill('106540352242922');
    await page.getByLabel('Token de acesso').fill('EAAG-token-de-teste');
    await page.getByLabel('Chave secreta do app').fill('segredo-do-app');
    await page.getByRole('button', { name: 'Criar caixa de entrada' }).click();
    await page.getByText('Caixa de entrada salva.').waitFor();
    const callback = await page.getByLabel('URL de callback').inputValue();
    assert.match(callback, /\/webhooks\/whatsapp\/\d+$/);
    const verify = await page.getByLabel('Token de verificação', { exact: true }).inputValue();
    assert.ok(verify.length >= 20);
    await page.screenshot({ path: `${ARTIFACTS}/admin-inbox-paste.png`, fullPage: true });
    // The handshake works with what the page told us to paste.
    const hs = await fetch(`${callback}?hub.mode=subscribe&hub.verify_token=${verify}&hub.challenge=12345`);
    assert.equal(await hs.text(), '12345');
    // Back on the page later: the secrets are "definido", never shown.
    await page.reload();
    assert.equal(await page.getByText(verify).count(), 0);
    assert.equal(await page.locator('input[value="EAAG-token-de-teste"]').count(), 0);

    // WhatsApp through Evolution: test the key, then pair by QR code.
    await page.goto(`${prosa.base}/admin/inboxes`);
    await page.getByLabel('Canal').selectOption('whatsapp_evolution');
    await page.getByRole('button', { name: 'Continuar' }).click();
    await page.getByLabel('Nome da caixa').fill('WhatsApp do suporte');
    await page.getByLabel('Endereço do servidor Evolution').fill(evo.url);
    await page.getByLabel('Chave de API').fill(KEY);
    await page.getByLabel('Nome da instância').fill('provedor');
    await page.getByRole('button', { name: 'Criar caixa de entrada' }).click();
    await page.getByText('Caixa de entrada salva.').waitFor();
    await page.getByRole('button', { name: 'Testar credenciais' }).click();
    await page.getByText('Credenciais válidas: instância provedor — desconectado.').waitFor();
    await page.getByRole('button', { name: 'Conectar WhatsApp' }).click();
    await page.getByRole('img', { name: 'QR code para conectar o WhatsApp' }).waitFor();
    assert.ok(await page.locator('#pair-qr-img').evaluate((i) => i.complete && i.naturalWidth > 0), 'the QR code image renders under the CSP');
    await page.getByText('aguardando a leitura do QR code').waitFor();
    await page.locator('#pairing, .pairing').screenshot({ path: `${ARTIFACTS}/admin-evolution-qr.png` });
    assert.ok(evo.state.requests.some((r) => r.url.startsWith('/webhook/set/provedor') && r.body.includes('/webhooks/evolution/')));
    // The phone scans it: the page follows by itself.
    evo.state.value = 'open';
    await page.locator('#pair-state', { hasText: 'Conectado' }).waitFor({ timeout: 15000 });
    assert.equal(await page.locator('#pair-qr').isHidden(), true);
    await page.screenshot({ path: `${ARTIFACTS}/admin-evolution-connected.png`, fullPage: true });

    // The list with each inbox's health; and on a phone.
    await page.goto(`${prosa.base}/admin/inboxes`);
    await page.getByRole('link', { name: 'WhatsApp do suporte' }).waitFor();
    await page.screenshot({ path: `${ARTIFACTS}/admin-inboxes-list.png`, fullPage: true });
    const phone = await b.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await login(phone, prosa.base);
    await phone.goto(`${prosa.base}/admin/inboxes`);
    await phone.getByRole('link', { name: 'WhatsApp oficial' }).click();
    await phone.getByLabel('URL de callback').waitFor();
    await phone.screenshot({ path: `${ARTIFACTS}/admin-inbox-phone.png`, fullPage: true });
  } finally {
    await b.close();
    evo.close();
    prosa.stop();
  }
});
