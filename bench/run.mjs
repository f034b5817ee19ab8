#!/usr/bin/env node
// `npm run bench` (after the wasm build in www/pkg/): measures pixelkeep's speed figures in
// headless Chromium, side by side with their anchors (pica, Canvas2D) in the same page, merges
// the figures of the other benches (proxy overhead, inpainting vs OpenCV) when they exist, and
// writes bench/results.json (flat: name -> number), bench/results.md and a table on stdout.
// See bench/README.md for what each figure is.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '..');
const fixtures = path.resolve(root, '..', 'shared', 'fixtures');
// A/B runs: PIXELKEEP_BENCH_PKG=/some/other/pkg serves that wasm-bindgen output as /www/pkg/.
const pkg = path.resolve(process.env.PIXELKEEP_BENCH_PKG ?? path.join(root, 'www', 'pkg'));
process.chdir(root);

const QUICK = process.env.PIXELKEEP_BENCH_QUICK === '1'; // fewer runs, for trying the bench out
const RUNS = QUICK ? 2 : 7;
const SLOW_RUNS = QUICK ? 1 : 5; // pica, full-frame accept: ~1 s each
const ONLY_BROWSER = process.argv.includes('--browser-only');
// `--only resize,stroke`: just these measurements of bench/browser.js (for A/B runs); implies --browser-only.
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt > 0 ? new Set(process.argv[onlyAt + 1].split(',')) : null;

const results = {};
const notes = [];
const log = (...a) => console.log('[bench]', ...a);
const note = (text) => { notes.push(text); log(`note: ${text}`); };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const spread = (xs) => `median of ${xs.length}, min ${round(Math.min(...xs))}, max ${round(Math.max(...xs))}`;

// ---------- what is measured, and its goal (issue 3, "Speed") ----------

