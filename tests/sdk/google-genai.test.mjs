// The official Google SDK (Python google-genai) using the proxy as its base URL: the
// Gemini-compatible endpoint answered by the local engine, pixels checked by the script.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startProxy } from '../browser/harness.mjs';

const venv = '.venv-sdk';
const python = `${venv}/bin/python`;
let proxy;

before(async () => {
  // A virtualenv inside the clone, so the SDK is installed by the project, not by hand.
  if (!existsSync(python)) {
    const made = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    assert.equal(made.status, 0, 'python3 -m venv failed (Debian: apt-get install python3-venv)');
  }
  const pip = spawnSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', 'proxy/tests/sdk/requirements.txt'], { stdio: 'inherit' });
  assert.equal(pip.status, 0, 'pip could not install google-genai');
  proxy = await startProxy();
});
after(() => proxy?.stop());

test('google-genai edits a photo through the proxy, pixels checked', () => {
  const run = spawnSync(python, ['proxy/tests/sdk/gemini_sdk_test.py'], {
    env: { ...process.env, PIXELKEEP_URL: proxy.url }, encoding: 'utf8', timeout: 120_000,
  });
  process.stdout.write(run.stdout ?? '');
  process.stderr.write(run.stderr ?? '');
  assert.equal(run.status, 0);
  assert.match(run.stdout, /^PASS: google-genai edited 600x400/m);
});
