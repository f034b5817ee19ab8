// Generating: pickers from /api/providers, keep chips, references, progress and cancel, every
// error kind in plain words, and the results (before/after, history strip, revert, re-composite).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, launchChromium, openEditor, loadBytes, blobPixels, fixture, decodePng } from './harness.mjs';
import { PNG } from 'pngjs';
import { makePng, px, shadow, shownError } from './helpers.mjs';

let proxy, browser;
before(async () => { proxy = await startProxy(); browser = await launchChromium(); });
after(async () => { await browser?.close(); proxy?.stop(); });

const coffee = fixture('coffee.png');
const original = decodePng(coffee);
const editor = 'document.querySelector("pixelkeep-editor")';

const FAKE = {
  id: 'fake', label: 'Fake Gemini', mask: 'composited', default_model: 'fake-image',
  models: [
    { id: 'fake-image', max_references: 2, max_input_side: 3072, max_input_bytes: 20e6, price_per_image_usd: 0.039,
      aspect_ratios: [{ ratio: '1:1', sizes: [{ name: '1K', width: 1024, height: 1024 }] },
        { ratio: '3:2', sizes: [{ name: '1K', width: 1248, height: 832 }, { name: '2K', width: 2496, height: 1664 }] }] },
    { id: 'fake-small', max_references: 0, max_input_side: 1024, max_input_bytes: 20e6, aspect_ratios: [] },
  ],
};

/** The demo page with the proxy's provider list plus a fake provider that echoes the image
 * (or answers with `answer(body)`'s image). */
async function withFakeProvider(answer = (body) => body.image) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const sent = [];
  await page.route('**/api/providers', async (route) => {
    const real = await (await route.fetch()).json();
    await route.fulfill({ json: [...real, FAKE] });
  });
  await page.route('**/api/edit', async (route) => {
    const body = route.request().postDataJSON();
    if (body.provider !== 'fake') return route.continue();
    sent.push(body);
    await route.fulfill({ json: { image: answer(body), provider: 'fake', model: body.model, elapsed_ms: 3 } });
  });
  await page.goto(`${proxy.url}/`);
  await page.evaluate(() => new Promise((r) => {
    const ed = document.querySelector('pixelkeep-editor');
    ed.addEventListener('pixelkeep-ready', r, { once: true });
    ed.maskBlob().catch(() => r());
  }));
  return { page, sent };
}

const options = (page, name) => page.evaluate(([e, n]) => [...eval(e).shadowRoot.querySelector(`select[name=${n}]`).options].map((o) => o.value), [editor, name]);

