// The one module that owns the wasm: every pixel operation runs here, off the main thread.
// Messages: {id, method, args} -> {id, result} | {id, error: {message, code}} | {id, progress}.
import init, { Editor, postEdit } from './pkg/pixelkeep.js';

let ready = null;
let editor = null;
const inflight = new Map(); // generation id -> AbortController
const profiles = new Map(); // endpoint -> Promise<ProviderProfile[]>

const methods = {
  init({ wasmUrl }) {
    ready = init({ module_or_path: wasmUrl });
    return ready.then(() => true);
  },

  load({ bytes, maxSide = 12000, maxPixels = 60e6 }) {
    const next = new Editor(new Uint8Array(bytes), maxSide, maxPixels);
    editor?.free();
    editor = next;
    return { width: editor.width, height: editor.height };
  },

  apply({ op }) { return need().apply(op); },
  undo() { return need().undo(); },
  redo() { return need().redo(); },
  history() { return { canUndo: need().canUndo(), canRedo: need().canRedo() }; },
  setBox({ box }) { return need().setBox(box ?? undefined); },
  setComposite({ grow, feather }) { need().setComposite(grow, feather); return true; },
  rounds() { return need().rounds(); },
  revert({ n }) { need().revert(n); return true; },
  recomposite({ round, grow, feather }) { return need().recomposite(round, grow, feather); },
  provenance() { return need().provenance(); },

  // Bitmaps for the screen: the delivered image and the mask tinted `color`.
  async view({ maxEdge, color = [255, 64, 64], image = true }) {
    const ed = need();
    const scale = Math.min(1, maxEdge / Math.max(ed.width, ed.height));
    const w = Math.max(1, Math.round(ed.width * scale));
    const h = Math.max(1, Math.round(ed.height * scale));
    const out = {};
    if (image) {
      out.image = await createImageBitmap(new ImageData(new Uint8ClampedArray(ed.preview(maxEdge).buffer), w, h));
    }
    const cover = ed.maskPreview(maxEdge);
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < cover.length; i++) {
      const o = i * 4;
      rgba[o] = color[0]; rgba[o + 1] = color[1]; rgba[o + 2] = color[2]; rgba[o + 3] = cover[i];
    }
    out.mask = await createImageBitmap(new ImageData(rgba, w, h));
    return out;
  },

  async providers({ endpoint }) {
    if (!profiles.has(endpoint)) {
      profiles.set(endpoint, fetch(`${endpoint}/providers`).then(async (r) => {
        if (!r.ok) throw coded('network', `The proxy at ${endpoint} did not list its providers (HTTP ${r.status}).`);
        return r.json();
      }).catch((e) => { profiles.delete(endpoint); throw e.code ? e : coded('network', `The proxy at ${endpoint} could not be reached.`); }));
    }
    return profiles.get(endpoint);
  },

  async generate({ endpoint, options }, id) {
    const ed = need();
    const list = await methods.providers({ endpoint });
    const provider = list.find((p) => p.id === (options.provider || 'local'));
    if (!provider) throw coded('invalid_request', `The provider "${options.provider}" is not configured on this proxy.`);
    const model = provider.models.find((m) => m.id === (options.model || provider.default_model));
    if (!model) throw coded('invalid_request', `The model "${options.model}" is not offered by ${provider.label}.`);
    progress(id, 'preparing');
    const body = ed.request({ ...options, provider: provider.id, model: model.id }, model);
    const controller = new AbortController();
    inflight.set(id, controller);
    try {
      progress(id, 'waiting');
      const answer = await postEdit(`${endpoint}/edit`, body, controller.signal);
      progress(id, 'compositing');
      return ed.accept(answer);
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
      return canvas.convertToBlob({ type, quality });
    }
    throw coded('invalid_request', `Cannot save as ${type}: use image/png, image/jpeg or image/webp.`);
  },

  maskPng({ convention = 'white-edit' }) {
    return new Blob([need().maskPng(convention)], { type: 'image/png' });
  },
};

function need() {
  if (!editor) throw coded('no_image', 'Load a photo first.');
  return editor;
}

function coded(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

function progress(id, stage) {
  self.postMessage({ id, progress: stage });
}

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    if (method !== 'init') await ready;
    const fn = methods[method];
    if (!fn) throw coded('invalid_request', `unknown method ${method}`);
    const result = await fn(args ?? {}, id);
    const transfer = result && typeof result === 'object' ? Object.values(result).filter((v) => v instanceof ImageBitmap) : [];
    self.postMessage({ id, result }, transfer);
  } catch (e) {
    const message = e?.message ?? String(e);
    self.postMessage({ id, error: { message, code: e?.code ?? 'internal', retryAfter: e?.retryAfter } });
  }
};
