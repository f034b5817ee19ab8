// One real edit round, end to end: the demo page, the worker's wasm, the proxy, the local engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, launchChromium, openEditor, loadBytes, blobPixels, fixture, decodePng } from './harness.mjs';

let proxy, browser;
before(async () => { proxy = await startProxy(); browser = await launchChromium(); });
after(async () => { await browser?.close(); proxy?.stop(); });

const original = decodePng(fixture('coffee.png'));
const px = (img, x, y) => [...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4)];

/** Every pixel outside `boxes` (each grown by `margin`) equals the original's bytes. */
function differingOutside(img, boxes, margin) {
  let n = 0;
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) {
    const inside = boxes.some(([x0, y0, x1, y1]) => x >= x0 - margin && x <= x1 + margin && y >= y0 - margin && y <= y1 + margin);
    if (!inside && img.data.compare(original.data, (y * img.width + x) * 4, (y * img.width + x) * 4 + 4, (y * img.width + x) * 4, (y * img.width + x) * 4 + 4) !== 0) n++;
  }
  return n;
}

test('three rounds through the proxy keep every pixel outside the strokes byte-identical', async () => {
  const { page, errors } = await openEditor(browser, proxy.url);
  assert.deepEqual(await loadBytes(page, fixture('coffee.png')), { width: 600, height: 400 });
  const strokes = [
    { points: [[120, 120], [260, 140]], width: 30, colour: 'red', rgb: [255, 0, 0] },
    { points: [[400, 300], [520, 320], [540, 360]], width: 24, colour: '#00f', rgb: [0, 0, 255] },
    { points: [[60, 330], [70, 340]], width: 16, colour: 'lime', rgb: [0, 255, 0] },
  ];
  const boxes = [];
  for (const s of strokes) {
    const report = await page.evaluate(async ({ points, width, colour }) => {
      const ed = document.querySelector('pixelkeep-editor');
      await ed.clearMask();
      await ed.addStroke(points, { width });
      return ed.generate({ instruction: `fill with ${colour}`, provider: 'local' });
    }, s);
    assert.equal(report.delivered.changed_pixels, 0);
    const xs = s.points.map((p) => p[0]);
    const ys = s.points.map((p) => p[1]);
    const r = s.width / 2;
    boxes.push([Math.min(...xs) - r, Math.min(...ys) - r, Math.max(...xs) + r, Math.max(...ys) + r]);
    const img = await blobPixels(page, "ed.toBlob('image/png')");
    assert.equal(img.width, 600);
    assert.equal(differingOutside(img, boxes, 4 /* feather margin */ + 1), 0, 'no pixel outside the strokes changed');
    assert.deepEqual(px(img, s.points[0][0], s.points[0][1]), [...s.rgb, 255], 'the stroke core has the colour');
  }
  const rounds = await page.evaluate(() => document.querySelector('pixelkeep-editor').rounds.length);
  assert.equal(rounds, 3);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a mask painted with real mouse events lands under the pointer', async () => {
  const { page } = await openEditor(browser, proxy.url);
  await loadBytes(page, fixture('coffee.png'));
  const canvas = page.locator('pixelkeep-editor canvas.overlay');
  const box = await canvas.boundingBox();
  // The image is fitted and centred in the stage.
  const scale = Math.min(box.width / 600, box.height / 400);
  const ox = box.x + (box.width - 600 * scale) / 2;
  const oy = box.y + (box.height - 400 * scale) / 2;
  const screen = (x, y) => [ox + x * scale, oy + y * scale];
  await page.evaluate(() => { document.querySelector('pixelkeep-editor').brushSize = 20; });
  await page.mouse.move(...screen(100, 200));
  await page.mouse.down();
  for (let x = 100; x <= 400; x += 10) await page.mouse.move(...screen(x, 200));
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector('pixelkeep-editor').shadowRoot.querySelector('.error').textContent === '');
  const mask = await blobPixels(page, 'ed.maskBlob()');
  assert.equal(mask.width, 600, 'the mask is at the image resolution, not the screen');
  for (const x of [110, 250, 390]) assert.equal(px(mask, x, 200)[0], 255, `covered at ${x}`);
  assert.equal(px(mask, 250, 230)[0], 0, 'nothing painted 30 px below');
  assert.equal(px(mask, 450, 200)[0], 0, 'nothing painted past the end');
  await page.close();
});

test('bad input gets a clear error and the widget keeps working', async () => {
  const { page, errors } = await openEditor(browser, proxy.url);
  const failLoad = (bytes) => page.evaluate(async (b64) => {
    const ed = document.querySelector('pixelkeep-editor');
    const events = [];
    ed.addEventListener('pixelkeep-error', (e) => events.push(e.detail));
    try {
      await ed.load(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
      return { ok: true };
    } catch (e) {
      return { message: e.message, shown: ed.shadowRoot.querySelector('.error').textContent, events };
    }
  }, Buffer.from(bytes).toString('base64'));
  const notImage = await failLoad(Buffer.from('%PDF-1.4 this is not a photo'));
  assert.match(notImage.message, /not an image pixelkeep can read/);
  assert.equal(notImage.shown, notImage.message);
  assert.equal(notImage.events.length, 1);
  const png = fixture('coffee.png');
  const truncated = await failLoad(png.subarray(0, png.length / 3));
  assert.match(truncated.message, /could not be decoded/);
  // Still alive: a good photo loads and an unsupported instruction is explained.
  assert.deepEqual(await loadBytes(page, png), { width: 600, height: 400 });
  const refused = await page.evaluate(async () => {
    const ed = document.querySelector('pixelkeep-editor');
    await ed.addStroke([[10, 10], [50, 50]], { width: 10 });
    try { await ed.generate({ instruction: 'add a hat', provider: 'local' }); return null; } catch (e) {
      return { code: e.code, message: e.message, shown: ed.shadowRoot.querySelector('.error').textContent };
    }
  });
  assert.equal(refused.code, 'unsupported_instruction');
  assert.match(refused.shown, /fill with/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the proxy refuses a mask of another size than the image', async () => {
  const small = Buffer.from(await (await fetch(`${proxy.url}/api/health`)).arrayBuffer());
  assert.ok(small.length > 0);
  const mask = decodePng(fixture('coffee.png'));
  const { PNG } = await import('pngjs');
  const tiny = new PNG({ width: 10, height: 10 });
  tiny.data.fill(255);
  const res = await fetch(`${proxy.url}/api/edit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      provider: 'local', instruction: 'fill with red',
      image: { mime_type: 'image/png', data: fixture('coffee.png').toString('base64') },
      mask: { mime_type: 'image/png', data: PNG.sync.write(tiny).toString('base64') },
    }),
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.code, 'invalid_request');
  assert.match(body.error.message, /mask/i);
  assert.ok(mask.width === 600);
});
