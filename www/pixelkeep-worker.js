// The one module that owns the wasm: every pixel operation runs here, off the main thread.
// Messages: {id, method, args} -> {id, result} | {id, error: {message, code}} | {id, progress}
// and, unasked, {event, detail} (autosaved, autosave-failed).
//
// Autosave: the session is a journal of the calls that changed it (mask operations, box,
// undo/redo, requests and the proxy's answers, reverts, re-composites). It is kept in
// IndexedDB with the original file's bytes, and restoring replays it: the same calls on the
// same bytes give the same pixels, without a new (paid) generation.
import init, { Editor, postEdit } from './pkg/pixelkeep.js';

const THUMB_EDGE = 96;
const SAVE_DELAY_MS = 400;

let ready = null;
let editor = null;
let original = null; // the loaded file's bytes (ArrayBuffer), kept for autosave
let source = null; // where they came from (a URL or a file name), to match a saved session
let journal = [];
let thumbs = []; // per round: {width, height, data} of the image after it
// Rounds whose thumbnail predates a re-composite of an earlier round: redrawn when the image
// after them is on screen again (drawing them at once would replay every round).
const staleThumbs = new Set();
let originalThumb = null;
let box = null;
let autosave = null; // the IndexedDB key, or null
let saveTimer = 0;
let originalDirty = false;
const inflight = new Map(); // generation id -> AbortController
const profiles = new Map(); // endpoint -> Promise<ProviderProfile[]>

// Calls run one at a time, in order, so a restore and a load (or two strokes) never
// interleave. A generation holds the queue only to prepare and to composite, not while the
// model works: painting goes on meanwhile, and cancel is never queued.
let queue = Promise.resolve();
function exclusive(fn) {
  const run = queue.then(fn);
  queue = run.catch(() => {});
  return run;
}

/** Replays one journal entry on the editor; the same code runs live and on restore. */
function perform(entry) {
  const ed = need();
  switch (entry.m) {
    case 'apply': return ed.apply(entry.op);
    case 'undo': return refreshThumb(ed, null, ed.undo());
    case 'redo': return refreshThumb(ed, null, ed.redo());
    case 'setBox': return (box = ed.setBox(entry.box ?? undefined) ?? null);
    case 'setComposite': return ed.setComposite(entry.grow, entry.feather);
    case 'revert': return refreshThumb(ed, null, ed.revert(entry.n));
    case 'recomposite': {
      const report = ed.recomposite(entry.round, entry.grow, entry.feather);
      const active = ed.history().active;
      for (let i = entry.round; i < thumbs.length; i++) staleThumbs.add(i);
      refreshThumb(ed, active);
      return report;
    }
    case 'request': return ed.request(entry.options, entry.model);
    case 'accept': {
      const report = ed.accept(entry.answer);
      thumbs.length = report.index;
      thumbs.push(thumbnail(ed));
      for (const i of staleThumbs) if (i >= report.index) staleThumbs.delete(i);
      return report;
    }
    default: throw coded('internal', `unknown journal entry ${entry.m}`);
  }
}

function record(entry) {
  const result = perform(entry);
  journal.push(entry);
  scheduleSave();
  return result;
}

/** Redraws the thumbnail of the round now on screen if it is stale; passes `result` through. */
function refreshThumb(ed, active = null, result = undefined) {
  const i = (active ?? ed.history().active) - 1;
  if (i >= 0 && staleThumbs.delete(i)) thumbs[i] = thumbnail(ed);
  return result;
}

function thumbnail(ed, of = 'preview') {
  const scale = Math.min(1, THUMB_EDGE / Math.max(ed.width, ed.height));
  const width = Math.max(1, Math.round(ed.width * scale));
  const height = Math.max(1, Math.round(ed.height * scale));
  return { width, height, data: of === 'original' ? ed.originalPreview(THUMB_EDGE) : ed.preview(THUMB_EDGE) };
}

function open(bytes, { maxSide = 12000, maxPixels = 60e6 } = {}) {
  const next = new Editor(new Uint8Array(bytes), maxSide, maxPixels);
  editor?.free();
  editor = next;
  original = bytes;
  journal = [];
  thumbs = [];
  staleThumbs.clear();
  originalThumb = thumbnail(editor, 'original');
  box = null;
  return { width: editor.width, height: editor.height };
}

function fitted(ed, maxEdge) {
  const scale = Math.min(1, maxEdge / Math.max(ed.width, ed.height));
  return [Math.max(1, Math.round(ed.width * scale)), Math.max(1, Math.round(ed.height * scale))];
}

