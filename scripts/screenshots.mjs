// Screenshots of the widget for the README: light and dark, desktop and phone.
// Run: node scripts/screenshots.mjs (after a build and `cargo build -p pixelkeep-proxy`).
import { startProxy, launchChromium, fixture } from '../tests/browser/harness.mjs';

const proxy = await startProxy();
const browser = await launchChromium();
try {
  for (const [name, viewport, scheme] of [
    ['desktop-light', { width: 1200, height: 860 }, 'light'],
    ['desktop-dark', { width: 1200, height: 860 }, 'dark'],
    ['phone-light', { width: 390, height: 844 }, 'light'],
  ]) {
    const page = await browser.newPage({ viewport, colorScheme: scheme, deviceScaleFactor: 1 });
    await page.goto(`${proxy.url}/`);
    await page.evaluate(async (b64) => {
      const ed = document.querySelector('pixelkeep-editor');
      await new Promise((r) => { ed.addEventListener('pixelkeep-ready', r, { once: true }); ed.maskBlob().catch(r); });
      await ed.load(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
      await ed.addShape({ kind: 'ellipse', cx: 300, cy: 245, rx: 150, ry: 60 });
      await ed.generate({ instruction: 'make it navy blue', provider: 'local' });
      await ed.addStroke([[420, 90], [520, 120], [560, 180]], { width: 36 });
      ed.shadowRoot.querySelector('textarea').value = 'remove the spoon';
    }, fixture('coffee.png').toString('base64'));
    await page.waitForTimeout(300);
    await page.screenshot({ path: `docs/screenshot-${name}.png`, fullPage: true });
    await page.close();
  }
} finally {
  await browser.close();
  proxy.stop();
}
