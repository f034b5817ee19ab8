// Embedding: attributes mirrored by properties, replaceable strings, themes, keyboard access,
// cross-origin photos (CORS), and the shop example saving an edit back into its page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startProxy, launchChromium, openEditor, fixture } from './harness.mjs';
import { shadow, shownError } from './helpers.mjs';

let proxy, browser, other;
before(async () => {
  proxy = await startProxy();
  browser = await launchChromium();
  // Another origin: one photo it shares (CORS), one it does not.
  other = createServer((req, res) => {
    const cors = req.url.startsWith('/shared');
    res.writeHead(200, { 'content-type': 'image/png', ...(cors ? { 'access-control-allow-origin': '*' } : {}) });
    res.end(fixture('coffee.png'));
  });
  await new Promise((r) => other.listen(0, '127.0.0.1', r));
});
after(async () => { await browser?.close(); proxy?.stop(); other?.close(); });

const editor = 'document.querySelector("pixelkeep-editor")';

test('a photo from another origin loads when it allows CORS, and otherwise the error says it is CORS', async () => {
  const { page } = await openEditor(browser, proxy.url);
  const base = `http://127.0.0.1:${other.address().port}`;
  const ok = await page.evaluate(([e, url]) => eval(e).load(url), [editor, `${base}/shared/coffee.png`]);
  assert.deepEqual(ok, { width: 600, height: 400 });
  const refused = await page.evaluate(([e, url]) => eval(e).load(url).catch((err) => ({ code: err.code })), [editor, `${base}/private/coffee.png`]);
  assert.equal(refused.code, 'cors');
  assert.match(await shownError(page), /does not allow cross-origin \(CORS\) access/);
  // The src attribute takes URLs too.
  await page.evaluate(([e, url]) => { eval(e).src = url; }, [editor, `${base}/shared/again.png`]);
  await page.waitForFunction((e) => eval(e).shadowRoot.querySelector('.error').textContent === '', editor);
  await page.close();
});

test('attributes mirror properties; strings, locale tables and themes are replaceable', async () => {
  const { page, errors } = await openEditor(browser, proxy.url);
  const props = await page.evaluate((e) => {
    const ed = eval(e);
    ed.provider = 'local';
    ed.model = 'pixelkeep-local';
    ed.endpoint = '/api';
    ed.locale = 'en';
    ed.theme = 'dark';
    ed.autosave = 'off';
    ed.wasmUrl = ed.wasmUrl;
    return ['provider', 'model', 'endpoint', 'locale', 'theme', 'autosave', 'wasm-url'].map((a) => ed.getAttribute(a));
  }, editor);
  assert.deepEqual(props.slice(0, 6), ['local', 'pixelkeep-local', '/api', 'en', 'dark', 'off']);
  assert.match(props[6], /pixelkeep_bg\.wasm$/);
  assert.equal(await page.evaluate((e) => eval(e).autosave, editor), null, 'autosave="off"');
  const bg = await page.evaluate((e) => getComputedStyle(eval(e).shadowRoot.querySelector('.root')).backgroundColor, editor);
  assert.equal(bg, 'rgb(28, 28, 33)', 'dark theme');
  await page.evaluate((e) => { eval(e).theme = 'light'; }, editor);
  assert.equal(await page.evaluate((e) => getComputedStyle(eval(e).shadowRoot.querySelector('.root')).backgroundColor, editor), 'rgb(255, 255, 255)');

  // A whole table by locale tag, then single strings over it.
  await page.evaluate((e) => {
    const ed = eval(e);
    ed.constructor.locales.de = { brush: 'Pinsel', generate: 'Erzeugen', keepPresets: { background: 'Hintergrund' },
      errors: { aborted: () => 'Abgebrochen.' } };
    ed.locale = 'de';
    ed.strings = { undo: 'Rückgängig' };
  }, editor);
  assert.equal(await shadow(page, 'button[data-tool=brush]').textContent(), 'Pinsel');
  assert.equal(await shadow(page, 'button[name=generate]').textContent(), 'Erzeugen');
  assert.equal(await shadow(page, 'button[name=undo]').textContent(), 'Rückgängig');
  assert.equal(await shadow(page, 'button[name=keep-background]').textContent(), 'Hintergrund');
  assert.equal(await shadow(page, 'button[data-tool=eraser]').textContent(), 'Eraser', 'untranslated strings fall back to English');
  assert.deepEqual(errors, []);
  await page.close();
});

