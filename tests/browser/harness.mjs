// Real parts for browser tests: the proxy binary on loopback and Debian's Chromium.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';

export const fixture = (name) => readFileSync(new URL(`../../../shared/fixtures/${name}`, import.meta.url));
export const decodePng = (bytes) => PNG.sync.read(Buffer.from(bytes));

/** Starts the proxy on a free loopback port; resolves with its URL once it serves. */
export function startProxy(extraEnv = {}) {
  const bin = process.env.PIXELKEEP_PROXY_BIN ?? 'target/debug/pixelkeep-proxy';
  const child = spawn(bin, ['--www', 'www'], {
    env: { ...process.env, PIXELKEEP_ADDR: '127.0.0.1:0', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the proxy did not start:\n${seen}`)), 30_000);
    const onData = (d) => {
      seen += d;
      const m = seen.match(/pixelkeep: serving (http:\/\/[^\s)]+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1].replace(/\/$/, ''), stop: () => child.kill('SIGTERM') });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`the proxy exited (${code}):\n${seen}`)));
  });
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.PIXELKEEP_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A page with the demo's editor, ready (its wasm loaded in the worker). */
export async function openEditor(browser, url, { viewport = { width: 1200, height: 900 } } = {}) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${url}/`);
  await page.evaluate(() => new Promise((resolve) => {
    const ed = document.querySelector('pixelkeep-editor');
    ed.addEventListener('pixelkeep-ready', resolve, { once: true });
    // It may have been ready before we listened: a cheap call proves the worker answers.
    ed.maskBlob().catch(() => resolve());
  }));
  return { page, errors };
}

/** Loads bytes into the page's editor through the programmatic API. */
export function loadBytes(page, bytes) {
  return page.evaluate(async (b64) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return document.querySelector('pixelkeep-editor').load(new Blob([bin]));
  }, Buffer.from(bytes).toString('base64'));
}

/** The editor's toBlob (or maskBlob) result, decoded in Node. */
export async function blobPixels(page, expr) {
  const b64 = await page.evaluate(async (code) => {
    const ed = document.querySelector('pixelkeep-editor');
    const blob = await new Function('ed', `return ${code}`)(ed);
    const buf = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    return btoa(s);
  }, expr);
  return decodePng(Buffer.from(b64, 'base64'));
}
