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
  /** What the raw model output changed outside the mask (thrown away). */
  raw: Drift;
  /** What the delivered image changed outside the mask: zero. */
  delivered: Drift;
  options: { grow: number; feather: number };
  auto_protect: boolean;
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
  signal?: AbortSignal;
}

/** Rejections carry the proxy's error code (`unsupported_instruction`, `rate_limited`, ...). */
export interface PixelkeepError extends Error { code: string; retryAfter?: number }

export interface Provenance {
  recipe: unknown[];
  rounds: { instruction: string; provider: string; model: string; window: Rect }[];
  protected_digest_original: string;
  protected_digest_result: string;
}

export interface PixelkeepEventMap {
  'pixelkeep-ready': CustomEvent<{ version: number }>;
  'pixelkeep-change': CustomEvent<{ reason: string; [key: string]: unknown }>;
  'pixelkeep-generate': CustomEvent<{ instruction: string; provider: string }>;
  'pixelkeep-result': CustomEvent<RoundReport>;
  'pixelkeep-error': CustomEvent<{ code: string; message: string; retryAfter?: number }>;
  'pixelkeep-save': CustomEvent<{ blob: Blob; type: string; provenance: Provenance }>;
}

export class PixelkeepEditor extends HTMLElement {
  endpoint: string;
  src: string | null;
  provider: string;
  model: string | null;
  wasmUrl: string;
  locale: Record<string, unknown>;
  tool: Tool;
  brushSize: number;
  readonly rounds: RoundReport[];
  readonly imageSize: { width: number; height: number } | null;

  load(source: File | Blob | ArrayBuffer | ArrayBufferView | string | URL): Promise<{ width: number; height: number }>;
  addStroke(points: Point[], options?: { width?: number; erase?: boolean }): Promise<Rect | null>;
  addShape(shape: Shape, options?: { erase?: boolean }): Promise<Rect | null>;
  setBox(box: NormalisedBox | null): Promise<NormalisedBox | null>;
  clearMask(): Promise<Rect | null>;
  invertMask(): Promise<Rect | null>;
  growMask(radius: number): Promise<Rect | null>;
  selectSimilar(x: number, y: number, options?: { tolerance?: number; contiguous?: boolean; erase?: boolean }): Promise<Rect | null>;
  undo(): Promise<boolean>;
  redo(): Promise<boolean>;
  maskBlob(options?: { convention?: MaskConvention }): Promise<Blob>;
  generate(options?: GenerateOptions): Promise<RoundReport>;
  cancel(): void;
  revert(rounds: number): Promise<void>;
  recomposite(round: number, options?: { grow?: number; feather?: number }): Promise<RoundReport>;
  toBlob(type?: 'image/png' | 'image/jpeg' | 'image/webp', quality?: number): Promise<Blob>;
  save(options?: { type?: string; quality?: number }): Promise<{ blob: Blob; provenance: Provenance }>;

  addEventListener<K extends keyof PixelkeepEventMap>(type: K, listener: (ev: PixelkeepEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap { 'pixelkeep-editor': PixelkeepEditor }
}