/** key -> [label, unit, goal (or null), 'max' | 'min' (the goal is an upper / lower bound)] */
const FIGURES = {
  resize_24mp_to_2048_ms: ['resize 6000x4000 -> 2048 long edge (Lanczos3)', 'ms', 100, 'max'],
  resize_24mp_to_2048_pica_ms: ['  anchor: pica lanczos3, resizeBuffer (js+wasm, 1 thread)', 'ms', null],
  resize_speedup_vs_pica: ['  speed-up vs pica', 'x', 6, 'min'],
  resize_24mp_to_2048_pica_canvas_ms: ['  pica lanczos3, canvas to canvas (tiled)', 'ms', null],
  resize_vs_pica_mean_abs_diff: ['  mean |pixelkeep - pica| per channel (0-255), same output size', '', null],
  stroke_1000pt_40px_ms: ['1000-point 40 px brush stroke into the 24 MP mask', 'ms', 20, 'max'],
  stroke_canvas2d_readback_ms: ['  anchor: Canvas2D stroke on 6000x4000 + getImageData', 'ms', null],
  lasso_full_frame_ms: ['full-frame lasso fill (200-point polygon)', 'ms', 40, 'max'],
  lasso_canvas2d_readback_ms: ['  anchor: Canvas2D fill of the same polygon + getImageData', 'ms', null],
  feather_r64_ms: ['feather radius 64 on a large ellipse (effectiveMaskBounds(0, 64))', 'ms', 150, 'max'],
  feather_r64_canvas2d_ms: ['  anchor: Canvas2D blur(21.5px) of the same ellipse + getImageData', 'ms', null],
  feather_r0_bounds_ms: ['  same call, feather 0 (mask copy + bounds scan only)', 'ms', null],
  composite_full_frame_ms: ['composite of a full-frame result (recomposite: restore, blend, delivered-drift proof)', 'ms', 50, 'max'],
  composite_canvas2d_ms: ['  anchor: Canvas2D masked drawImage of the same answer over the original + getImageData', 'ms', null],
  recomposite_new_feather_ms: ['  recomposite with another feather (+ grow and feather the full-frame mask again)', 'ms', null],
  accept_full_frame_ms: ['  accept of a full-frame answer (PNG decode, register, raw drift, tone match, blend mask, composite)', 'ms', null],
  decode_answer_png_24mp_ms: ['  of which: decoding the 24 MP answer PNG alone', 'ms', null],
  prepare_24mp_ms: ['prepare for Gemini from a 24 MP input (plan, crop, resize, 2 PNGs, JSON)', 'ms', 1000, 'max'],
  decode_jpeg_24mp_ms: ['decode the 24 MP JPEG input (no goal)', 'ms', null],
  peak_wasm_memory_50mp_mb: ['peak wasm memory editing a 50 MP photo', 'MB', 1024, 'max'],
  wasm_memory_50mp_after_decode_mb: ['  after decode', 'MB', null],
  wasm_memory_50mp_after_stroke_mb: ['  after a 1000-point stroke', 'MB', null],
  wasm_memory_50mp_after_prepare_mb: ['  after prepare', 'MB', null],
  decode_jpeg_50mp_ms: ['decode the 50 MP JPEG input (no goal)', 'ms', null],
  wasm_gzip_kb: ['wasm module, gzip -9', 'KB', 500, 'max'],
  wasm_raw_kb: ['  uncompressed', 'KB', null],
  // Native (the proxy's local engine), 2048 x 1365 photo, 5% region.
  inpaint_remove_2048x1365_5pct_ms: ['local engine: remove, 2048x1365, 5% hole (native, best of 3)', 'ms', 1500, 'max'],
  engine_fill_2048x1365_5pct_ms: ['local engine: fill, same photo and region', 'ms', 100, 'max'],
  engine_recolor_2048x1365_5pct_ms: ['local engine: recolor', 'ms', 100, 'max'],
  engine_blur_2048x1365_5pct_ms: ['local engine: blur', 'ms', 100, 'max'],
  engine_pixelate_2048x1365_5pct_ms: ['local engine: pixelate', 'ms', 100, 'max'],
  inpaint_remove_texture_ratio: ['remove on 45 fixture holes: texture ratio (0.7-1.3; Telea about 0.1)', '', 0.7, 'min'],
  inpaint_telea_texture_ratio: ['  anchor: OpenCV Telea texture ratio', '', null],
  inpaint_remove_minus_telea_psnr_db: ['remove PSNR minus Telea PSNR, mean over the holes', 'dB', -2, 'min'],
  proxy_overhead_p99_ms: ['proxy overhead at p99, 2 MB edit at 100 req/s on loopback', 'ms', 10, 'max'],
  proxy_overhead_p50_ms: ['  at p50', 'ms', null],
  proxy_errors: ['  errors', '', 0, 'max'],
};

// ---------- the wasm module's download size ----------

function wasmSize() {
  const file = path.join(pkg, 'pixelkeep_bg.wasm');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`node scripts/run.mjs build\` (or \`npm run bench\`)`);
  const bytes = readFileSync(file);
  results.wasm_raw_kb = round(bytes.length / 1024);
  results.wasm_gzip_kb = round(gzipSync(bytes, { level: 9 }).length / 1024);
  log(`wasm: ${results.wasm_raw_kb} KB, gzip -9 ${results.wasm_gzip_kb} KB`);
}

// ---------- a static server for the repo (and the fixtures under /fixtures/) ----------

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.map': 'application/json',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp',
};

function serve() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const rel = decodeURIComponent(url.pathname);
    const [base, sub] = rel.startsWith('/fixtures/') ? [fixtures, rel.slice('/fixtures/'.length)]
      : rel.startsWith('/www/pkg/') ? [pkg, rel.slice('/www/pkg/'.length)] : [root, rel.slice(1)];
    const file = path.resolve(base, sub);
    if (!file.startsWith(base + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---------- the browser part ----------

async function openPage(browser, url) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`console ${m.type()}: ${m.text()}`); });
  await page.goto(`${url}/bench/browser.html`);
  await page.waitForFunction(() => window.bench !== undefined);
  const info = await page.evaluate(() => window.bench.ready());
  if (!info.simd) note('this Chromium does not validate wasm SIMD');
  return page;
}