test('pickers, cost, keep chips and references come from /api/providers and reach the request', async () => {
  const { page, sent } = await withFakeProvider();
  await loadBytes(page, coffee);
  await shadow(page, 'select[name=provider]').selectOption('fake');
  assert.deepEqual(await options(page, 'model'), ['fake-image', 'fake-small']);
  assert.deepEqual(await options(page, 'aspect'), ['', '1:1', '3:2']);
  await shadow(page, 'select[name=aspect]').selectOption('3:2');
  assert.deepEqual(await options(page, 'outputSize'), ['', '1K', '2K']);
  await shadow(page, 'select[name=outputSize]').selectOption('2K');
  assert.match(await shadow(page, '.cost').textContent(), /\$0\.039 per generation/);

  await shadow(page, 'button[name=keep-identity]').click();
  await shadow(page, 'button[name=keep-text]').click();
  await shadow(page, 'input[name=keepCustom]').fill('the logo');
  await shadow(page, 'input[name=keepCustom]').press('Enter');

  const ref = (name, rgb) => ({ name, mimeType: 'image/png', buffer: makePng(8, 8, () => [...rgb, 255]) });
  const refs = [ref('a.png', [255, 0, 0]), ref('b.png', [0, 255, 0]), ref('c.png', [0, 0, 255])];
  const input = shadow(page, 'input[name=referenceFiles]');
  await input.setInputFiles(refs);
  await page.waitForFunction((e) => eval(e).shadowRoot.querySelector('.error').textContent, editor);
  assert.match(await shownError(page), /fake-image takes at most 2 reference images; that would make 3\. Remove some first\./);
  assert.equal(await shadow(page, '.refs img').count(), 0, 'refused whole, not truncated');
  await input.setInputFiles(refs.slice(0, 2));
  await shadow(page, '.refs img').nth(1).waitFor();
  assert.equal(await shadow(page, '.refs img').count(), 2);
  assert.match(await shadow(page, '.refcount').textContent(), /2 of 2/);
  assert.equal(await shadow(page, 'button[name=addReferences]').isDisabled(), true);

  // A model with fewer slots refuses to send them rather than dropping some.
  await shadow(page, 'select[name=model]').selectOption('fake-small');
  assert.match(await shadow(page, '.refnote').textContent(), /no reference images/);
  await page.evaluate((e) => eval(e).addStroke([[120, 120], [260, 140]], { width: 30 }), editor);
  await shadow(page, 'textarea[name=instruction]').fill('make it shine');
  await shadow(page, 'button[name=generate]').click();
  await page.waitForFunction((e) => eval(e).shadowRoot.querySelector('.error').textContent.includes('at most 0'), editor);
  assert.equal(sent.length, 0, 'nothing was sent');

  await shadow(page, 'select[name=model]').selectOption('fake-image');
  await shadow(page, 'select[name=aspect]').selectOption('3:2');
  await shadow(page, 'select[name=outputSize]').selectOption('2K');
  const result = page.evaluate((e) => new Promise((r) => eval(e).addEventListener('pixelkeep-result', (ev) => r(ev.detail), { once: true })), editor);
  await shadow(page, 'button[name=generate]').click();
  const report = await result;
  assert.equal(report.delivered.changed_pixels, 0);
  assert.equal(sent.length, 1);
  const body = sent[0];
  assert.equal(body.provider, 'fake');
  assert.equal(body.model, 'fake-image');
  assert.equal(body.instruction, 'make it shine');
  assert.deepEqual(body.keep, ['identity', 'text', 'the logo']);
  assert.deepEqual(body.output, { aspect_ratio: '3:2', size: '2K' });
  assert.deepEqual(body.references.map((r) => r.mime_type), ['image/png', 'image/png']);
  assert.deepEqual(Buffer.from(body.references[0].data, 'base64'), refs[0].buffer);
  const sentImage = decodePng(Buffer.from(body.image.data, 'base64'));
  assert.deepEqual([sentImage.width, sentImage.height], [2496, 1664], 'sent at the 3:2 2K size');
  await page.close();
});

test('generate shows its stages with elapsed time, and Cancel stops it', async () => {
  const { page } = await openEditor(browser, proxy.url);
  await page.route('**/api/edit', async (route) => {
    await new Promise((r) => setTimeout(r, 15_000));
    await route.fulfill({ status: 500, body: '' }).catch(() => {});
  });
  await loadBytes(page, coffee);
  await page.evaluate((e) => {
    const ed = eval(e);
    window.__errors = [];
    ed.addEventListener('pixelkeep-error', (ev) => window.__errors.push(ev.detail.code));
    return ed.addStroke([[120, 120], [260, 140]], { width: 30 });
  }, editor);
  await shadow(page, 'textarea[name=instruction]').fill('fill with red');
  await shadow(page, 'button[name=generate]').click();
  await page.waitForFunction((e) => /waiting for the model… (0\.[5-9]|[1-9])/.test(eval(e).shadowRoot.querySelector('.stagetext').textContent), editor);
  assert.equal(await shadow(page, 'button[name=generate]').isDisabled(), true);
  await shadow(page, 'button[name=cancel]').click();
  await page.waitForFunction(() => window.__errors.includes('aborted'));
  assert.equal(await shownError(page), 'Cancelled. Nothing was changed.');
  assert.equal(await shadow(page, '.progress').isHidden(), true);
  assert.equal(await shadow(page, 'button[name=generate]').isDisabled(), false);
  assert.equal(await page.evaluate((e) => eval(e).rounds.length, editor), 0);
  // An AbortSignal passed to generate() cancels too.
  const code = await page.evaluate(async (e) => {
    const c = new AbortController();
    setTimeout(() => c.abort(), 300);
    try { await eval(e).generate({ instruction: 'fill with red', signal: c.signal }); } catch (err) { return err.code; }
  }, editor);
  assert.equal(code, 'aborted');
  await page.close();
});

