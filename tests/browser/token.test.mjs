// Embed tokens: with a secret configured, the widget works only with a token the host minted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startProxy, launchChromium, openEditor, loadBytes, fixture } from './harness.mjs';

const secret = 'test-secret-0123456789';
let proxy, browser;
before(async () => { proxy = await startProxy({ PIXELKEEP_TOKEN_SECRET: secret }); browser = await launchChromium(); });
after(async () => { await browser?.close(); proxy?.stop(); });

function mint(site) {
  const bin = process.env.PIXELKEEP_PROXY_BIN ?? 'target/debug/pixelkeep-proxy';
  return execFileSync(bin, ['token', '--site', site, '--secret', secret], { encoding: 'utf8' }).trim();
}

const round = (page) => page.evaluate(async () => {
  const ed = document.querySelector('pixelkeep-editor');
  await ed.addStroke([[100, 100], [200, 120]], { width: 20 });
  try {
    const r = await ed.generate({ instruction: 'fill with red', provider: 'local' });
    return { ok: true, delivered: r.delivered.changed_pixels };
  } catch (e) {
    return { ok: false, code: e.code, shown: ed.shadowRoot.querySelector('[role=alert]')?.textContent ?? '' };
  }
});

test('without a token the edit is refused and the person is told why', async () => {
  const { page } = await openEditor(browser, proxy.url);
  await loadBytes(page, fixture('coffee.png'));
  const r = await round(page);
  assert.equal(r.ok, false);
  assert.equal(r.code, 'unauthorized');
  assert.match(r.shown, /token/i);
  await page.close();
});

test('with a minted token the round goes through', async () => {
  const { page } = await openEditor(browser, proxy.url);
  await page.evaluate((t) => { document.querySelector('pixelkeep-editor').token = t; }, mint('shop.example'));
  await loadBytes(page, fixture('coffee.png'));
  const r = await round(page);
  assert.deepEqual(r, { ok: true, delivered: 0 });
  await page.close();
});

test('a forged token is refused', async () => {
  const { page } = await openEditor(browser, proxy.url);
  const forged = mint('shop.example').replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
  await page.evaluate((t) => { document.querySelector('pixelkeep-editor').token = t; }, forged);
  await loadBytes(page, fixture('coffee.png'));
  const r = await round(page);
  assert.equal(r.code, 'unauthorized');
  await page.close();
});
