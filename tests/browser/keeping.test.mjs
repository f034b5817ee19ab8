// Keeping the work: autosave and restore on reload, recovery when the worker dies, discard;
// export in every format (PNG exact, JPEG/WebP decoded), both mask conventions, transparency.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startProxy, launchChromium, openEditor, loadBytes, blobPixels, fixture, decodePng } from './harness.mjs';
import { makePng, px, shadow } from './helpers.mjs';

let proxy, browser;
before(async () => { proxy = await startProxy(); browser = await launchChromium(); });
after(async () => { await browser?.close(); proxy?.stop(); });

const coffee = fixture('coffee.png');
const original = decodePng(coffee);
const editor = 'document.querySelector("pixelkeep-editor")';

/** Everything that must survive: the delivered image, the mask, the rounds and the box. */
async function snapshot(page) {
  const image = await blobPixels(page, "ed.toBlob('image/png')");
  const mask = await blobPixels(page, 'ed.maskBlob()');
  const rest = await page.evaluate((e) => ({ rounds: eval(e).rounds.length, box: eval(e).box }), editor);
  return { image: image.data, mask: mask.data, ...rest };
}


test('the session autosaves, comes back after a reload and after the worker dies, and can be discarded', async () => {
  const { page, errors } = await openEditor(browser, proxy.url);
  await loadBytes(page, coffee);
  await page.evaluate(async (e) => {
    const ed = eval(e);
    await ed.addStroke([[120, 120], [260, 140]], { width: 30 });
    await ed.generate({ instruction: 'fill with red' });
    await ed.addStroke([[400, 300], [520, 320]], { width: 20 });
    await ed.generate({ instruction: 'fill with blue' });
    await ed.undo(); // the second round, undone
    await ed.clearMask();
    await ed.addShape({ kind: 'ellipse', cx: 80, cy: 300, rx: 40, ry: 30 });
    await ed.addStroke([[60, 300], [100, 300]], { width: 10, erase: true });
    await ed.setBox([100, 100, 600, 500]);
    window.__saved = 0;
    ed.addEventListener('pixelkeep-autosave', () => window.__saved++);
  }, editor);
  await page.waitForFunction(() => window.__saved > 0);
  const before = await snapshot(page);
  assert.equal(before.rounds, 1);

  await page.reload();
  const detail = await page.evaluate(() => new Promise((r) => {
    const ed = document.querySelector('pixelkeep-editor');
    if (ed.imageSize) r({ restored: true });
    else ed.addEventListener('pixelkeep-ready', (e) => r(e.detail), { once: true });
  }));
  assert.equal(detail.restored, true);
  const restored = await snapshot(page);
  assert.ok(restored.image.equals(before.image), 'the delivered image, byte for byte');
  assert.ok(restored.mask.equals(before.mask), 'the mask');
  assert.deepEqual([restored.rounds, restored.box], [before.rounds, before.box]);
  assert.match(await shadow(page, '.status').textContent(), /Restored your work/);
  // The undo history came back too: undo the erase stroke, redo it.
  assert.equal(await page.evaluate((e) => eval(e).undo(), editor), true);
  assert.ok(!(await blobPixels(page, 'ed.maskBlob()')).data.equals(before.mask), 'undone after the reload');
  assert.equal(await page.evaluate((e) => eval(e).redo(), editor), true);
  assert.ok((await blobPixels(page, 'ed.maskBlob()')).data.equals(before.mask), 'and redone');
  await page.waitForTimeout(600); // the autosave after redo

  // The worker dies: the editor says so and recovers from the autosave.
  const worker = page.workers().find((w) => w.url().includes('pixelkeep-worker'));
  await worker.evaluate(() => setTimeout(() => { throw new Error('simulated crash'); }));
  await page.waitForFunction((e) => /recovered/.test(eval(e).shadowRoot.querySelector('.status').textContent), editor);
  const recovered = await snapshot(page);
  assert.ok(recovered.image.equals(before.image) && recovered.mask.equals(before.mask), 'recovered exactly');

  // Discard: empty now, and nothing comes back on reload.
  await shadow(page, 'button[name=discard]').click();
  await page.waitForFunction((e) => eval(e).imageSize === null, editor);
  await page.reload();
  const fresh = await page.evaluate(() => new Promise((r) => {
    document.querySelector('pixelkeep-editor').addEventListener('pixelkeep-ready', (e) => r(e.detail), { once: true });
  }));
  assert.equal(fresh.restored, false);
  assert.deepEqual(errors, []);
  await page.close();
});

/** Downloads through the Export menu; resolves with the file's bytes. */
async function download(page, button) {
  await shadow(page, '.menu summary').click();
  const [file] = await Promise.all([page.waitForEvent('download'), shadow(page, `button[name=${button}]`).click()]);
  await shadow(page, '.menu summary').click();
  return { name: file.suggestedFilename(), bytes: readFileSync(await file.path()) };
}

/** Decodes any image the browser reads (JPEG, WebP) in the page: {width, height, data}. */
const decodeInPage = (page, bytes) => page.evaluate(async (b64) => {
  const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))]));
  const c = new OffscreenCanvas(bitmap.width, bitmap.height);
  c.getContext('2d').drawImage(bitmap, 0, 0);
  return { width: bitmap.width, height: bitmap.height, data: [...c.getContext('2d').getImageData(0, 0, bitmap.width, bitmap.height).data] };
}, Buffer.from(bytes).toString('base64'));

const meanDiff = (a, b) => { let d = 0; for (let i = 0; i < a.length; i++) d += Math.abs(a[i] - b[i]); return d / a.length; };

