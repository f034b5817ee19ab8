#!/usr/bin/env python3
"""OpenCV baselines for the inpainting benchmark, and the one combined table.

    python3 bench/inpaint_opencv.py [-v] DIR [OUT_JSON]

DIR is the work directory written by `cargo run --release --example inpaint_bench` (it holds
cases.json, the noisy inputs, the masks, the truths and pixelkeep's results). This script runs
OpenCV's Telea and Navier-Stokes inpainting (cv2.inpaint, radius 3) on the same noisy inputs and
masks, recomputes every method's metrics from the PNG files in one place (PSNR inside the hole
against the truth; texture ratio = std of the Laplacian of luminance inside the hole, result /
truth), prints one table (rows: method x hole size) and merges flat named figures into OUT_JSON
(default DIR/results.json), keeping the keys already there. -v prints every case.

Needs: pip install opencv-python-headless numpy
"""
import json
import os
import sys
import time

import cv2
import numpy as np

RADIUS = 3


def read_rgb(path):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"cannot read {path}")
    return img[:, :, ::-1].astype(np.float64)  # BGR -> RGB


def luminance(rgb):
    return 0.299 * rgb[:, :, 0] + 0.587 * rgb[:, :, 1] + 0.114 * rgb[:, :, 2]


def laplacian(lum):
    """4-neighbour Laplacian with replicated borders (same as the Rust example)."""
    p = np.pad(lum, 1, mode="edge")
    return p[1:-1, :-2] + p[1:-1, 2:] + p[:-2, 1:-1] + p[2:, 1:-1] - 4.0 * lum


def psnr(result, truth, hole):
    d = (result[hole] - truth[hole]) ** 2
    mse = float(d.mean())
    return 100.0 if mse <= 1e-10 else 10.0 * np.log10(255.0 * 255.0 / mse)


def texture_std(rgb, hole):
    return float(laplacian(luminance(rgb))[hole].std())


def main():
    if len([a for a in sys.argv[1:] if a != "-v"]) < 1:
        raise SystemExit(__doc__)
    args = [a for a in sys.argv[1:] if a != "-v"]
    verbose = "-v" in sys.argv[1:]
    work = args[0]
    out_json = args[1] if len(args) > 1 else os.path.join(work, "results.json")
    with open(os.path.join(work, "cases.json")) as f:
        manifest = json.load(f)
    cases = manifest["cases"]
    methods = ["remove", "telea", "ns", "mean"]
    agg = {}  # (method, pct) -> list of (psnr, ratio)
    times = {"telea": [], "ns": []}
    truths = {}
    check = []
    for case in cases:
        if case["truth"] not in truths:
            truths[case["truth"]] = read_rgb(os.path.join(work, case["truth"]))
        truth = truths[case["truth"]]
        mask = cv2.imread(os.path.join(work, case["mask"]), cv2.IMREAD_GRAYSCALE)
        hole = mask > 127
        noisy_bgr = cv2.imread(os.path.join(work, case["input"]), cv2.IMREAD_COLOR)
        cv_mask = (hole * 255).astype(np.uint8)
        results = {}
        for name, flag in (("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS)):
            t = time.perf_counter()
            out = cv2.inpaint(noisy_bgr, cv_mask, RADIUS, flag)
            times[name].append((time.perf_counter() - t) * 1000.0)
            cv2.imwrite(os.path.join(work, f"{case['id']}_{name}.png"), out)
            results[name] = out[:, :, ::-1].astype(np.float64)
        for name, file in case["results"].items():
            results[name] = read_rgb(os.path.join(work, file))
        truth_tex = texture_std(truth, hole)
        line = []
        for name in methods:
            if name not in results:
                continue
            p = psnr(results[name], truth, hole)
            r = texture_std(results[name], hole) / truth_tex
            agg.setdefault((name, case["pct"]), []).append((p, r))
            line.append(f"{name} {p:6.2f} dB {r:5.2f}")
        if verbose:
            print(f"{case['id']:32} " + " | ".join(line))
            rust = case.get("metrics", {}).get(name)
            if rust:
                check.append(abs(rust["psnr"] - p) + abs(rust["texture_ratio"] - r))

    if check and max(check) > 1e-3:
        print(f"warning: Rust and Python metrics differ by up to {max(check):.4f}", file=sys.stderr)

    sizes = sorted({pct for (_, pct) in agg})
    label = {"remove": "pixelkeep remove", "telea": "OpenCV Telea", "ns": "OpenCV NS", "mean": "flat mean"}
    key = {"remove": "remove", "telea": "telea", "ns": "ns", "mean": "meanfill"}
    figures = {}
    print(f"{'method':<18} {'hole':>5} {'n':>3} {'PSNR dB':>9} {'texture ratio':>14}")
    for name in methods:
        allv = []
        for pct in sizes:
            vals = agg.get((name, pct))
            if not vals:
                continue
            allv += vals
            mp = float(np.mean([v[0] for v in vals]))
            mr = float(np.mean([v[1] for v in vals]))
            figures[f"inpaint_{key[name]}_psnr_db_{pct}pct"] = round(mp, 3)
            figures[f"inpaint_{key[name]}_texture_ratio_{pct}pct"] = round(mr, 3)
            print(f"{label[name]:<18} {pct:>4}% {len(vals):>3} {mp:>9.2f} {mr:>14.3f}")
        if allv:
            figures[f"inpaint_{key[name]}_psnr_db"] = round(float(np.mean([v[0] for v in allv])), 3)
            figures[f"inpaint_{key[name]}_texture_ratio"] = round(float(np.mean([v[1] for v in allv])), 3)
            print(f"{label[name]:<18} {'all':>5} {len(allv):>3} {figures[f'inpaint_{key[name]}_psnr_db']:>9.2f} "
                  f"{figures[f'inpaint_{key[name]}_texture_ratio']:>14.3f}")
    for name in ("telea", "ns"):
        if times[name]:
            figures[f"inpaint_{name}_case_ms_mean"] = round(float(np.mean(times[name])), 3)
    rust_figs = manifest.get("figures", {})
    for k in ("inpaint_remove_case_ms_mean", "inpaint_remove_2048x1365_5pct_ms", "inpaint_remove_2048x1365_5pct_cpu_ms",
              "inpaint_remove_2048x1365_5pct_psnr_db", "inpaint_remove_2048x1365_5pct_texture_ratio"):
        if k in rust_figs:
            figures[k] = rust_figs[k]
    if "inpaint_remove_psnr_db" in figures and "inpaint_telea_psnr_db" in figures:
        figures["inpaint_remove_minus_telea_psnr_db"] = round(
            figures["inpaint_remove_psnr_db"] - figures["inpaint_telea_psnr_db"], 3)
    print(f"pixelkeep remove, 2048x1365 with a 5% hole: {rust_figs.get('inpaint_remove_2048x1365_5pct_ms', float('nan')):.0f} ms "
          f"wall (min of 3), {rust_figs.get('inpaint_remove_2048x1365_5pct_cpu_ms', float('nan')):.0f} ms CPU")
    if times["telea"]:
        print(f"per case mean: remove {rust_figs.get('inpaint_remove_case_ms_mean', float('nan')):.1f} ms, "
              f"Telea {figures['inpaint_telea_case_ms_mean']:.1f} ms, NS {figures['inpaint_ns_case_ms_mean']:.1f} ms")

    out = {}
    if os.path.exists(out_json):
        try:
            with open(out_json) as f:
                out = json.load(f)
        except (OSError, ValueError):
            out = {}
    out.update(figures)
    os.makedirs(os.path.dirname(os.path.abspath(out_json)), exist_ok=True)
    with open(out_json, "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
