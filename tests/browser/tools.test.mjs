// Every mask tool driven by real mouse, keyboard and touch input, checked in the mask's pixels.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, launchChromium, openEditor, loadBytes } from './harness.mjs';
import { makePng, maskOf, fittedMapping, watchChanges, drag, shadow } from './helpers.mjs';

let proxy, browser;
before(async () => { proxy = await startProxy(); browser = await launchChromium(); });
after(async () => { await browser?.close(); proxy?.stop(); });

// 400 x 300: grey, a white card (40..160, 40..140) and a blue band (x >= 250).
const W = 400, H = 300;
const scene = makePng(W, H, (x, y) => {
  if (x >= 40 && x < 160 && y >= 40 && y < 140) return [255, 255, 255, 255];
  if (x >= 250) return [20, 40, 200, 255];
  return [128, 128, 128, 255];
});

// Tall enough that focusing the canvas never scrolls the page (the mappings are measured once).
async function ready(viewport = { width: 1200, height: 1100 }) {
  const { page, errors } = await openEditor(browser, proxy.url, { viewport });
  await loadBytes(page, scene);
  const change = await watchChanges(page);
  return { page, errors, change, map: await fittedMapping(page, W, H) };
}

const tool = (page, name) => shadow(page, `button[data-tool=${name}]`).click();

test('brush, eraser, rectangle, ellipse, lasso and box drawn with the mouse land in the mask', async () => {
  const { page, errors, change, map } = await ready();
  await shadow(page, 'input[name=sizeValue]').fill('20');
  await shadow(page, 'input[name=sizeValue]').press('Enter');
  assert.equal(await page.evaluate(() => document.querySelector('pixelkeep-editor').brushSize), 20);

  await tool(page, 'brush');
  await change(() => drag(page, [map.at(50, 200), map.at(100, 200), map.at(150, 200)]));
  await tool(page, 'eraser');
  await shadow(page, 'input[name=sizeValue]').fill('10');
  await shadow(page, 'input[name=sizeValue]').press('Enter');
  await change(() => drag(page, [map.at(100, 180), map.at(100, 220)]));
  await tool(page, 'rect');
  await change(() => drag(page, [map.at(200, 20), map.at(230, 50), map.at(240, 80)]));
  await tool(page, 'ellipse');
  await change(() => drag(page, [map.at(300, 150), map.at(380, 250)]));
  await tool(page, 'lasso');
  await change(() => drag(page, [map.at(20, 240), map.at(120, 240), map.at(70, 290), map.at(21, 241)]));

  const m = await maskOf(page);
  assert.equal(m.width, W, 'the mask is at image resolution');
  assert.equal(m(60, 200), 255, 'brush');
  assert.equal(m(140, 200), 255, 'brush');
  assert.equal(m(100, 200), 0, 'erased across the stroke');
  assert.equal(m(60, 215), 0, 'nothing below the brush');
  assert.equal(m(220, 50), 255, 'rectangle');
  assert.equal(m(245, 50), 0, 'right of the rectangle');
  assert.equal(m(340, 200), 255, 'ellipse centre');
  assert.equal(m(304, 154), 0, 'ellipse corner is outside it');
  assert.equal(m(70, 255), 255, 'inside the lasso');
  assert.equal(m(25, 285), 0, 'outside the lasso');

  await tool(page, 'box');
  await change(() => drag(page, [map.at(0, 0), map.at(200, 150)]));
  const shown = await page.evaluate(() => ['ymin', 'xmin', 'ymax', 'xmax'].map((n) =>
    Number(document.querySelector('pixelkeep-editor').shadowRoot.querySelector(`[name=${n}]`).value)));
  [0, 0, 500, 500].forEach((v, i) => assert.ok(Math.abs(shown[i] - v) <= 4, `box value ${i}: ${shown[i]} ≈ ${v}`));
  await change(async () => { await shadow(page, 'input[name=ymax]').fill('750'); await shadow(page, 'input[name=ymax]').press('Enter'); });
  const box = await page.evaluate(() => document.querySelector('pixelkeep-editor').box);
  assert.equal(box[2], 750, 'the typed value is the box');
  await change(() => shadow(page, 'button[name=clearBox]').click());
  assert.equal(await page.evaluate(() => document.querySelector('pixelkeep-editor').box), null);
  assert.deepEqual(errors, []);
  await page.close();
});