/** Calls window.bench[name](arg) in the page; a failure becomes a note, not a crash. */
async function call(page, name, arg) {
  if (ONLY && name !== 'open' && !ONLY.has(name)) return null;
  const t = Date.now();
  try {
    const r = await page.evaluate(([n, a]) => window.bench[n](a), [name, arg]);
    log(`${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return r;
  } catch (e) {
    note(`${name} failed: ${e.message.split('\n')[0]}`);
    return null;
  }
}

/** `--profile NAME`: runs one measurement on the 24 MP photo under Chrome's sampling profiler. */
async function profile(page, name) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  await call(page, name, { runs: RUNS });
  const { profile: prof } = await cdp.send('Profiler.stop');
  const self = new Map();
  const dt = new Map(prof.nodes.map((n) => [n.id, 0]));
  prof.samples.forEach((id, i) => dt.set(id, dt.get(id) + (prof.timeDeltas[i + 1] ?? 0) / 1000));
  let total = 0;
  for (const n of prof.nodes) {
    const fn = n.callFrame.functionName || `(${n.callFrame.url.split('/').pop() || 'anonymous'})`;
    if (fn === '(idle)' || fn === '(program)') continue;
    self.set(fn, (self.get(fn) ?? 0) + dt.get(n.id));
    total += dt.get(n.id);
  }
  console.log(`\nself time of ${name} (${RUNS + 1} runs incl. warm-up; ${round(total)} ms sampled):`);
  for (const [fn, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${String(round(ms)).padStart(9)} ms ${String(round((100 * ms) / total)).padStart(5)} %  ${fn.slice(0, 150)}`);
  }
}

