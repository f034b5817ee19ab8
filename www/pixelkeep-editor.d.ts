// TypeScript declarations for <pixelkeep-editor>.

export type Point = [x: number, y: number] | [x: number, y: number, pressure: number];
export type NormalisedBox = [ymin: number, xmin: number, ymax: number, xmax: number];
export type Tool = 'brush' | 'eraser' | 'lasso' | 'rect' | 'ellipse' | 'box' | 'wand' | 'pan';
export type MaskConvention = 'white-edit' | 'alpha-edit' | 'alpha-coverage';

export type Shape =
  | { kind: 'stroke'; points: Point[]; width: number }
  | { kind: 'polygon'; points: [number, number][]; even_odd?: boolean }
  | { kind: 'rect'; x: number; y: number; width: number; height: number }
  | { kind: 'ellipse'; cx: number; cy: number; rx: number; ry: number }
  | { kind: 'box'; box: NormalisedBox };

export interface Rect { x: number; y: number; width: number; height: number }

export interface Drift {
  protected_pixels: number;
  changed_pixels: number;
  max_abs_diff: number;
  mean_abs_diff: number;
  psnr_db: number | null;
}

export interface RoundReport {
  index: number;
  window: Rect;
  /** What the raw model output changed outside the mask (thrown away), measured as it arrived. */
  raw: Drift;
  /** What the delivered image changed outside the mask: zero. */
  delivered: Drift;
  options: { grow: number; feather: number };
  auto_protect: boolean;
  /** The colour shift taken out of the answer where it meets the photo (levels, 0–255); null if none. */
  tone: { mean: number; max: number } | null;
  provider: string;
  model: string;
  text: string | null;
  elapsed_ms: number;
}

export interface GenerateOptions {
  instruction?: string;
  keep?: string[];
  references?: { mime_type: string; data: string }[];
  provider?: string;
  model?: string;
  aspectRatio?: string;
  size?: string;
  grounding?: boolean;
  /** Take the answer's colour shift out at the edges of the edit (default: the checkbox, on). */
  matchTone?: boolean;
  signal?: AbortSignal;
}

/** Rejections carry the proxy's error code (`unsupported_instruction`, `rate_limited`, `safety_blocked`,
 * `payload_too_large`, ...) or the editor's own: `aborted`, `network`, `cors`, `too_many_references`,
 * `worker_died`, `no_photo`, `busy`. */
export interface PixelkeepError extends Error { code: string; retryAfter?: number }

export interface Provenance {
  recipe: unknown[];
  rounds: { instruction: string; provider: string; model: string; window: Rect }[];
  protected_digest_original: string;
  protected_digest_result: string;
}

/** Every UI string; replace any with `editor.strings = {...}` or register a locale table. */
export interface PixelkeepStrings {
  [key: string]: unknown;
  errors?: Record<string, (message: string, retryAfter?: number) => string>;
  stages?: Record<string, string | ((megabytes: string) => string)>;
  keepPresets?: Record<string, string>;
  shortcuts?: [keys: string, what: string][];
}

export interface PixelkeepEventMap {
  'pixelkeep-ready': CustomEvent<{ version: number; restored: boolean }>;
  'pixelkeep-change': CustomEvent<{ reason: 'load' | 'restore' | 'mask' | 'box' | 'undo' | 'redo' | 'revert' | 'recomposite' | 'discard'; [key: string]: unknown }>;
  'pixelkeep-generate': CustomEvent<{ instruction: string; provider: string; model?: string; keep: string[] }>;
  'pixelkeep-result': CustomEvent<RoundReport>;
  'pixelkeep-error': CustomEvent<{ code: string; message: string; retryAfter?: number }>;
  'pixelkeep-save': CustomEvent<{ blob: Blob; type: string; provenance: Provenance }>;
  /** The session was written to IndexedDB. */
  'pixelkeep-autosave': CustomEvent<{ savedAt: number }>;
  /** Saved work came back (after a reload, or after the worker died). */
  'pixelkeep-restore': CustomEvent<{ savedAt: number; source: string | null; width: number; height: number }>;
}

export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp';