test('magic wand selects the similar region; its tolerance control is used', async () => {
  const { page, change, map } = await ready();
  await page.keyboard.press('Escape');
  await tool(page, 'wand');
  await shadow(page, 'input[name=tolerance]').fill('10');
  await change(() => page.mouse.click(...map.at(100, 90)));
  let m = await maskOf(page);
  assert.equal(m(45, 45), 255, 'the white card');
  assert.equal(m(155, 135), 255);
  assert.equal(m(200, 200), 0, 'not the grey');
  assert.equal(m(300, 100), 0, 'not the blue');
  await change(() => shadow(page, 'button[name=clear]').click());
  await shadow(page, 'input[name=tolerance]').fill('255');
  await change(() => page.mouse.click(...map.at(200, 200)));
  m = await maskOf(page);
  assert.ok(m(45, 45) && m(300, 100) && m(200, 200), 'tolerance 255 takes everything');
  await page.close();
});

test('undo and redo from the keyboard; grow, shrink, invert and clear buttons', async () => {
  const { page, change } = await ready();
  await page.evaluate(() => document.querySelector('pixelkeep-editor').addShape({ kind: 'rect', x: 200, y: 20, width: 60, height: 60 }));
  await shadow(page, '.stage').focus();
  await change(() => page.keyboard.press('Control+z'));
  assert.equal((await maskOf(page))(230, 50), 0, 'undone');
  await change(() => page.keyboard.press('Control+Shift+z'));
  assert.equal((await maskOf(page))(230, 50), 255, 'redone');
  assert.equal(await shadow(page, 'button[name=redo]').isDisabled(), true);

  // The grow step is 1/150 of the long side: 3 px here.
  await change(() => shadow(page, 'button[name=grow]').click());
  assert.equal((await maskOf(page))(198, 50), 255, 'grown');
  await change(() => shadow(page, 'button[name=shrink]').click());
  assert.equal((await maskOf(page))(198, 50), 0, 'shrunk back');
  await change(() => shadow(page, 'button[name=invert]').click());
  let m = await maskOf(page);
  assert.deepEqual([m(10, 10), m(230, 50)], [255, 0], 'inverted');
  await change(() => shadow(page, 'button[name=clear]').click());
  m = await maskOf(page);
  assert.deepEqual([m(10, 10), m(230, 50)], [0, 0], 'cleared');
  // Five steps back brings the rectangle again.
  for (let i = 0; i < 4; i++) await change(() => page.keyboard.press('Control+z'));
  assert.equal((await maskOf(page))(230, 50), 255);
  await page.close();
});

test('zoom with the wheel around the cursor, pan with Space, then draw: the mask lands under the pointer', async () => {
  const { page, change, map } = await ready();
  const p = map.at(100, 100);
  await page.mouse.move(...p);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction((s) => document.querySelector('pixelkeep-editor').zoom > s * 1.5, map.scale);
  const s = await page.evaluate(() => document.querySelector('pixelkeep-editor').zoom);
  assert.ok(Math.abs(s / map.scale - Math.exp(0.6)) < 0.02, `zoomed ${s / map.scale}x`);
  // Zooming kept image point (100, 100) under the cursor.
  let at = (x, y) => [p[0] + (x - 100) * s, p[1] + (y - 100) * s];
  await page.evaluate(() => { document.querySelector('pixelkeep-editor').brushSize = 6; });
  await change(() => drag(page, [at(100, 100), at(120, 100), at(140, 100)]));
  let m = await maskOf(page);
  assert.deepEqual([m(101, 100), m(120, 100), m(139, 100)], [255, 255, 255], 'under the stroke');
  assert.deepEqual([m(120, 110), m(150, 100)], [0, 0], 'nowhere else');

  // Space + drag pans by exactly the drag.
  await shadow(page, '.stage').focus();
  await page.keyboard.down('Space');
  await drag(page, [at(100, 100), [at(100, 100)[0] - 60, at(100, 100)[1] + 30]], { steps: 4 });
  await page.keyboard.up('Space');
  at = (x, y) => [p[0] - 60 + (x - 100) * s, p[1] + 30 + (y - 100) * s];
  await change(() => drag(page, [at(100, 130), at(140, 130)]));
  m = await maskOf(page);
  assert.deepEqual([m(110, 130), m(130, 130), m(120, 140)], [255, 255, 0]);
  await page.close();
});

