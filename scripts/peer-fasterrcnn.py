"""The peer CXR Studio is measured against (issue 4, "The peer to beat"; issue 12, "at the peer's best"):
torchvision's Faster R-CNN MobileNetV3-Large-FPN trained for a fixed wall-clock budget on the CPU, the
seed post's detection-only way, on a Kaggle-layout folder; then a Kaggle submission for its test/ split.
From scratch (no internet, as CXR Studio), unless torchvision's ImageNet backbone file is already in
the local torch cache ($TORCH_HOME/hub/checkpoints), when it fine-tunes that.

Run with Debian's Python (python3-torch, python3-torchvision, python3-pydicom):
  /usr/bin/python3 scripts/peer-fasterrcnn.py DEMO_DIR --out submission.csv [--minutes 15] [--size 256]
Score the result with `cxr-studio score DEMO_DIR --submission submission.csv --truth test`.

Pixels: every file is first transcoded to explicit little endian with gdcmconv --raw (pydicom alone
cannot decode JPEG-LS / JPEG 2000 here), then modality LUT -> VOI (file window, else 0.5-99.5
percentiles) -> MONOCHROME1 inverted -> letterboxed to SIZE, as CXR Studio prepares its inputs.
Detection only, four box classes: every opacity box carries the study class of its image's study
(typical / indeterminate / atypical / negative), so the detector also learns the study class.
Study rows: each positive class = the best box score of that class over the study's images;
negative = 1 - the best box score of any class. Image rows: every box as opacity (class-agnostic NMS
at IoU 0.5 merges the per-class copies of one region), and none = 1 - the best box score.
Schedule for a wall-clock budget: torchvision's detection reference recipe scaled to it - SGD
(momentum 0.9, weight decay 1e-4) at lr 0.01 (the reference's 0.02 for batch 16, linearly scaled to
batch 8), linear warm-up over the first 50 steps (the reference's 1000 would be most of a 15-minute
CPU budget), then cosine decay to zero at the deadline in place of the reference's steps at ~60% and
~85% of training (by time, since the number of steps the budget allows is not known in advance);
the budget includes reading the DICOMs.
Second-stage sampling: 128 regions per image (--box-batch) in place of torchvision's 512. On this CPU a
batch of 8 at 256 px took 8.6 s with 512, 44% of it in torchvision's single-threaded RoIAlign backward
and 37% in the box head's two 1024-wide layers, both linear in the sampled regions; with 128 it takes
2.9 s (2.7 images/s, the issue's peer saw 3.2), so the peer gets three times the steps in its minutes.
With one to three opacities per image, 128 regions still hold every positive proposal (at most 25%
are positives, as in torchvision).
These defaults scored best on the hard demo, seed 42, 10 minutes (final 0.325), against SGD at lr 0.02
(0.284), AdamW at lr 1e-3 (--optimizer adamw, 0.307) and anchors of 16-256 px (--anchor-sizes, 0.293).
The last line on stdout is a JSON summary (steps, epochs, images seen, seconds, backbone weights).
"""
import argparse
import ast
import json
import math
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
from torchvision.models import MobileNet_V3_Large_Weights
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import nms

STUDY_COLUMNS = ['negative', 'typical', 'indeterminate', 'atypical']
# box label k + 1 (0 is the background) = the study class STUDY_COLUMNS[k] of the box's study
BOX_CLASSES = STUDY_COLUMNS