const bitmap = (rgba, w, h) => createImageBitmap(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.byteLength), w, h));

const methods = {
  init({ wasmUrl, autosave: key = null }) {
    autosave = key;
    ready = init({ module_or_path: wasmUrl });
    return ready.then(() => true);
  },

  load({ bytes, source: from = null, maxSide, maxPixels }) {
    const size = open(bytes, { maxSide, maxPixels });
    source = from;
    originalDirty = true;
    scheduleSave();
    return size;
  },

  apply({ op }) { return record({ m: 'apply', op }); },
  undo() { return record({ m: 'undo' }); },
  redo() { return record({ m: 'redo' }); },
  setBox({ box: b }) { return record({ m: 'setBox', box: b ?? null }); },
  setComposite({ grow, feather }) { record({ m: 'setComposite', grow, feather }); return true; },
  revert({ n }) { record({ m: 'revert', n }); return true; },
  recomposite({ round, grow, feather }) { return record({ m: 'recomposite', round, grow, feather }); },
  rounds() { return need().rounds(); },
  provenance() { return need().provenance(); },

  /** What the UI shows besides pixels: history buttons, the box, every round with its thumbnail. */
  state() {
    if (!editor) return { canUndo: false, canRedo: false, box: null, active: 0, rounds: [] };
    const { active, rounds } = editor.history();
    return {
      canUndo: editor.canUndo(), canRedo: editor.canRedo(), box, active,
      rounds: rounds.map((r, i) => ({ ...r, thumb: thumbs[i] ?? null })),
      originalThumb,
    };
  },

  // Bitmaps for the screen: the delivered image, the original, and the mask as alpha
  // (the element tints it in the person's chosen colour).
  async view({ maxEdge, image = true, original: before = false, mask = true }) {
    const ed = need();
    const [w, h] = fitted(ed, maxEdge);
    const out = {};
    if (image) out.image = await bitmap(ed.preview(maxEdge), w, h);
    if (before) out.original = await bitmap(ed.originalPreview(maxEdge), w, h);
    if (mask) {
      const cover = ed.maskPreview(maxEdge);
      const rgba = new Uint8Array(w * h * 4).fill(255);
      for (let i = 0; i < cover.length; i++) rgba[i * 4 + 3] = cover[i];
      out.mask = await bitmap(rgba, w, h);
    }
    return out;
  },

  async providers({ endpoint, token }) {
    if (!profiles.has(endpoint)) {
      const headers = token ? { authorization: `Bearer ${token}` } : {};
      profiles.set(endpoint, fetch(`${endpoint}/providers`, { headers }).then(async (r) => {
        if (r.status === 401) throw coded('unauthorized', 'This page is not allowed to use the editing service (its embed token is missing or expired).');
        if (!r.ok) throw coded('network', `The proxy at ${endpoint} did not list its providers (HTTP ${r.status}).`);
        return r.json();
      }).catch((e) => { profiles.delete(endpoint); throw e.code ? e : coded('network', `The proxy at ${endpoint} could not be reached.`); }));
    }
    return profiles.get(endpoint);
  },

  async generate({ endpoint, token, options }, id) {
    const list = await methods.providers({ endpoint, token });
    const provider = list.find((p) => p.id === (options.provider || list[0]?.id));
    if (!provider) throw coded('invalid_request', `The provider "${options.provider}" is not configured on this proxy.`);
    const model = provider.models.find((m) => m.id === (options.model || provider.default_model));
    if (!model) throw coded('invalid_request', `The model "${options.model}" is not offered by ${provider.label}.`);
    if ((options.references?.length ?? 0) > model.max_references) {
      throw coded('too_many_references', `${model.id} takes at most ${model.max_references} reference images; ${options.references.length} were given.`);
    }
    progress(id, 'preparing');
    const request = { m: 'request', options: { ...options, provider: provider.id, model: model.id }, model };
    const body = await exclusive(() => record(request));
    const controller = new AbortController();
    inflight.set(id, controller);
    try {
      progress(id, 'uploading', { bytes: body.length });
      const answer = await postEdit(`${endpoint}/edit`, body, token || undefined, controller.signal);
      progress(id, 'compositing');
      return await exclusive(() => record({ m: 'accept', answer }));
    } catch (e) {
      // No answer: the request leaves no trace in the saved session.
      journal = journal.filter((entry) => entry !== request);
      throw e;
    } finally {
      inflight.delete(id);
    }
  },

  cancel({ target }) {
    inflight.get(target)?.abort();
    return true;
  },

  async encode({ type = 'image/png', quality = 0.92 }) {
    const ed = need();
    if (type === 'image/png') return new Blob([ed.toPng()], { type });
    if (type === 'image/jpeg') return new Blob([ed.toJpeg(Math.round(Math.min(1, Math.max(0.01, quality)) * 100))], { type });
    if (type === 'image/webp') {
      const canvas = new OffscreenCanvas(ed.width, ed.height);
      canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(ed.rgba().buffer), ed.width, ed.height), 0, 0);
      const blob = await canvas.convertToBlob({ type, quality });
      if (blob.type !== type) throw coded('unsupported_format', 'This browser cannot encode WebP; choose PNG or JPEG.');
      return blob;
    }
    throw coded('invalid_request', `Cannot save as ${type}: use image/png, image/jpeg or image/webp.`);
  },

  maskPng({ convention = 'white-edit' }) {
    return new Blob([need().maskPng(convention)], { type: 'image/png' });
  },

  // ----- autosave
  /** Replays the session saved under `key` (when its source matches, if one is given). */
  async restore({ key = autosave, source: want = null }) {
    if (!key) return null;
    const saved = await idb('readonly', (s) => s.get(key));
    if (!saved || (want && saved.source !== want)) return null;
    const bytes = await idb('readonly', (s) => s.get(`${key}#original`));
    if (!bytes) return null;
    autosave = key;
    const size = open(bytes);
    source = saved.source;
    for (const entry of saved.journal) {
      try {
        perform(entry);
        journal.push(entry);
      } catch (e) {
        // An entry that no longer replays (a newer format, a bug) ends the restore there.
        if (e instanceof WebAssembly.RuntimeError) throw e;
        break;
      }
    }
    return { ...size, source, savedAt: saved.savedAt, box };
  },

  async setAutosave({ key }) {
    autosave = key;
    originalDirty = true;
    if (key && editor) await save();
    return true;
  },

  async flush() {
    if (saveTimer) { clearTimeout(saveTimer); saveTimer = 0; await save(); }
    return true;
  },

  async discard({ key = autosave }) {
    clearTimeout(saveTimer);
    saveTimer = 0;
    if (key) await idb('readwrite', (s) => { s.delete(key); s.delete(`${key}#original`); });
    return true;
  },

  close() {
    clearTimeout(saveTimer);
    saveTimer = 0;
    editor?.free();
    editor = null;
    original = null;
    journal = [];
    thumbs = [];
    staleThumbs.clear();
    box = null;
    return true;
  },
};

