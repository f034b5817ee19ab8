// The widget under the strict Content-Security-Policy the README documents: no inline
// styles or scripts, only 'wasm-unsafe-eval' for the module.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, launchChromium, loadBytes, fixture } from './harness.mjs';

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
  + "connect-src 'self'; worker-src 'self'; img-src 'self' blob: data:";
let proxy, browser;
before(async () => { proxy = await startProxy(); browser = await launchChromium(); });
after(async () => { await browser?.close(); proxy?.stop(); });

test('works under the documented strict CSP, with no violation', async () => {
  const page = await browser.newPage();
  // A host page of the proxy's origin with nothing inline, served with the CSP header.
  await page.route(`${proxy.url}/csp-host.html`, (route) => route.fulfill({
    contentType: 'text/html',
    headers: { 'content-security-policy': CSP },
    body: '<!doctype html><meta charset="utf-8"><script type="module" src="/pixelkeep-editor.js"></script>'
      + '<pixelkeep-editor autosave="off"></pixelkeep-editor>',
  }));
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(`${proxy.url}/csp-host.html`);
  await page.evaluate(() => new Promise((resolve) => {
    const ed = document.querySelector('pixelkeep-editor');
    ed.addEventListener('pixelkeep-ready', resolve, { once: true });
    ed.maskBlob().catch(resolve);
  }));
  await loadBytes(page, fixture('coffee.png'));
  const result = await page.evaluate(async () => {
    const ed = document.querySelector('pixelkeep-editor');
    await ed.addStroke([[100, 100], [250, 150]], { width: 30 });
    const report = await ed.generate({ instruction: 'fill with red', provider: 'local' });
    // Styled by its (constructed) stylesheet: buttons are not the browser's defaults.
    const button = ed.shadowRoot.querySelector('button');
    return { delivered: report.delivered.changed_pixels, radius: getComputedStyle(button).borderTopLeftRadius };
  });
  assert.equal(result.delivered, 0);
  assert.notEqual(result.radius, '0px', 'the element is styled under the CSP');
  assert.deepEqual(await page.evaluate(() => window.violations), []);
  await page.close();
});