test('each error kind from the proxy is shown in plain words', async () => {
  const { page } = await openEditor(browser, proxy.url);
  await loadBytes(page, coffee);
  await page.evaluate((e) => eval(e).addStroke([[120, 120], [260, 140]], { width: 30 }), editor);
  const cases = [
    [429, { code: 'rate_limited', message: 'Quota exceeded.', retry_after_s: 30 }, /too many edits right now\. Try again in (29|30) s\./],
    [422, { code: 'safety_blocked', message: 'Blocked: SAFETY.' }, /refused this edit for safety reasons.*Blocked: SAFETY/],
    [413, { code: 'payload_too_large', message: 'The request is 31 MB; the limit is 25 MB.' }, /too large for the provider: The request is 31 MB; the limit is 25 MB/],
    [422, { code: 'unsupported_instruction', message: 'The local engine understands: fill with <colour>, remove, blur.' }, /^The local engine understands: fill with <colour>, remove, blur\.$/],
    [504, { code: 'timeout', message: 'upstream timed out' }, /took too long/],
    [503, { code: 'upstream_unavailable', message: 'down' }, /unavailable right now/],
    [502, { code: 'no_image', message: 'The model answered only text.' }, /without an image\. The model answered only text\./],
    [401, { code: 'unauthorized', message: 'token expired' }, /embed token is missing or expired/],
  ];
  for (const [status, error, shown] of cases) {
    await page.route('**/api/edit', (route) => route.fulfill({ status, json: { error } }), { times: 1 });
    const got = await page.evaluate(async (e) => {
      const ed = eval(e);
      const event = new Promise((r) => ed.addEventListener('pixelkeep-error', (ev) => r(ev.detail), { once: true }));
      try { await ed.generate({ instruction: 'fill with red', provider: 'local' }); return null; } catch (err) {
        return { code: err.code, retryAfter: err.retryAfter ?? null, event: await event };
      }
    }, editor);
    assert.equal(got.code, error.code);
    assert.equal(got.event.code, error.code);
    assert.equal(got.retryAfter, error.retry_after_s ?? null);
    assert.match(await shownError(page), shown, error.code);
  }
  await page.route('**/api/edit', (route) => route.abort('connectionrefused'), { times: 1 });
  const code = await page.evaluate((e) => eval(e).generate({ instruction: 'fill with red' }).catch((err) => err.code), editor);
  assert.equal(code, 'network');
  assert.match(await shownError(page), /could not be reached.*Check the connection and try again\./);
  assert.equal(await page.evaluate((e) => eval(e).rounds.length, editor), 0, 'no failed round was kept');
  await page.close();
});