async function browserBench(url) {
  const browser = await chromium.launch({
    executablePath: process.env.PIXELKEEP_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  try {
    results.chromium_major_version = Number(browser.version().split('.')[0]);
    let page = await openPage(browser, url);
    await page.evaluate(() => window.bench.makeInput('photo24', 'coffee.png', 6000, 4000));
    const open = await call(page, 'open', 'photo24');
    if (!open) throw new Error('the 24 MP photo did not open');
    const profiling = process.argv.indexOf('--profile');
    if (profiling > 0) {
      // `--profile setupA,setupB,measured`: the setups run first, unprofiled.
      const names = process.argv[profiling + 1].split(',');
      for (const n of names.slice(0, -1)) await call(page, n, { runs: 0 });
      await profile(page, names.at(-1));
      process.exit(0);
    }
    const decodes = [open.ms];
    for (let i = 0; i < (QUICK ? 0 : 2); i++) decodes.push((await call(page, 'open', 'photo24')).ms);
    results.decode_jpeg_24mp_ms = round(median(decodes));

    const ab = await call(page, 'resizeAB', { runs: RUNS });
    if (ab) {
      results.resize_24mp_to_2048_ms = round(median(ab.ours));
      results.resize_24mp_to_2048_pica_ms = round(median(ab.theirs));
      results.resize_speedup_vs_pica = round(results.resize_24mp_to_2048_pica_ms / results.resize_24mp_to_2048_ms, 2);
      results.resize_vs_pica_mean_abs_diff = round(ab.meanAbsDiff, 3);
      detail('resize_24mp_to_2048_ms', ab.ours, 'alternating run for run with pica');
      detail('resize_24mp_to_2048_pica_ms', ab.theirs);
      detail('resize_speedup_vs_pica', ab.ours.map((x, i) => ab.theirs[i] / x), 'per-pair ratios');
    }
    const pc = await call(page, 'resizePica', { runs: SLOW_RUNS, mode: 'canvas' });
    if (pc) results.resize_24mp_to_2048_pica_canvas_ms = round(median(pc.ms)), detail('resize_24mp_to_2048_pica_canvas_ms', pc.ms);

    const s = await call(page, 'stroke', { runs: RUNS });
    if (s) results.stroke_1000pt_40px_ms = round(median(s.ms)), detail('stroke_1000pt_40px_ms', s.ms, `dirty rect ${s.rect.width}x${s.rect.height}`);
    const sc = await call(page, 'strokeCanvas', { runs: RUNS });
    if (sc) results.stroke_canvas2d_readback_ms = round(median(sc.ms)), detail('stroke_canvas2d_readback_ms', sc.ms);

    const l = await call(page, 'lasso', { runs: RUNS });
    if (l) results.lasso_full_frame_ms = round(median(l.ms)), detail('lasso_full_frame_ms', l.ms, `dirty rect ${l.rect.width}x${l.rect.height}`);
    const lc = await call(page, 'lassoCanvas', { runs: RUNS });
    if (lc) results.lasso_canvas2d_readback_ms = round(median(lc.ms)), detail('lasso_canvas2d_readback_ms', lc.ms);

    const f = await call(page, 'feather', { runs: RUNS });
    if (f) {
      results.feather_r64_ms = round(median(f.ms));
      results.feather_r0_bounds_ms = round(median(f.plain));
      detail('feather_r64_ms', f.ms);
      detail('feather_r0_bounds_ms', f.plain);
    }
    const fc = await call(page, 'featherCanvas', { runs: RUNS });
    if (fc) results.feather_r64_canvas2d_ms = round(median(fc.ms)), detail('feather_r64_canvas2d_ms', fc.ms);

    const c = await call(page, 'composite', { runs: SLOW_RUNS });
    if (c) {
      results.composite_full_frame_ms = round(median(c.recomposite));
      results.recomposite_new_feather_ms = round(median(c.refeather));
      results.composite_canvas2d_ms = round(median(c.canvas));
      detail('composite_canvas2d_ms', c.canvas);
      results.accept_full_frame_ms = round(median(c.accept));
      results.decode_answer_png_24mp_ms = round(median(c.decode));
      detail('composite_full_frame_ms', c.recomposite, `window ${c.window.width}x${c.window.height}`);
      detail('recomposite_new_feather_ms', c.refeather, 'feather 4 and 5 alternately');
      detail('accept_full_frame_ms', c.accept, `answer PNG ${round(c.pngBytes / 2 ** 20)} MB`);
      detail('decode_answer_png_24mp_ms', c.decode);
      if (c.delivered.changed_pixels !== 0) note(`the full-frame composite changed ${c.delivered.changed_pixels} protected pixels`);
    }

    const pr = await call(page, 'prepare', { runs: RUNS });
    if (pr) {
      results.prepare_24mp_ms = round(median(pr.ms));
      detail('prepare_24mp_ms', pr.ms, `sent ${pr.output?.aspect_ratio ?? '?'} ${pr.output?.size ?? ''}, body ${round(pr.bytes / 2 ** 20, 2)} MB`);
    }
    await page.close();

    if (ONLY && !ONLY.has('memoryRound')) return;
    // A fresh page (and wasm instance) for the memory figure: memory only ever grows.
    page = await openPage(browser, url);
    await page.evaluate(() => window.bench.makeInput('photo50', 'coffee.png', 8660, 5773));
    const m = await page.evaluate(() => window.bench.memoryRound('photo50')).catch((e) => { note(`memoryRound failed: ${e.message.split('\n')[0]}`); return null; });
    if (m) {
      results.peak_wasm_memory_50mp_mb = round(m.peak);
      results.wasm_memory_50mp_after_decode_mb = round(m.decode);
      results.wasm_memory_50mp_after_stroke_mb = round(m.stroke);
      results.wasm_memory_50mp_after_prepare_mb = round(m.prepare);
      results.decode_jpeg_50mp_ms = round(m.decodeMs);
      details.peak_wasm_memory_50mp_mb = `8660x5773; answer ${m.answer}, window ${m.window.width}x${m.window.height}; at start ${round(m.init)} MB`;
    }
    await page.close();
  } finally {
    await browser.close();
  }
}

const details = {};
function detail(key, samples, extra) {
  details[key] = [spread(samples), extra].filter(Boolean).join('; ');
}

// ---------- the other benches (written by other engineers), merged when present ----------

function runCmd(cmd, args, options = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  return r.status === 0;
}

function mergeJson(file, from) {
  let data;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    note(`${from}: no readable JSON (${e.message})`);
    return 0;
  }
  let n = 0;
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === 'number' && Number.isFinite(v)) {
      results[k] = v;
      n++;
    }
  }
  log(`${from}: merged ${n} figures`);
  return n;
}