export class PixelkeepEditor extends HTMLElement {
  /** String tables by locale tag (`en` is built in): `PixelkeepEditor.locales.de = {...}`. */
  static locales: Record<string, Partial<PixelkeepStrings>>;

  // Attributes, mirrored by these properties.
  /** `endpoint`: the proxy's API base (default `/api`). */
  endpoint: string;
  /** The host backend's short-lived embed token, sent as `Authorization: Bearer`. */
  token: string | null;
  /** `src`: a photo URL to open (cross-origin needs CORS). */
  src: string | null;
  /** `provider`, `model`: the initial picks (the pickers list what `GET {endpoint}/providers` offers). */
  provider: string;
  model: string | null;
  /** `locale`: a tag choosing a table from `PixelkeepEditor.locales` (default `en`). */
  locale: string;
  /** `theme`: `light`, `dark` or `auto` (follows prefers-color-scheme). */
  theme: 'light' | 'dark' | 'auto' | string;
  /** `wasm-url`: where the wasm module is (default: next to this script, in pkg/). */
  wasmUrl: string;
  /** `autosave`: the IndexedDB key the session is kept under; `"off"` (null here) turns it off. */
  autosave: string | null;

  /** Any UI strings to replace (merged over the locale's table). */
  strings: Partial<PixelkeepStrings>;
  tool: Tool;
  /** 1–500 image pixels. */
  brushSize: number;
  /** 0–255. */
  wandTolerance: number;
  /** A CSS colour for the mask overlay. */
  maskColor: string;
  /** 0–1. */
  maskOpacity: number;
  maskVisible: boolean;
  /** Screen (CSS) pixels per image pixel. */
  zoom: number;
  /** The active rounds (rounds reverted past are left out). */
  readonly rounds: RoundReport[];
  /** The bounding box, `[ymin, xmin, ymax, xmax]` 0–1000, or null. */
  readonly box: NormalisedBox | null;
  readonly imageSize: { width: number; height: number } | null;

  load(source: File | Blob | ArrayBuffer | ArrayBufferView | string | URL): Promise<{ width: number; height: number }>;
  /** Replays the autosaved session (only one made on `source`, when given); null when there is none. */
  restore(options?: { source?: string | null }): Promise<{ width: number; height: number } | null>;
  /** Forgets the autosaved session and empties the editor (reloading `src` if set). */
  discardSaved(): Promise<void>;
  addStroke(points: Point[], options?: { width?: number; erase?: boolean }): Promise<Rect | null>;
  addShape(shape: Shape, options?: { erase?: boolean }): Promise<Rect | null>;
  setBox(box: NormalisedBox | null): Promise<NormalisedBox | null>;
  clearMask(): Promise<Rect | null>;
  invertMask(): Promise<Rect | null>;
  /** Grows (positive) or shrinks (negative) the mask by `radius` image pixels. */
  growMask(radius: number): Promise<Rect | null>;
  selectSimilar(x: number, y: number, options?: { tolerance?: number; contiguous?: boolean; erase?: boolean }): Promise<Rect | null>;
  undo(): Promise<boolean>;
  redo(): Promise<boolean>;
  maskBlob(options?: { convention?: MaskConvention }): Promise<Blob>;
  /** Unset options come from the editor's controls. Rejects with a PixelkeepError. */
  generate(options?: GenerateOptions): Promise<RoundReport>;
  cancel(): void;
  /** Goes to the state after `rounds` rounds (0 = the original); later rounds stay offered. */
  revert(rounds: number): Promise<void>;
  recomposite(round: number, options?: { grow?: number; feather?: number }): Promise<RoundReport>;
  toBlob(type?: ImageType, quality?: number): Promise<Blob>;
  /** Encodes (default: the Export menu's format) and dispatches `pixelkeep-save`. */
  save(options?: { type?: ImageType; quality?: number }): Promise<{ blob: Blob; provenance: Provenance }>;

  addEventListener<K extends keyof PixelkeepEventMap>(type: K, listener: (ev: PixelkeepEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof PixelkeepEventMap>(type: K, listener: (ev: PixelkeepEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap { 'pixelkeep-editor': PixelkeepEditor }
  interface HTMLElementEventMap extends PixelkeepEventMap {}
}
