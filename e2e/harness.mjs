// Starts the real prosa binary on a fresh SQLite database and opens headless Debian Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

export const ADMIN = { email: 'admin@e2e.local', password: 'admin-password' };
export const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

// `env`: extra environment (e.g. the development clock); `stderr()` returns what Prosa printed there.
export async function startProsa({ env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'prosa-e2e-'));
  writeFileSync(join(dir, 'prosa.toml'),
    `listen = "127.0.0.1:0"\ndatabase_url = "sqlite://${dir}/prosa.db"\ndata_dir = "${dir}"\n[egress]\nallowed_private_hosts = ["127.0.0.1"]\n[outbox]\nbase_delay_ms = 100\nmax_delay_ms = 500\n`);
  const bin = process.env.PROSA_BIN;
  if (!bin) throw new Error('PROSA_BIN must point to the prosa binary');
  const child = spawn(bin, ['--config', join(dir, 'prosa.toml')], {
    env: { ...process.env, PROSA_ADMIN_EMAIL: ADMIN.email, PROSA_ADMIN_PASSWORD: ADMIN.password, PROSA_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => { err += d; process.stderr.write(d); });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`prosa exited ${code}`)));
  });
  return { base, dir, stop: () => child.kill('SIGTERM'), stderr: () => err };
}

export async function browser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export async function login(page, base, who = ADMIN) {
  await page.goto(`${base}/login`);
  await page.getByLabel('E-mail').fill(who.email);
  await page.getByLabel('Senha').fill(who.password);
  await page.getByRole('button', { name: 'Entrar' }).click();
}

// An API session for setting things up (cookie + CSRF token).
export async function api(base, who = ADMIN) {
  const r = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who) });
  if (r.status !== 200) throw new Error(`login ${r.status}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const me = await (await fetch(`${base}/api/v1/users/me`, { headers: { cookie } })).json();
  const call = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method, headers: { cookie, 'x-csrf-token': me.csrf_token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return { call, me };
}

export async function deliver(base, inbox, secret, message) {
  const body = JSON.stringify(message);
  const sig = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
  const r = await fetch(`${base}/webhooks/api/${inbox}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-prosa-signature': sig }, body });
  if (r.status !== 200) throw new Error(`webhook ${r.status}`);
}

// Polls `f` until it returns something truthy (a deadline only to fail instead of hanging).
export async function until(what, f, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A fake callback endpoint of the API channel on 127.0.0.1: records what Prosa sends.
export function callbackServer() {
  const got = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => { try { got.push(JSON.parse(body)); } catch {} res.end('ok'); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ got, url: `http://127.0.0.1:${server.address().port}/cb`, close: () => server.close() })));
}