test('touch: pinch zooms around the fingers, then one finger draws under itself', async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 800 }, hasTouch: true });
  await page.goto(`${proxy.url}/`);
  await page.evaluate(() => new Promise((r) => {
    const ed = document.querySelector('pixelkeep-editor');
    ed.addEventListener('pixelkeep-ready', r, { once: true });
    ed.maskBlob().catch(() => r());
  }));
  await loadBytes(page, scene);
  const change = await watchChanges(page);
  const map = await fittedMapping(page, W, H);
  const cdp = await page.context().newCDPSession(page);
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', {
    type, touchPoints: points.map(([x, y], id) => ({ x, y, id, radiusX: 2, radiusY: 2, force: 1 })),
  });
  const [cx, cy] = map.at(200, 150);
  await touch('touchStart', [[cx - 30, cy], [cx + 30, cy]]);
  for (let d = 35; d <= 60; d += 5) await touch('touchMove', [[cx - d, cy], [cx + d, cy]]);
  await touch('touchEnd', []);
  const s = await page.evaluate(() => document.querySelector('pixelkeep-editor').zoom);
  assert.ok(Math.abs(s / map.scale - 2) < 0.02, `pinched to ${s / map.scale}x`);
  const at = (x, y) => [cx + (x - 200) * s, cy + (y - 150) * s];
  await page.evaluate(() => { document.querySelector('pixelkeep-editor').brushSize = 8; });
  await change(async () => {
    await touch('touchStart', [at(180, 150)]);
    for (let x = 185; x <= 220; x += 5) await touch('touchMove', [at(x, 150)]);
    await touch('touchEnd', []);
  });
  const m = await maskOf(page);
  assert.deepEqual([m(182, 150), m(200, 150), m(218, 150)], [255, 255, 255], 'the finger drew at full resolution');
  assert.deepEqual([m(200, 160), m(230, 150)], [0, 0]);
  await page.close();
});

test('the brush cursor, [ and ], and the mask overlay colour, opacity and visibility', async () => {
  const { page, change, map } = await ready();
  await page.evaluate(() => { document.querySelector('pixelkeep-editor').brushSize = 40; });
  await page.mouse.move(...map.at(300, 100));
  const cursor = await shadow(page, '.cursor').boundingBox();
  assert.ok(Math.abs(cursor.width - 40 * map.scale) < 1.5, `cursor ${cursor.width} px = 40 image px on screen`);
  assert.ok(Math.abs(cursor.x + cursor.width / 2 - map.at(300, 100)[0]) < 1.5, 'centred on the pointer');
  await shadow(page, '.stage').focus();
  await page.keyboard.press(']');
  assert.equal(await page.evaluate(() => document.querySelector('pixelkeep-editor').brushSize), 51);
  await page.keyboard.press('[');
  assert.equal(await page.evaluate(() => document.querySelector('pixelkeep-editor').brushSize), 41);

  await page.evaluate(() => document.querySelector('pixelkeep-editor').addShape({ kind: 'rect', x: 0, y: 0, width: 100, height: 30 }));
  await shadow(page, 'input[name=maskColour]').fill('#00ff00');
  await shadow(page, 'input[name=maskOpacity]').fill('1');
  const overlay = (x, y) => page.evaluate(([x, y]) => {
    const c = document.querySelector('pixelkeep-editor').shadowRoot.querySelector('canvas.overlay');
    const r = c.getBoundingClientRect();
    const k = c.width / r.width;
    return [...c.getContext('2d').getImageData(Math.round((x - r.left) * k), Math.round((y - r.top) * k), 1, 1).data];
  }, [x, y]);
  assert.deepEqual(await overlay(...map.at(50, 15)), [0, 255, 0, 255], 'green, opaque');
  await shadow(page, '.stage').focus();
  await page.keyboard.press('m');
  assert.equal((await overlay(...map.at(50, 15)))[3], 0, 'M hides the mask');
  await shadow(page, 'input[name=showMask]').check();
  await shadow(page, 'input[name=maskOpacity]').fill('0.5');
  const half = await overlay(...map.at(50, 15));
  assert.ok(half[3] > 110 && half[3] < 145, `half opacity (${half[3]})`);
  await page.close();
});
