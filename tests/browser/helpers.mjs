// Shared steps for the editor's browser tests (on top of harness.mjs).
import { PNG } from 'pngjs';
import { blobPixels } from './harness.mjs';

/** A PNG drawn in Node: `paint(x, y)` returns [r, g, b, a]. */
export function makePng(width, height, paint) {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) png.data.set(paint(x, y), (y * width + x) * 4);
  return PNG.sync.write(png);
}

export const px = (img, x, y) => [...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4)];

/** The edit mask (white-edit) as a function (x, y) -> 0..255. */
export async function maskOf(page) {
  const m = await blobPixels(page, 'ed.maskBlob()');
  return Object.assign((x, y) => m.data[(Math.round(y) * m.width + Math.round(x)) * 4], { width: m.width, height: m.height });
}

/** Maps image pixels to page pixels for the fitted (centred) view, measured from the stage. */
export async function fittedMapping(page, width, height) {
  const box = await page.locator('pixelkeep-editor canvas.overlay').boundingBox();
  const scale = Math.min(box.width / width, box.height / height);
  const ox = box.x + (box.width - width * scale) / 2;
  const oy = box.y + (box.height - height * scale) / 2;
  return { scale, ox, oy, at: (x, y) => [ox + x * scale, oy + y * scale] };
}

/** Counts `pixelkeep-change` events so a test can wait for the mask update a gesture starts. */
export async function watchChanges(page) {
  await page.evaluate(() => {
    window.__changes = 0;
    document.querySelector('pixelkeep-editor').addEventListener('pixelkeep-change', () => { window.__changes++; });
  });
  return async (action) => {
    const before = await page.evaluate(() => window.__changes);
    await action();
    await page.waitForFunction((n) => window.__changes > n, before);
  };
}

/** Drags the mouse through `points` (page pixels). */
export async function drag(page, points, { steps = 1 } = {}) {
  await page.mouse.move(...points[0]);
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...p, { steps });
  await page.mouse.up();
}

export const shadow = (page, selector) => page.locator(`pixelkeep-editor >> ${selector}`);

/** The text the person sees in the editor's error line. */
export const shownError = (page) => page.evaluate(() => document.querySelector('pixelkeep-editor').shadowRoot.querySelector('.error').textContent);

/** Loads bytes through the editor's file input, as a person would. */
export async function openFile(page, bytes, name = 'photo.png') {
  await page.locator('pixelkeep-editor input[name=file]').setInputFiles({ name, mimeType: 'image/png', buffer: Buffer.from(bytes) });
  await page.waitForFunction(() => document.querySelector('pixelkeep-editor').imageSize);
}
