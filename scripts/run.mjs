#!/usr/bin/env node
// The README's commands: `npm start`, `npm test`, `npm run bench`. Each first installs what
// is missing (the wasm target, wasm-bindgen-cli at the crate's exact version, npm packages,
// Chromium for tests), then builds only what it needs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
process.chdir(root);
const cargoBin = path.join(process.env.CARGO_HOME ?? path.join(homedir(), '.cargo'), 'bin');
const env = { ...process.env, PATH: `${cargoBin}${path.delimiter}${process.env.PATH}` };

function run(cmd, args, options = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env, ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
}

function output(cmd, args) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

/** Runs a command, streaming its output and keeping a copy to count results from. */
function runCapture(cmd, args, options = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => { text += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { text += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code, text }));
  });
}

function wasmBindgenVersion() {
  const lock = readFileSync('Cargo.lock', 'utf8');
  const m = lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!m) throw new Error('Cargo.lock names no wasm-bindgen version');
  return m[1];
}

function setup({ browser = false } = {}) {
  if (!output('rustup', ['target', 'list', '--installed'])?.includes('wasm32-unknown-unknown')) {
    run('rustup', ['target', 'add', 'wasm32-unknown-unknown']);
  }
  const want = wasmBindgenVersion();
  if (!output('wasm-bindgen', ['--version'])?.includes(want)) {
    // Must match the crate exactly. `--locked` can fail on yanked transitive pins; without it, it resolves.
    run('cargo', ['install', 'wasm-bindgen-cli', '--version', want]);
  }
  const wanted = Object.keys(JSON.parse(readFileSync('package.json', 'utf8')).devDependencies ?? {});
  if (wanted.some((name) => !existsSync(`node_modules/${name}/package.json`))) {
    run('npm', [existsSync('package-lock.json') ? 'ci' : 'install', '--no-audit', '--no-fund']);
  }
  if (browser && !existsSync(chromiumPath())) {
    if (process.getuid?.() === 0) {
      run('apt-get', ['update']);
      run('apt-get', ['install', '-y', 'chromium', 'chromium-driver'], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
    } else {
      throw new Error('Browser tests need Chromium: run `sudo apt-get install chromium chromium-driver` '
        + '(or set PIXELKEEP_CHROMIUM to a Chromium binary).');
    }
  }
}

export function chromiumPath() {
  return process.env.PIXELKEEP_CHROMIUM ?? '/usr/bin/chromium';
}

function buildWasm() {
  run('cargo', ['build', '--release', '--lib', '--target', 'wasm32-unknown-unknown']);
  run('wasm-bindgen', ['--target', 'web', '--out-dir', 'www/pkg', '--remove-name-section',
    'target/wasm32-unknown-unknown/release/pixelkeep.wasm']);
}

async function start() {
  setup();
  buildWasm();
  run('cargo', ['build', '--release', '-p', 'pixelkeep-proxy']);
  const child = spawn('target/release/pixelkeep-proxy', ['--www', 'www'], { stdio: 'inherit', env });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
}

function count(text) {
  let passed = 0, failed = 0;
  for (const m of text.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) { passed += +m[1]; failed += +m[2]; }
  for (const m of text.matchAll(/^# pass (\d+)$/gm)) passed += +m[1];
  for (const m of text.matchAll(/^# fail (\d+)$/gm)) failed += +m[1];
  return { passed, failed };
}

async function test() {
  setup({ browser: true });
  buildWasm();
  const steps = [];
  const rust = await runCapture('cargo', ['test', '--workspace']);
  steps.push({ name: 'cargo test --workspace', ...rust, ...count(rust.text) });
  // The same core unit tests on wasm32, in Node, as the widget runs them.
  const wasm = await runCapture('cargo', ['test', '--lib', '--target', 'wasm32-unknown-unknown'],
    { env: { ...env, CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: 'wasm-bindgen-test-runner' } });
  steps.push({ name: 'cargo test --lib on wasm32', ...wasm, ...count(wasm.text) });
  run('cargo', ['build', '-p', 'pixelkeep-proxy']);
  const node = await runCapture(process.execPath, ['--test', '--test-reporter=tap', '--test-concurrency=1',
    'tests/wasm/', 'tests/browser/', 'tests/bundler/', 'tests/sdk/'], { env: { ...env, PIXELKEEP_PROXY_BIN: 'target/debug/pixelkeep-proxy' } });
  steps.push({ name: 'node --test (wasm bindings, browser)', ...node, ...count(node.text) });
  let passed = 0, failed = 0;
  console.log('\nSummary');
  for (const s of steps) {
    // A step that exits non-zero without a counted failure (a build error) still fails.
    const f = s.failed || (s.code !== 0 ? 1 : 0);
    passed += s.passed;
    failed += f;
    console.log(`  ${s.name}: ${s.passed} passed, ${f} failed`);
  }
  console.log(`pixelkeep: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

async function bench() {
  setup({ browser: true });
  buildWasm();
  run(process.execPath, ['bench/run.mjs'], { env: { ...env } });
}

const commands = { start, test, bench, build: async () => { setup(); buildWasm(); } };
const command = commands[process.argv[2]];
if (!command) {
  console.error(`usage: node scripts/run.mjs ${Object.keys(commands).join('|')}`);
  process.exit(2);
}
command().catch((e) => {
  console.error(`\npixelkeep: ${e.message}`);
  process.exit(1);
});
