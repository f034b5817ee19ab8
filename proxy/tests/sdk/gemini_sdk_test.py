#!/usr/bin/env python3
"""The official Google SDK (google-genai) against pixelkeep's Gemini-compatible endpoint.

Edits the coffee fixture with a bounding-box instruction through a running proxy that has no
Gemini key (so the local engine answers), then checks the pixels: inside the box dark blue,
outside byte-identical to the original.

    pip install -r proxy/tests/sdk/requirements.txt
    PIXELKEEP_URL=http://127.0.0.1:8080 python3 proxy/tests/sdk/gemini_sdk_test.py
"""
import io
import os
import sys
from pathlib import Path

from google import genai
from google.genai import types
from PIL import Image

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parents[3] / "shared" / "fixtures" / "coffee.png"
BOX = (200, 150, 600, 700)  # ymin, xmin, ymax, xmax, 0-1000
DARK_BLUE = (0, 0, 139)


def fail(why: str) -> None:
    print(f"FAIL: {why}")
    sys.exit(1)


def main() -> None:
    url = os.environ.get("PIXELKEEP_URL", "http://127.0.0.1:8080")
    photo = FIXTURE.read_bytes()
    # The SDK needs some key; the proxy never forwards it (it uses its own, or none).
    client = genai.Client(api_key="dummy-key", http_options=types.HttpOptions(base_url=url))
    response = client.models.generate_content(
        model="gemini-2.5-flash-image",
        contents=[
            types.Part.from_bytes(data=photo, mime_type="image/png"),
            f"Within the bounding box [{', '.join(map(str, BOX))}] of the image, fill with dark blue",
        ],
        config=types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"]),
    )
    candidate = response.candidates[0]
    if candidate.finish_reason != types.FinishReason.STOP:
        fail(f"finish reason {candidate.finish_reason}")
    images = [p.inline_data.data for p in candidate.content.parts if p.inline_data is not None]
    if not images:
        fail("no image in the answer")

    original = Image.open(io.BytesIO(photo)).convert("RGB")
    result = Image.open(io.BytesIO(images[-1])).convert("RGB")
    if result.size != original.size:
        fail(f"size {result.size} != {original.size}")
    w, h = original.size
    # The box rounded outward to pixels, as the core does.
    left, top = BOX[1] * w // 1000, BOX[0] * h // 1000
    right, bottom = -(-BOX[3] * w // 1000), -(-BOX[2] * h // 1000)
    a, b = original.load(), result.load()
    inside_wrong = outside_changed = 0
    for y in range(h):
        for x in range(w):
            if left <= x < right and top <= y < bottom:
                inside_wrong += b[x, y] != DARK_BLUE
            else:
                outside_changed += b[x, y] != a[x, y]
    if inside_wrong or outside_changed:
        fail(f"{inside_wrong} pixels inside the box are not dark blue, {outside_changed} outside changed")
    print(f"PASS: google-genai edited {w}x{h} through {url}: "
          f"{(right - left) * (bottom - top)} pixels dark blue, the other {w * h - (right - left) * (bottom - top)} unchanged")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # an SDK or connection error is a failure, said plainly
        fail(f"{type(e).__name__}: {e}")
