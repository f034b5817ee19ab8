// The main thread stays responsive with a 24 MP photo: a timer on the page keeps ticking
// while the photo loads and a round runs (the pixel work is in the worker).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, launchChromium, openEditor } from './harness.mjs';

let proxy, browser;
before(async () => { proxy = await startProxy(); browser = await launchChromium(); });
after(async () => { await browser?.close(); proxy?.stop(); });

test('a 24 MP load and a round keep the page ticking', { timeout: 240_000 }, async () => {
  const { page, errors } = await openEditor(browser, proxy.url);
  const result = await page.evaluate(async () => {
    // 6000 x 4000, made here (never committed): gradients and shapes, so it is not trivially compressible.
    const canvas = new OffscreenCanvas(6000, 4000);
    const g = canvas.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 6000, 4000);
    grad.addColorStop(0, '#203a60');
    grad.addColorStop(1, '#e0b070');
    g.fillStyle = grad;
    g.fillRect(0, 0, 6000, 4000);
    for (let i = 0; i < 400; i++) {
      g.fillStyle = `hsl(${(i * 37) % 360} 60% 55%)`;
      g.beginPath();
      g.arc((i * 977) % 6000, (i * 613) % 4000, 20 + (i % 90), 0, Math.PI * 2);
      g.fill();
    }
    const blob = await canvas.convertToBlob({ type: 'image/png' });

    let last = performance.now();
    let longest = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks++;
    }, 10);
    const ed = document.querySelector('pixelkeep-editor');
    const t0 = performance.now();
    const size = await ed.load(blob);
    const loadMs = performance.now() - t0;
    const loadLongest = longest;
    await ed.addShape({ kind: 'ellipse', cx: 3000, cy: 2000, rx: 400, ry: 300 });
    const report = await ed.generate({ instruction: 'fill with red' });
    await new Promise((r) => setTimeout(r, 100));
    clearInterval(timer);
    return { size, loadMs, loadLongest, longest, ticks, delivered: report.delivered.changed_pixels, total: performance.now() - t0 };
  });
  assert.deepEqual(result.size, { width: 6000, height: 4000 });
  assert.equal(result.delivered, 0);
  console.log(`24 MP: load ${Math.round(result.loadMs)} ms, load+round ${Math.round(result.total)} ms, longest gap ${Math.round(result.longest)} ms over ${result.ticks} ticks`);
  assert.ok(result.longest < 200, `the page never froze (longest gap between ticks: ${Math.round(result.longest)} ms)`);
  assert.deepEqual(errors, []);
  await page.close();
});
