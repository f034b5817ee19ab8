// Screenshots of the widget for the README: light and dark, desktop and phone, and the shop example.
// Run: node scripts/screenshots.mjs (after a build and `cargo build -p pixelkeep-proxy`).
import { startProxy, launchChromium, fixture } from '../tests/browser/harness.mjs';

const proxy = await startProxy();
const browser = await launchChromium();
const only = process.argv[2];
try {
  for (const [name, viewport, scheme] of [
    ['desktop-light', { width: 1280, height: 900 }, 'light'],
    ['desktop-dark', { width: 1280, height: 900 }, 'dark'],
    ['phone-light', { width: 390, height: 844 }, 'light'],
    ['phone-dark', { width: 390, height: 844 }, 'dark'],
  ]) {
    if (only && !name.includes(only)) continue;
    const phone = viewport.width < 600;
    const page = await browser.newPage({ viewport, colorScheme: scheme, deviceScaleFactor: phone ? 2 : 1, hasTouch: phone, isMobile: phone });
    await page.goto(`${proxy.url}/`);
    await page.evaluate(async (b64) => {
      const ed = document.querySelector('pixelkeep-editor');
      await new Promise((r) => { ed.addEventListener('pixelkeep-ready', r, { once: true }); ed.maskBlob().catch(r); });
      await ed.load(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
      await ed.addShape({ kind: 'ellipse', cx: 300, cy: 245, rx: 150, ry: 60 });
      await ed.generate({ instruction: 'make it navy blue', provider: 'local' });
      await ed.clearMask();
      await ed.addStroke([[420, 90], [520, 120], [560, 180]], { width: 36 });
      const root = ed.shadowRoot;
      root.querySelector('textarea').value = 'remove the spoon';
      root.querySelector('[name=keep-background]').click();
      root.querySelector('[name=keep-lighting]').click();
      root.activeElement?.blur();
    }, fixture('coffee.png').toString('base64'));
    await page.waitForTimeout(400);
    await page.screenshot({ path: `docs/screenshot-${name}.png`, fullPage: true });
    await page.close();
  }
  if (!only || 'shop'.includes(only)) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(`${proxy.url}/shop.html`);
    await page.waitForFunction(() => document.querySelectorAll('.product img[src^="blob:"]').length === 4);
    await page.screenshot({ path: 'docs/screenshot-shop.png' });
    await page.locator('.product button').first().click();
    await page.evaluate(() => new Promise((r) => {
      const ed = document.querySelector('dialog pixelkeep-editor');
      if (ed.imageSize) r(); else ed.addEventListener('pixelkeep-change', r, { once: true });
    }));
    await page.waitForTimeout(400);
    await page.screenshot({ path: 'docs/screenshot-shop-editor.png' });
    await page.close();
  }
} finally {
  await browser.close();
  proxy.stop();
}