test('results: before/after, the history strip with drift badges, revert, and re-composite without a new generation', async () => {
  const { page, errors } = await openEditor(browser, proxy.url, { viewport: { width: 1200, height: 1100 } });
  // Round 1 by the local engine; round 2 by a "model" that redraws its whole input green.
  let requests = 0;
  await page.route('**/api/edit', async (route) => {
    requests++;
    const body = route.request().postDataJSON();
    if (!body.instruction.includes('green')) return route.continue();
    const sent = decodePng(Buffer.from(body.image.data, 'base64'));
    for (let i = 0; i < sent.data.length; i += 4) sent.data.set([0, 255, 0, 255], i);
    const data = PNG.sync.write(sent).toString('base64');
    await route.fulfill({ json: { image: { mime_type: 'image/png', data }, provider: 'local', model: 'm', elapsed_ms: 5 } });
  });
  await loadBytes(page, coffee);
  await page.evaluate(async (e) => {
    const ed = eval(e);
    await ed.addStroke([[120, 120], [260, 140]], { width: 30 });
    await ed.generate({ instruction: 'fill with red' });
    await ed.clearMask();
    await ed.addStroke([[400, 300], [520, 320]], { width: 20 });
    await ed.generate({ instruction: 'make it green' });
  }, editor);
  assert.equal(requests, 2);
  const strip = shadow(page, '.strip button');
  assert.equal(await strip.count(), 3, 'original + two rounds');
  assert.equal(await shadow(page, '.strip canvas').count(), 3, 'thumbnails: the original and both rounds');
  assert.match(await strip.nth(1).getAttribute('aria-label'), /Round 1: fill with red\..*Delivered: 0 pixels changed outside it/);
  assert.equal(await shadow(page, '.strip .badge').first().textContent(), '0 → 0');
  assert.match(await shadow(page, '.strip .badge').nth(1).textContent(), /^\d+(\.\d)?k → 0$/, 'round 2 drifted outside the mask; nothing delivered');
  assert.match(await shadow(page, '.detail .drifttext').textContent(), /The model changed [\d,]+ pixels outside the edit; those changes were thrown away\. Delivered: 0 pixels/);
  assert.equal(await strip.nth(2).getAttribute('aria-current'), 'true');

  // The screen: the image canvas at an image point, while holding \ and with the slider.
  const box = await page.locator('pixelkeep-editor canvas.image').boundingBox();
  const scale = Math.min(box.width / 600, box.height / 400);
  const screen = (x, y) => [box.x + (box.width - 600 * scale) / 2 + x * scale, box.y + (box.height - 400 * scale) / 2 + y * scale];
  const shown = (x, y) => page.evaluate(([e, [sx, sy]]) => {
    const c = eval(e).shadowRoot.querySelector('canvas.image');
    const r = c.getBoundingClientRect();
    const k = c.width / r.width;
    return [...c.getContext('2d').getImageData(Math.round((sx - r.left) * k), Math.round((sy - r.top) * k), 1, 1).data];
  }, [editor, screen(x, y)]);
  const near = (a, b) => a.slice(0, 3).every((v, i) => Math.abs(v - b[i]) <= 12);
  // The original on screen: like one of the original's pixels around that point (screen rounding).
  const likeOriginal = (got, x, y) => [-1, 0, 1].some((dx) => [-1, 0, 1].some((dy) => near(got, px(original, x + dx, y + dy))));
  assert.ok(near(await shown(190, 130), [255, 0, 0]), 'the result is red there');
  await shadow(page, '.stage').focus();
  await page.keyboard.down('\\');
  await page.waitForFunction(() => true);
  await page.waitForTimeout(150);
  const held = await shown(190, 130);
  assert.ok(likeOriginal(held, 190, 130), `holding \\ shows the original: ${held} vs ${px(original, 190, 130)}`);
  await page.keyboard.up('\\');
  assert.ok(near(await shown(190, 130), [255, 0, 0]), 'released: the result again');
  await shadow(page, 'input[name=compare]').fill('100');
  await page.waitForTimeout(150);
  assert.ok(likeOriginal(await shown(190, 130), 190, 130), 'the slider shows the original');
  await shadow(page, 'input[name=compare]').fill('0');

  // Revert to round 1 from the strip: round 2 stays offered, dimmed.
  await strip.nth(1).click();
  await page.waitForFunction((e) => eval(e).rounds.length === 1, editor);
  let img = await blobPixels(page, "ed.toBlob('image/png')");
  assert.deepEqual(px(img, 460, 310), px(original, 460, 310), 'round 2 undone');
  assert.deepEqual(px(img, 190, 130), [255, 0, 0, 255]);
  assert.match(await strip.nth(2).getAttribute('class'), /undone/);
  await strip.nth(2).click();
  await page.waitForFunction((e) => eval(e).rounds.length === 2, editor);
  img = await blobPixels(page, "ed.toBlob('image/png')");
  assert.deepEqual(px(img, 460, 310), [0, 255, 0, 255], 'and back');
  assert.deepEqual(px(img, 460, 325), px(original, 460, 325), '15 px below the stroke centre is outside it');

  // Re-composite round 2 grown by 12 px, feather 0: no request, a wider green.
  await shadow(page, 'input[name=rcGrow]').fill('12');
  await shadow(page, 'input[name=rcFeather]').fill('0');
  await shadow(page, 'button[name=recomposite]').click();
  await page.waitForFunction((e) => eval(e).rounds[1]?.options.grow === 12, editor);
  img = await blobPixels(page, "ed.toBlob('image/png')");
  assert.deepEqual(px(img, 460, 325), [0, 255, 0, 255], 'the grown edge is composited');
  assert.deepEqual(px(img, 460, 345), px(original, 460, 345), 'and nothing beyond it');
  assert.equal(requests, 2, 'no new generation');

  // Re-composite round 1 shrunk by 14 px while round 2 is on top: round 2's thumbnail shows it
  // at once, round 1's when round 1 is on screen again (until then it is the older picture).
  const thumb = (i) => page.evaluate(([e, n]) => {
    const c = eval(e).shadowRoot.querySelectorAll('.strip canvas')[n];
    const k = c.width / 600; // the thumbnail's scale; (190, 138) is red unless the stroke shrinks
    return [...c.getContext('2d').getImageData(Math.round(190 * k), Math.round(138 * k), 1, 1).data];
  }, [editor, i]);
  const red = (p) => p[0] > 200 && p[1] < 60 && p[2] < 60;
  assert.ok(red(await thumb(1)) && red(await thumb(2)), 'before: red there');
  await page.evaluate((e) => eval(e).recomposite(0, { grow: -14, feather: 0 }), editor);
  assert.ok(!red(await thumb(2)), `round 2's thumbnail at once: ${await thumb(2)}`);
  assert.ok(red(await thumb(1)), 'round 1\'s is redrawn only when it is on screen');
  await strip.nth(1).click();
  await page.waitForFunction((e) => eval(e).rounds.length === 1, editor);
  assert.ok(!red(await thumb(1)), `round 1's thumbnail once it is on screen: ${await thumb(1)}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a model that tints its whole answer: the tint is taken out at the edges, or kept when asked', async () => {
  const TINT = 16;
  // A model that redraws everything 16 levels redder: the seam a plain composite would show.
  const tinted = (body) => {
    const png = PNG.sync.read(Buffer.from(body.image.data, 'base64'));
    for (let i = 0; i < png.data.length; i += 4) png.data[i] = Math.min(255, png.data[i] + TINT);
    return { mime_type: 'image/png', data: PNG.sync.write(png).toString('base64') };
  };
  const { page } = await withFakeProvider(tinted);
  await loadBytes(page, coffee);
  await shadow(page, 'select[name=provider]').selectOption('fake');
  assert.equal(await shadow(page, 'input[name=matchTone]').isChecked(), true, 'on by default');
  await page.evaluate((e) => eval(e).addStroke([[120, 120], [260, 140]], { width: 30 }), editor);
  const reports = [];
  for (const matchTone of [undefined, false]) {
    const report = await page.evaluate(async ([e, m]) => {
      const ed = eval(e);
      const r = await ed.generate({ instruction: 'make it nicer', matchTone: m });
      return { tone: r.tone, delivered: r.delivered.changed_pixels, raw: r.raw.changed_pixels };
    }, [editor, matchTone]);
    const image = await blobPixels(page, "ed.toBlob('image/png')");
    // Points where red + 16 does not clip at 255 (clipped highlights lose what no correction can restore).
    const inside = [[150, 124], [200, 128], [230, 136]].map(([x, y]) => px(image, x, y)[0] - px(original, x, y)[0]);
    reports.push({ ...report, inside, outside: px(image, 400, 300).join() === px(original, 400, 300).join() });
    await page.evaluate((e) => eval(e).undo(), editor);
  }
  const [matched, kept] = reports;
  assert.ok(matched.tone && matched.tone.max > TINT - 2 && matched.tone.max < TINT + 2, JSON.stringify(matched));
  assert.ok(matched.inside.every((d) => Math.abs(d) <= 2), `the tint is gone inside the edit: ${matched.inside}`);
  assert.equal(kept.tone, null);
  assert.ok(kept.inside.every((d) => d >= TINT - 1), `asked not to match, the answer comes as it was: ${kept.inside}`);
  for (const r of reports) {
    assert.equal(r.delivered, 0);
    assert.ok(r.raw > 0, 'the raw drift counts the tint outside the edit');
    assert.ok(r.outside, 'outside the edit, the original pixel');
  }
  await page.close();
});
