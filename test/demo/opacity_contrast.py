"""For each image and box: mean display value inside the box and in the lungs outside every box.

Reads JSON from stdin: [{"path": native DICOM, "boxes": [{"x", "y", "width", "height"}]}] and prints
JSON: [{"path", "boxes": [{"inside", "lung"}]}]. Display = modality LUT, inverted for MONOCHROME1,
scaled by the image's 1st-99th percentiles, so every pixel format compares on one scale.
"""
import json
import sys

import numpy as np
import pydicom

# lung interiors that every demo geometry contains (normalised x, y): mid-zones of both lungs
LUNG_WINDOWS = [((0.24, 0.36), (0.30, 0.50)), ((0.64, 0.76), (0.30, 0.50))]

results = []
for item in json.load(sys.stdin):
    ds = pydicom.dcmread(item["path"])
    bits = int(ds.BitsStored)
    stored = ds.pixel_array.astype(np.int64) & ((1 << bits) - 1)
    value = stored * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
    if ds.PhotometricInterpretation == "MONOCHROME1":
        value = -value
    low, high = np.percentile(value, [1, 99])
    display = (value - low) / (high - low)
    rows, cols = display.shape
    ys, xs = np.mgrid[0:rows, 0:cols]
    cx, cy = xs + 0.5, ys + 0.5  # pixel centres, as the renderer uses them
    in_any_box = np.zeros(display.shape, bool)
    box_masks = []
    for b in item["boxes"]:
        m = (cx > b["x"]) & (cx < b["x"] + b["width"]) & (cy > b["y"]) & (cy < b["y"] + b["height"])
        box_masks.append(m)
        in_any_box |= m
    lung = np.zeros(display.shape, bool)
    for (u0, u1), (v0, v1) in LUNG_WINDOWS:
        lung |= (cx > u0 * cols) & (cx < u1 * cols) & (cy > v0 * rows) & (cy < v1 * rows)
    lung &= ~in_any_box
    lung_mean = float(display[lung].mean())
    results.append({"path": item["path"], "boxes": [{"inside": float(display[m].mean()), "lung": lung_mean} for m in box_masks]})
print(json.dumps(results))