function exampleExists(name, dir) {
  return existsSync(path.join(dir, 'examples', `${name}.rs`)) || existsSync(path.join(dir, 'examples', name, 'main.rs'));
}

function proxyOverhead(tmp) {
  if (!exampleExists('overhead', 'proxy')) {
    note('proxy overhead: skipped (proxy/examples/overhead.rs does not exist yet)');
    return;
  }
  const out = path.join(tmp, 'overhead.json');
  if (!runCmd('cargo', ['run', '--release', '-p', 'pixelkeep-proxy', '--example', 'overhead', '--', out])) {
    note('proxy overhead: skipped (the example failed to build or run)');
    return;
  }
  mergeJson(out, 'proxy overhead');
}

/** The local engine's other operations on a 2048 x 1365 photo (native). */
function engineOps(tmp) {
  const out = path.join(tmp, 'engine.json');
  if (!runCmd('cargo', ['run', '--release', '--example', 'engine_bench', '--', out])) {
    note('local engine ops: skipped (examples/engine_bench failed to build or run)');
    return;
  }
  mergeJson(out, 'engine_bench');
}

/** The venv with OpenCV for bench/inpaint_opencv.py: bench/.venv, made on first use. */
function opencvPython() {
  const py = path.join('bench', '.venv', 'bin', 'python');
  const ok = () => existsSync(py) && spawnSync(py, ['-c', 'import cv2, numpy'], { stdio: 'ignore' }).status === 0;
  if (ok()) return py;
  if (!existsSync(py) && !runCmd('python3', ['-m', 'venv', path.join('bench', '.venv')])) return null;
  runCmd(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', 'opencv-python-headless', 'numpy']);
  return ok() ? py : null;
}

function inpaint(tmp) {
  if (!exampleExists('inpaint_bench', '.')) {
    note('inpainting: skipped (examples/inpaint_bench.rs does not exist yet)');
    return;
  }
  const out = path.join(tmp, 'inpaint.json');
  const work = path.join(tmp, 'inpaint-work');
  const env = { ...process.env, PIXELKEEP_INPAINT_DIR: work };
  if (!runCmd('cargo', ['run', '--release', '--example', 'inpaint_bench', '--', out], { env })) {
    note('inpainting: skipped (examples/inpaint_bench failed to build or run)');
    return;
  }
  mergeJson(out, 'inpaint_bench');
  if (!existsSync('bench/inpaint_opencv.py')) {
    note('inpainting: OpenCV baseline skipped (bench/inpaint_opencv.py does not exist yet)');
    return;
  }
  const py = opencvPython();
  if (!py) {
    note('inpainting: OpenCV baseline skipped (could not install opencv-python-headless and numpy into bench/.venv)');
    return;
  }
  if (!runCmd(py, ['bench/inpaint_opencv.py', work, out])) {
    note('inpainting: OpenCV baseline failed (see its output above)');
    return;
  }
  mergeJson(out, 'inpaint_opencv.py');
}

// ---------- the table ----------

function table() {
  const rows = [['figure', 'value', 'goal', 'met?', 'how measured']];
  let met = 0, total = 0;
  for (const [key, [label, unit, goal, kind]] of Object.entries(FIGURES)) {
    const v = results[key];
    let ok = '';
    if (goal != null) {
      results[`${key}_goal`] = goal;
      total++;
      if (v === undefined) ok = 'not measured';
      else if (kind === 'min' ? v >= goal : v <= goal) { ok = 'yes'; met++; } else ok = 'NO';
    }
    rows.push([
      `${label} \`${key}\``,
      v === undefined ? '—' : `${v} ${unit}`,
      goal == null ? '' : `${kind === 'min' ? '≥' : '≤'} ${goal} ${unit}`,
      ok,
      details[key] ?? '',
    ]);
  }
  results.goals_met = met;
  results.goals_total = total;
  // Figures merged from the other benches, without goals here.
  for (const key of Object.keys(results).sort()) {
    if (key in FIGURES || key.endsWith('_goal') || key.startsWith('goals_') || ['chromium_major_version', 'bench_loadavg_1m_start', 'bench_loadavg_1m_end'].includes(key)) continue;
    rows.push([`\`${key}\``, String(results[key]), '', '', 'merged from another bench']);
  }
  return { rows, met, total };
}

function markdown(rows) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [
    `| ${rows[0].join(' | ')} |`,
    `|${rows[0].map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function plain(rows) {
  const cols = rows[0].length - 1; // the last column (how measured) goes on its own line
  const width = Array.from({ length: cols }, (_, i) => Math.max(...rows.map((r) => r[i].replace(/`[^`]*`/g, '').trimEnd().length)));
  return rows.map((r) => {
    const line = r.slice(0, cols).map((c, i) => c.replace(/ `[^`]*`/g, '').padEnd(width[i])).join('  ');
    return r[cols] && r !== rows[0] ? `${line}  (${r[cols]})` : line;
  }).join('\n');
}

// ---------- main ----------

async function main() {
  const started = Date.now();
  results.bench_loadavg_1m_start = round(loadavg()[0], 2);
  wasmSize();
  const server = await serve();
  const url = `http://127.0.0.1:${server.address().port}`;
  log(`serving ${root} at ${url}${pkg === path.join(root, 'www', 'pkg') ? '' : ` (/www/pkg/ from ${pkg})`}`);
  try {
    await browserBench(url);
  } finally {
    server.close();
  }
  results.bench_loadavg_1m_end = round(loadavg()[0], 2);
  if (!ONLY_BROWSER && !ONLY) {
    const tmp = mkdtempSync(path.join(tmpdir(), 'pixelkeep-bench-'));
    try {
      proxyOverhead(tmp);
      inpaint(tmp);
      engineOps(tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const { rows, met, total } = table();
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const md = [
    '# pixelkeep bench results',
    '',
    `${stamp}, Chromium ${results.chromium_major_version ?? '?'}, ${met} of ${total} goals met. `
      + `Load average (1 min) ${results.bench_loadavg_1m_start} at the start, ${results.bench_loadavg_1m_end} after the browser part `
      + '(other work on the machine makes the timings slower and noisier). Reproduce: `npm run bench`; see bench/README.md.',
    '',
    markdown(rows),
    '',
    ...(notes.length ? ['Notes:', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync('bench/results.md', md);
  console.log(`\n${plain(rows)}\n`);
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`\npixelkeep bench: ${met} of ${total} goals met; wrote bench/results.json and bench/results.md `
    + `(${Math.round((Date.now() - started) / 1000)} s)`);
}

main().catch((e) => {
  console.error(`\npixelkeep bench: ${e.stack ?? e.message}`);
  process.exit(1);
});
