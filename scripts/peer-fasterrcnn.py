"""The peer CXR Studio is measured against (issue 4, "The peer to beat"): torchvision's Faster R-CNN
MobileNetV3-Large-FPN trained from scratch for a fixed wall-clock budget on the CPU, the seed post's
detection-only way, on a Kaggle-layout folder; then a Kaggle submission for its test/ split.

Run with Debian's Python (python3-torch, python3-torchvision, python3-pydicom):
  /usr/bin/python3 scripts/peer-fasterrcnn.py DEMO_DIR --out submission.csv [--minutes 15] [--size 256]
Score the result with `cxr-studio score DEMO_DIR --submission submission.csv --truth test`.

Pixels: every file is first transcoded to explicit little endian with gdcmconv --raw (pydicom alone
cannot decode JPEG-LS / JPEG 2000 here), then modality LUT -> VOI (file window, else 0.5-99.5
percentiles) -> MONOCHROME1 inverted -> letterboxed to SIZE, as CXR Studio prepares its inputs.
Study rows (detection-only): p = the best box score over the study's images; negative 1 - p, and
the positive classes share p by their training frequencies. Image rows: boxes, and none = 1 - p.
"""
import argparse
import ast
import csv
import os
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import pydicom
import torch
import torch.nn.functional as F
from pydicom.pixel_data_handlers.util import apply_modality_lut
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn

STUDY_COLUMNS = ['negative', 'typical', 'indeterminate', 'atypical']


def read_pixels(path, workdir):
    raw = os.path.join(workdir, 'raw.dcm')
    subprocess.run(['gdcmconv', '--raw', path, raw], check=True, capture_output=True)
    ds = pydicom.dcmread(raw)
    values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    center, width = ds.get('WindowCenter'), ds.get('WindowWidth')
    if center is not None and width is not None:
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        low, high = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    else:
        low, high = np.percentile(values, [0.5, 99.5])
    image = np.clip((values - low) / max(high - low, 1e-6), 0, 1)
    if ds.PhotometricInterpretation == 'MONOCHROME1':
        image = 1 - image
    return image.astype(np.float32)


def letterbox(image, size):
    h, w = image.shape
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = F.interpolate(torch.from_numpy(image)[None, None], size=(nh, nw), mode='area')[0, 0]
    out = torch.zeros(size, size)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    out[oy:oy + nh, ox:ox + nw] = resized
    return out, (nw / w, nh / h, ox, oy)


def find_images(root, split):
    found = {}
    for dirpath, _, files in os.walk(os.path.join(root, split)):
        for name in files:
            if name.endswith('.dcm'):
                study = os.path.relpath(dirpath, os.path.join(root, split)).split(os.sep)[0]
                found[name[:-4]] = (study, os.path.join(dirpath, name))
    return found