test('keyboard: every control is labelled and reachable, focus is visible, ? opens the shortcut list', async () => {
  const { page } = await openEditor(browser, proxy.url);
  const unlabelled = await page.evaluate((e) => [...eval(e).shadowRoot.querySelectorAll('button, input:not([type=file]), select, textarea')]
    .filter((el) => {
      const text = (el.getAttribute('aria-label') || el.textContent || el.labels?.[0]?.textContent || el.title || '').trim();
      return !text;
    }).map((el) => el.outerHTML.slice(0, 80)), editor);
  assert.deepEqual(unlabelled, []);
  // Tab from the page into the editor (past the demo page's link): the first tool gets a visible focus ring.
  for (let i = 0; i < 5 && await page.evaluate(() => document.activeElement?.tagName !== 'PIXELKEEP-EDITOR'); i++) await page.keyboard.press('Tab');
  const focused = await page.evaluate((e) => {
    const el = eval(e).shadowRoot.activeElement;
    return { tool: el?.dataset.tool, outline: getComputedStyle(el).outlineStyle };
  }, editor);
  assert.deepEqual(focused, { tool: 'brush', outline: 'solid' });
  // Tool shortcuts, from the canvas.
  await shadow(page, '.stage').focus();
  await page.keyboard.press('l');
  assert.equal(await page.evaluate((e) => eval(e).tool, editor), 'lasso');
  await page.keyboard.press('x');
  assert.equal(await shadow(page, 'button[data-tool=box]').getAttribute('aria-pressed'), 'true');
  // Typing in the instruction is not a shortcut.
  await shadow(page, 'textarea[name=instruction]').type('brush');
  assert.equal(await page.evaluate((e) => eval(e).tool, editor), 'box');
  await shadow(page, '.stage').focus();
  await page.keyboard.press('?');
  assert.equal(await shadow(page, 'dialog.help').isVisible(), true);
  assert.match(await shadow(page, 'dialog.help').textContent(), /Show the original.*Undo.*This list/s);
  await page.keyboard.press('Escape');
  assert.equal(await shadow(page, 'dialog.help').isVisible(), false);
  await page.close();
});

test('the shop example: a product photo opens in the editor dialog, is edited, and is saved back into the page', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${proxy.url}/shop.html`);
  await page.waitForFunction(() => document.querySelectorAll('.product img[src^="blob:"]').length === 4);
  assert.equal(await page.locator('.product').count(), 4);
  const before = await page.locator('.product img').first().getAttribute('src');
  await page.locator('.product button').first().click();
  await page.waitForFunction(() => document.querySelector('dialog pixelkeep-editor').imageSize?.width === 1200);
  await page.evaluate(async () => {
    const ed = document.querySelector('dialog pixelkeep-editor');
    await ed.addShape({ kind: 'rect', x: 400, y: 320, width: 380, height: 400 });
    await ed.generate({ instruction: 'make it navy blue' });
  });
  await page.locator('#save').click();
  await page.waitForFunction(() => !document.getElementById('editor-dialog').open);
  assert.notEqual(await page.locator('.product img').first().getAttribute('src'), before, 'the photo was replaced');
  assert.match(await page.locator('.product .edited').first().textContent(), /Edited \(1 round\) · rest of the photo unchanged, verified/);
  assert.deepEqual(errors, []);
  await page.close();
});