test('export: PNG is the composite exactly, JPEG and WebP at a chosen quality, the mask in both conventions, the save event', async () => {
  const { page, errors } = await openEditor(browser, proxy.url);
  await loadBytes(page, coffee);
  await page.evaluate(async (e) => {
    const ed = eval(e);
    await ed.addStroke([[120, 120], [260, 140]], { width: 30 });
    await ed.generate({ instruction: 'fill with red' });
  }, editor);
  const composite = await blobPixels(page, "ed.toBlob('image/png')");

  const png = await download(page, 'downloadImage');
  assert.equal(png.name, 'pixelkeep.png');
  const decoded = decodePng(png.bytes);
  assert.ok(decoded.data.equals(composite.data), 'the PNG is the composite, exactly');
  assert.deepEqual(px(decoded, 10, 10), px(original, 10, 10));
  assert.deepEqual(px(decoded, 190, 130), [255, 0, 0, 255]);

  await shadow(page, '.menu summary').click();
  await shadow(page, 'select[name=format]').selectOption('image/jpeg');
  await shadow(page, 'input[name=quality]').fill('0.8');
  await shadow(page, '.menu summary').click();
  const jpeg = await download(page, 'downloadImage');
  assert.equal(jpeg.name, 'pixelkeep.jpg');
  assert.deepEqual([...jpeg.bytes.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  const j = await decodeInPage(page, jpeg.bytes);
  assert.deepEqual([j.width, j.height], [600, 400], 'full resolution');
  assert.ok(meanDiff(j.data, composite.data) < 4, `JPEG close to the composite (${meanDiff(j.data, composite.data)})`);

  await shadow(page, '.menu summary').click();
  await shadow(page, 'select[name=format]').selectOption('image/webp');
  await shadow(page, '.menu summary').click();
  const webp = await download(page, 'downloadImage');
  assert.equal(webp.name, 'pixelkeep.webp');
  assert.equal(webp.bytes.subarray(8, 12).toString(), 'WEBP');
  const w = await decodeInPage(page, webp.bytes);
  assert.deepEqual([w.width, w.height], [600, 400]);
  assert.ok(meanDiff(w.data, composite.data) < 4, 'WebP close to the composite');
  const sizes = await page.evaluate(async (e) => {
    const ed = eval(e);
    return [(await ed.toBlob('image/webp', 0.3)).size, (await ed.toBlob('image/webp', 0.95)).size];
  }, editor);
  assert.ok(sizes[0] < sizes[1], `quality matters: ${sizes}`);

  const white = decodePng((await download(page, 'downloadMaskWhite')).bytes);
  assert.deepEqual([white.width, px(white, 190, 130)[0], px(white, 10, 10)[0]], [600, 255, 0], 'white = edit');
  const alpha = decodePng((await download(page, 'downloadMaskAlpha')).bytes);
  assert.deepEqual([px(alpha, 190, 130)[3], px(alpha, 10, 10)[3]], [0, 255], 'transparent = edit');

  // Save hands the page a Blob in the chosen format (WebP now) and the provenance.
  const saved = await page.evaluate(async (e) => {
    const ed = eval(e);
    const got = new Promise((r) => ed.addEventListener('pixelkeep-save', (ev) => r(ev.detail), { once: true }));
    ed.shadowRoot.querySelector('button[name=save]').click();
    const d = await got;
    return { type: d.blob.type, size: d.blob.size, rounds: d.provenance.rounds.length,
      same: d.provenance.protected_digest_original === d.provenance.protected_digest_result };
  }, editor);
  assert.deepEqual({ ...saved, size: saved.size > 0 }, { type: 'image/webp', size: true, rounds: 1, same: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('transparency survives: alpha is exact in PNG and kept in WebP', async () => {
  const { page } = await openEditor(browser, proxy.url);
  // A sticker: transparent around an opaque disc with a soft edge.
  const W = 200, H = 160;
  const sticker = makePng(W, H, (x, y) => {
    const d = Math.hypot(x - 100, y - 80);
    return [30, 140, 90, Math.max(0, Math.min(255, Math.round((70 - d) * 8)))];
  });
  await loadBytes(page, sticker);
  await page.evaluate(async (e) => {
    const ed = eval(e);
    await ed.addShape({ kind: 'rect', x: 80, y: 60, width: 40, height: 40 });
    await ed.generate({ instruction: 'fill with red' });
  }, editor);
  const src = decodePng(sticker);
  const out = await blobPixels(page, "ed.toBlob('image/png')");
  assert.deepEqual(px(out, 5, 5), [30, 140, 90, 0], 'transparent stays transparent');
  assert.deepEqual(px(out, 100, 20), px(src, 100, 20), 'the soft edge, exactly');
  assert.deepEqual(px(out, 100, 80), [255, 0, 0, 255], 'the edit');
  const webp = await page.evaluate(async (e) => {
    const b = await eval(e).toBlob('image/webp', 0.9);
    const bitmap = await createImageBitmap(b, { premultiplyAlpha: 'none' });
    const c = new OffscreenCanvas(bitmap.width, bitmap.height);
    c.getContext('2d').drawImage(bitmap, 0, 0);
    const g = c.getContext('2d');
    return [g.getImageData(5, 5, 1, 1).data[3], g.getImageData(100, 80, 1, 1).data[3]];
  }, editor);
  assert.ok(webp[0] < 8 && webp[1] > 247, `WebP keeps the alpha (${webp})`);
  await page.close();
});
