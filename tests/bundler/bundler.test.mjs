// The widget as a bundler user gets it: `import 'pixelkeep/www/pixelkeep-editor.js'` built by
// Vite, served from another origin than the proxy (CORS allowlist), one real round.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'vite';
import { startProxy, launchChromium, loadBytes, fixture } from '../browser/harness.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
let dir, site, proxy, browser;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pixelkeep-bundle-'));
  writeFileSync(path.join(dir, 'main.js'), `import ${JSON.stringify(path.join(root, 'www/pixelkeep-editor.js'))};\n`);
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script><pixelkeep-editor autosave="off"></pixelkeep-editor>');
  await build({ root: dir, logLevel: 'warn', build: { outDir: path.join(dir, 'dist'), emptyOutDir: true }, server: { fs: { allow: [root] } } });
  // The built site on one origin...
  site = createServer((req, res) => {
    const file = path.join(dir, 'dist', decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/$/, '/index.html'));
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${site.address().port}`;
  // ...and the proxy on another, allowing it.
  proxy = await startProxy({ PIXELKEEP_ALLOWED_ORIGINS: origin });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  proxy?.stop();
  site?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a Vite build of the widget, on another origin than the proxy, does a round', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  await page.evaluate((endpoint) => {
    const ed = document.querySelector('pixelkeep-editor');
    ed.endpoint = endpoint;
    return new Promise((resolve) => { ed.addEventListener('pixelkeep-ready', resolve, { once: true }); ed.maskBlob().catch(resolve); });
  }, `${proxy.url}/api`);
  assert.deepEqual(await loadBytes(page, fixture('coffee.png')), { width: 600, height: 400 });
  const report = await page.evaluate(async () => {
    const ed = document.querySelector('pixelkeep-editor');
    await ed.addStroke([[100, 100], [250, 150]], { width: 30 });
    return ed.generate({ instruction: 'fill with red', provider: 'local' });
  });
  assert.equal(report.delivered.changed_pixels, 0);
  assert.deepEqual(errors, []);
  await page.close();
  // The bundler found the worker and the wasm through `new URL(..., import.meta.url)`.
  const assets = readdirSync(path.join(dir, 'dist', 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), assets.join(', '));
  assert.ok(assets.some((f) => /worker.*\.js$/.test(f)), assets.join(', '));
});