def load_split(root, split, size, labels=None):
    items = []
    with tempfile.TemporaryDirectory() as workdir:
        for image_id, (study, path) in sorted(find_images(root, split).items()):
            pixels = read_pixels(path, workdir)
            h, w = pixels.shape
            tensor, (sx, sy, ox, oy) = letterbox(pixels, size)
            boxes = []
            for b in (labels or {}).get(image_id, []):
                boxes.append([b['x'] * sx + ox, b['y'] * sy + oy, (b['x'] + b['width']) * sx + ox, (b['y'] + b['height']) * sy + oy])
            items.append({'id': image_id, 'study': study, 'image': tensor, 'boxes': boxes, 'geometry': (sx, sy, ox, oy, w, h)})
    return items


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('root')
    parser.add_argument('--out', required=True)
    parser.add_argument('--minutes', type=float, default=15)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seed', type=int, default=42)
    args = parser.parse_args()
    start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)

    labels = {}
    with open(os.path.join(args.root, 'train_image_level.csv')) as f:
        for row in csv.DictReader(f):
            labels[row['id'][:-len('_image')]] = ast.literal_eval(row['boxes']) if row['boxes'] else []
    study_class = {}
    with open(os.path.join(args.root, 'train_study_level.csv')) as f:
        for row in csv.reader(f):
            if row[0] == 'id':
                continue
            study_class[row[0][:-len('_study')]] = STUDY_COLUMNS[[int(v) for v in row[1:]].index(1)] if '1' in row[1:] else None
    train = load_split(args.root, 'train', args.size, labels)
    # the organisers' duplicate rule (CXR Studio's keep-boxed policy)
    boxed_studies = {item['study'] for item in train if item['boxes']}
    train = [item for item in train if item['boxes'] or item['study'] not in boxed_studies]
    priors = {c: sum(1 for s in {i['study'] for i in train} if study_class.get(s) == c) for c in STUDY_COLUMNS}
    positives = sum(priors[c] for c in STUDY_COLUMNS[1:]) or 1
    print(f'{len(train)} training images loaded in {time.time() - start:.1f} s', file=sys.stderr)

    model = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=2, min_size=args.size, max_size=args.size)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=1e-4)
    deadline = start + args.minutes * 60
    step = 0
    epoch = 0
    model.train()
    while time.time() < deadline:
        order = list(range(len(train)))
        random.shuffle(order)
        for i in range(0, len(order), args.batch_size):
            if time.time() >= deadline:
                break
            images, targets = [], []
            for k in order[i:i + args.batch_size]:
                item = train[k]
                image = item['image']
                boxes = torch.tensor(item['boxes'], dtype=torch.float32).reshape(-1, 4)
                if random.random() < 0.5:
                    image = image.flip(-1)
                    boxes = torch.stack([args.size - boxes[:, 2], boxes[:, 1], args.size - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) else boxes
                images.append(image[None].expand(3, -1, -1))
                targets.append({'boxes': boxes, 'labels': torch.ones(len(boxes), dtype=torch.int64)})
            warmup = min(1.0, (step + 1) / 50)
            for group in optimizer.param_groups:
                group['lr'] = args.lr * warmup
            losses = model(images, targets)
            loss = sum(losses.values())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            optimizer.step()
            step += 1
            if step % 10 == 0:
                print(f'epoch {epoch} step {step} loss {loss.item():.4f} ({time.time() - start:.0f} s)', file=sys.stderr)
        epoch += 1
    print(f'trained {step} steps ({epoch} epochs) in {time.time() - start:.0f} s', file=sys.stderr)

    model.eval()
    model.roi_heads.score_thresh = 0.01
    test = load_split(args.root, 'test', args.size)
    rows_study, rows_image, best = [], [], {}
    with torch.no_grad():
        for item in test:
            out = model([item['image'][None].expand(3, -1, -1)])[0]
            sx, sy, ox, oy, w, h = item['geometry']
            parts = []
            top = 0.0
            for box, score in zip(out['boxes'].tolist(), out['scores'].tolist()):
                x1, y1 = max(0, (box[0] - ox) / sx), max(0, (box[1] - oy) / sy)
                x2, y2 = min(w, (box[2] - ox) / sx), min(h, (box[3] - oy) / sy)
                if x2 - x1 >= 1 and y2 - y1 >= 1:
                    parts.append(f'opacity {score:.6f} {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f}')
                    top = max(top, score)
            parts.append(f'none {1 - top:.6f} 0 0 1 1')
            rows_image.append((f"{item['id']}_image", ' '.join(parts)))
            best[item['study']] = max(best.get(item['study'], 0.0), top)
    for study, p in sorted(best.items()):
        probs = [1 - p] + [p * priors[c] / positives for c in STUDY_COLUMNS[1:]]
        rows_study.append((f'{study}_study', ' '.join(f'{c} {v:.6f} 0 0 1 1' for c, v in zip(STUDY_COLUMNS, probs))))
    with open(args.out, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['id', 'PredictionString'])
        writer.writerows(rows_study + rows_image)
    print(f'wrote {args.out} ({len(rows_study)} study rows, {len(rows_image)} image rows) after {time.time() - start:.0f} s', file=sys.stderr)


if __name__ == '__main__':
    main()