def local_backbone_weights():
    """torchvision's ImageNet MobileNetV3-Large weights when a previous download left them in the cache."""
    weights = MobileNet_V3_Large_Weights.IMAGENET1K_V1
    cache = os.path.join(torch.hub.get_dir(), 'checkpoints', os.path.basename(weights.url))
    return (weights, cache) if os.path.exists(cache) else (None, None)


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
    parser.add_argument('--optimizer', choices=['sgd', 'adamw'], default='sgd',
                        help='sgd: the reference recipe (momentum 0.9, weight decay 1e-4); adamw: weight decay 1e-4')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--warmup-steps', type=int, default=50)
    parser.add_argument('--anchor-sizes', default='32,64,128,256,512',
                        help="the RPN's anchor sizes in input pixels (torchvision's are for 800 px inputs)")
    parser.add_argument('--box-batch', type=int, default=128, help='regions sampled per image for the box head')
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
    for item in train:
        # a box of a study without a study label (none in the Kaggle set) counts as typical
        label = study_class.get(item['study']) or 'typical'
        item['labels'] = [BOX_CLASSES.index(label) + 1] * len(item['boxes'])
    print(f'{len(train)} training images loaded in {time.time() - start:.1f} s', file=sys.stderr)

    backbone_weights, backbone_file = local_backbone_weights()
    print(f'loaded: backbone {"ImageNet weights from " + backbone_file if backbone_file else "random initialisation (no local ImageNet file)"}', file=sys.stderr)
    model = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=backbone_weights,
                                              num_classes=len(BOX_CLASSES) + 1, min_size=args.size, max_size=args.size,
                                              box_batch_size_per_image=args.box_batch)
    anchor_sizes = tuple(int(v) for v in args.anchor_sizes.split(','))
    if len(anchor_sizes) != 5:
        parser.error('--anchor-sizes: five sizes, one per aspect ratio set (0.5, 1, 2) x 5 = 15 anchors per cell')
    # the same 15 anchors per cell, so the RPN head's shapes do not change
    model.rpn.anchor_generator = AnchorGenerator((anchor_sizes,) * 3, ((0.5, 1.0, 2.0),) * 3)
    params = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == 'sgd':
        optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=1e-4)
    else:
        optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    deadline = start + args.minutes * 60
    train_start = time.time()
    step = 0
    epoch = 0
    images_seen = 0
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
                box_labels = torch.tensor(item['labels'], dtype=torch.int64)
                if random.random() < 0.5:
                    image = image.flip(-1)
                    boxes = torch.stack([args.size - boxes[:, 2], boxes[:, 1], args.size - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) else boxes
                images.append(image[None].expand(3, -1, -1))
                targets.append({'boxes': boxes, 'labels': box_labels})
            warmup = min(1.0, (step + 1) / args.warmup_steps)
            progress = min(1.0, (time.time() - train_start) / max(deadline - train_start, 1e-6))
            for group in optimizer.param_groups:
                group['lr'] = args.lr * warmup * 0.5 * (1 + math.cos(math.pi * progress))
            losses = model(images, targets)
            loss = sum(losses.values())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            optimizer.step()
            step += 1
            images_seen += len(images)
            if step % 10 == 0:
                print(f'epoch {epoch} step {step} loss {loss.item():.4f} lr {optimizer.param_groups[0]["lr"]:.5f} ({time.time() - start:.0f} s)', file=sys.stderr)
        epoch += 1
    train_seconds = time.time() - start
    print(f'trained {step} steps ({epoch} epochs, {images_seen} images) in {train_seconds:.0f} s', file=sys.stderr)

    model.eval()
    model.roi_heads.score_thresh = 0.01
    test = load_split(args.root, 'test', args.size)
    rows_study, rows_image, best = [], [], {}
    with torch.no_grad():
        for item in test:
            out = model([item['image'][None].expand(3, -1, -1)])[0]
            study_best = best.setdefault(item['study'], [0.0] * len(BOX_CLASSES))
            for label, score in zip(out['labels'].tolist(), out['scores'].tolist()):
                study_best[label - 1] = max(study_best[label - 1], score)
            # one opacity per region: the per-class copies of a box would be false positives
            keep = nms(out['boxes'], out['scores'], 0.5)
            sx, sy, ox, oy, w, h = item['geometry']
            parts = []
            top = 0.0
            for box, score in zip(out['boxes'][keep].tolist(), out['scores'][keep].tolist()):
                x1, y1 = max(0, (box[0] - ox) / sx), max(0, (box[1] - oy) / sy)
                x2, y2 = min(w, (box[2] - ox) / sx), min(h, (box[3] - oy) / sy)
                if x2 - x1 >= 1 and y2 - y1 >= 1:
                    parts.append(f'opacity {score:.6f} {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f}')
                    top = max(top, score)
            parts.append(f'none {1 - top:.6f} 0 0 1 1')
            rows_image.append((f"{item['id']}_image", ' '.join(parts)))
    for study, per_class in sorted(best.items()):
        # every box counts against negative, whatever its class (negative studies have no boxes)
        probs = [1 - max(per_class)] + per_class[1:]
        rows_study.append((f'{study}_study', ' '.join(f'{c} {v:.6f} 0 0 1 1' for c, v in zip(STUDY_COLUMNS, probs))))
    with open(args.out, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['id', 'PredictionString'])
        writer.writerows(rows_study + rows_image)
    print(f'wrote {args.out} ({len(rows_study)} study rows, {len(rows_image)} image rows) after {time.time() - start:.0f} s', file=sys.stderr)
    print(json.dumps({'steps': step, 'epochs': epoch, 'imagesSeen': images_seen, 'trainSeconds': round(train_seconds, 1),
                      'loadSeconds': round(train_start - start, 1),
                      'totalSeconds': round(time.time() - start, 1), 'trainImages': len(train), 'lr': args.lr, 'optimizer': args.optimizer,
                      'batchSize': args.batch_size, 'boxBatch': args.box_batch, 'anchorSizes': list(anchor_sizes), 'threads': args.threads, 'seed': args.seed,
                      'backboneWeights': backbone_file or 'random'}))


if __name__ == '__main__':
    main()