function scheduleSave() {
  if (!autosave || !editor) return;
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => { saveTimer = 0; save(); }, SAVE_DELAY_MS);
}

async function save() {
  if (!autosave || !editor) return;
  const record = { journal, source, box, savedAt: Date.now(), width: editor.width, height: editor.height };
  const withOriginal = originalDirty;
  try {
    await idb('readwrite', (s) => {
      s.put(record, autosave);
      if (withOriginal) s.put(original, `${autosave}#original`);
    });
    if (withOriginal) originalDirty = false;
    self.postMessage({ event: 'autosaved', detail: { savedAt: record.savedAt } });
  } catch (e) {
    self.postMessage({ event: 'autosave-failed', detail: { message: e?.message ?? String(e) } });
  }
}

let database = null;
function idb(mode, fn) {
  database ??= new Promise((resolve, reject) => {
    const r = indexedDB.open('pixelkeep', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('sessions');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return database.then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction('sessions', mode);
    const request = fn(tx.objectStore('sessions'));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  }));
}

function need() {
  if (!editor) throw coded('no_photo', 'Open a photo first.');
  return editor;
}

function coded(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

function progress(id, stage, detail = {}) {
  self.postMessage({ id, progress: stage, detail });
}

const unqueued = new Set(['init', 'cancel', 'generate', 'providers']);

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    if (method !== 'init') await ready;
    const fn = methods[method];
    if (!fn) throw coded('invalid_request', `unknown method ${method}`);
    const result = await (unqueued.has(method) ? fn(args ?? {}, id) : exclusive(() => fn(args ?? {}, id)));
    const transfer = result && typeof result === 'object' ? Object.values(result).filter((v) => v instanceof ImageBitmap) : [];
    self.postMessage({ id, result }, transfer);
  } catch (e) {
    const message = e?.message ?? String(e);
    // A trap inside wasm leaves its memory in an unknown state: the element starts over.
    const fatal = e instanceof WebAssembly.RuntimeError;
    self.postMessage({ id, error: { message, code: fatal ? 'worker_died' : (e?.code ?? 'internal'), retryAfter: e?.retryAfter, fatal } });
  }
};
