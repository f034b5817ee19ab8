// The wasm bindings, exercised in Node on the exact module the widget ships.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { initSync, Editor } from '../../www/pkg/pixelkeep.js';

initSync({ module: readFileSync(new URL('../../www/pkg/pixelkeep_bg.wasm', import.meta.url)) });
const coffee = readFileSync(new URL('../../../shared/fixtures/coffee.png', import.meta.url));
const local = { id: 'local', aspect_ratios: [], max_references: 0, max_input_side: 4096, max_input_bytes: 26214400 };

test('decodes a real photo at full resolution', () => {
  const ed = new Editor(coffee, 12000, 60e6);
  assert.equal(ed.width, 600);
  assert.equal(ed.height, 400);
  assert.deepEqual(Buffer.from(ed.rgba()), PNG.sync.read(coffee).data);
});

test('bad bytes throw a clear error instead of killing the module', () => {
  assert.throws(() => new Editor(new TextEncoder().encode('not an image'), 12000, 60e6), /not an image pixelkeep can read/);
  assert.throws(() => new Editor(coffee.subarray(0, 5000), 12000, 60e6), /could not be decoded/);
  assert.throws(() => new Editor(coffee, 500, 60e6), /600 x 400 pixels; the limit is 500/);
  // The module still works after those errors.
  assert.equal(new Editor(coffee, 12000, 60e6).width, 600);
});

test('a stroke is rasterised at full resolution and exported in both conventions', () => {
  const ed = new Editor(coffee, 12000, 60e6);
  const rect = ed.apply({ op: 'paint', shape: { kind: 'stroke', points: [[100, 100], [300, 100]], width: 20 } });
  assert.ok(rect.x <= 90 && rect.x + rect.width >= 310);
  const white = PNG.sync.read(Buffer.from(ed.maskPng('white-edit')));
  assert.equal(white.width, 600);
  assert.equal(white.data[(100 * 600 + 200) * 4], 255);
  assert.equal(white.data[(200 * 600 + 200) * 4], 0);
  const alpha = PNG.sync.read(Buffer.from(ed.maskPng('alpha-edit')));
  assert.equal(alpha.data[(100 * 600 + 200) * 4 + 3], 0, 'alpha 0 = edit');
  assert.equal(alpha.data[(200 * 600 + 200) * 4 + 3], 255);
  assert.throws(() => ed.maskPng('jpeg'), /unknown mask convention/);
  assert.throws(() => ed.apply({ op: 'paint', shape: { kind: 'stroke', points: [], width: 5 } }), /invalid stroke/);
  assert.equal(ed.undo(), true);
  const cleared = PNG.sync.read(Buffer.from(ed.maskPng('white-edit')));
  assert.equal(cleared.data[(100 * 600 + 200) * 4], 0);
});

test('a round composites the answer through the mask only', () => {
  const ed = new Editor(coffee, 12000, 60e6);
  ed.apply({ op: 'paint', shape: { kind: 'rect', x: 200, y: 150, width: 100, height: 80 } });
  const body = JSON.parse(ed.request({ provider: 'local', instruction: 'fill with red' }, local));
  assert.equal(body.instruction, 'fill with red');
  const sent = PNG.sync.read(Buffer.from(body.image.data, 'base64'));
  // The answer: the sent window, everything painted green (a model that redraws it all).
  for (let i = 0; i < sent.data.length; i += 4) sent.data.set([0, 255, 0, 255], i);
  const image = { mime_type: 'image/png', data: PNG.sync.write(sent).toString('base64') };
  const report = ed.accept(JSON.stringify({ image, provider: 'test', model: 'm', elapsed_ms: 1 }));
  assert.ok(report.raw.changed_pixels > 0, 'the raw answer drifted outside the mask');
  assert.equal(report.delivered.changed_pixels, 0);
  const out = Buffer.from(ed.rgba());
  const orig = PNG.sync.read(coffee).data;
  const at = (x, y) => [...out.subarray((y * 600 + x) * 4, (y * 600 + x) * 4 + 4)];
  assert.deepEqual(at(250, 190), [0, 255, 0, 255]);
  let differing = 0;
  for (let y = 0; y < 400; y++) for (let x = 0; x < 600; x++) {
    const inside = x >= 195 && x < 305 && y >= 145 && y < 235;
    if (!inside && out.compare(orig, (y * 600 + x) * 4, (y * 600 + x) * 4 + 4, (y * 600 + x) * 4, (y * 600 + x) * 4 + 4) !== 0) differing++;
  }
  assert.equal(differing, 0);
  const prov = ed.provenance();
  assert.equal(prov.protected_digest_original, prov.protected_digest_result);
  assert.throws(() => ed.accept(JSON.stringify({ image, provider: 'test', model: 'm', elapsed_ms: 1 })), /no generation is pending/);
  assert.throws(() => ed.accept('{}'), /answer is malformed/);
});
