"""Real ONNX models made here for `cxr-studio import-model` (issue 13, point 2), and what PyTorch
predicts with them, so the TypeScript side can be compared with the engine that made them.

Run with Debian's Python (python3-torch 1.13, python3-torchvision 0.14) from the repository root,
after `npm run build:node` (the display pixels come from the app's own `cxr-studio decode --display`):
  /usr/bin/python3 scripts/make-onnx-fixtures.py [--out test/fixtures/onnx-import] [--minutes 4]

It writes into --out:
  fasterrcnn.onnx  torchvision FasterRCNN with a tiny conv backbone (stride 16, 64 channels), trained for
                   --minutes on the demo's train images (`cxr-studio demo`, seed 42, 40 + 12 studies),
                   exported with torch.onnx.export (opset 11): input `images` [3, H, W] float 0-1,
                   outputs boxes [N, 4] (x1 y1 x2 y2, input pixels), labels [N] int64, scores [N]
  yolov5.onnx      a few convs emitting exactly the YOLOv5 layout: images [1, 3, S, S] -> [1, N, 5 + nc]
                   (cx, cy, w, h in input pixels, objectness, class scores), nc = 2
  yolov8.onnx      the same for YOLOv8: [1, 4 + nc, N] (cx, cy, w, h, class scores; no objectness), nc = 1
  study.onnx       a study-level classifier: images [1, 3, S, S] -> study [1, 4] probabilities
                   (negative, typical, indeterminate, atypical) and none [1, 1]; its reference is on
                   the YOLO input (padding 114), as it is imported beside yolov8.onnx
  references.json  per model, per demo test image: the detections PyTorch makes, after the same
                   post-processing CXR Studio applies, in original DICOM pixels

Model input, exactly as CXR Studio prepares it (main/ml/imported/preprocess.ts):
  DICOM -> the app's display pixels (`cxr-studio decode --display`: modality LUT, VOI from the file's
  window else the 0.5-99.5 percentiles, MONOCHROME1 inverted) -> letterbox to S x S (common/pixels
  resizeGray: area averaging when shrinking, bilinear when enlarging, rounded to uint8; centred at
  floor((S - w) / 2), floor((S - h) / 2)) -> padding 114 for YOLO, 0 for torchvision -> / 255 ->
  the grey channel repeated as R, G, B.
Post-processing (main/ml/imported/decode.ts): YOLOv5 conf = objectness x best class score (Ultralytics'
non_max_suppression with multi_label=False), YOLOv8 conf = best class score; boxes cx,cy,w,h ->
x1,y1,x2,y2; only opacity classes kept; conf >= 0.02; class-wise NMS at IoU 0.5 (torchvision.ops
.batched_nms); the 30 best; undo the letterbox ((v - offset) / scale), clip to the image, drop boxes
under 1 px a side.
"""
import argparse
import ast
import csv
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign, batched_nms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, 'bin', 'cxr-studio.mjs')
SIZE = 320
SCORE_THRESHOLD = 0.02
# a Faster R-CNN trained for minutes on 43 images is unsure: its boxes are kept from 0.005 (import it
# with --score-threshold 0.005), so the comparison has boxes to compare
RCNN_SCORE_THRESHOLD = 0.005
IOU_THRESHOLD = 0.5
MAX_DETECTIONS = 30
DEMO = {'studies': 40, 'testStudies': 12, 'seed': 42}


# --- the app's preprocessing, ported from common/pixels/resize.ts ---------------------------------

def axis_weights(src_n, dst_n):
    """The dense [dst_n, src_n] matrix of resize.ts's axisFilter (float32 weights, as there)."""
    scale = src_n / dst_n
    stride = int(np.ceil(scale)) + 1 if scale > 1 else 2
    m = np.zeros((dst_n, src_n), dtype=np.float64)
    for d in range(dst_n):
        if scale > 1:
            lo = d * scale
            hi = min(src_n, lo + scale)
            s = int(np.floor(lo))
            n = 0
            while s < hi and n < stride:
                m[d, s] = np.float32((min(hi, s + 1) - max(lo, s)) / scale)
                s += 1
                n += 1
        else:
            x = min(src_n - 1, max(0.0, (d + 0.5) * scale - 0.5))
            first = min(src_n - 1, int(np.floor(x)))
            frac = x - first
            if first + 1 < src_n:
                m[d, first] = np.float32(1 - frac)
                m[d, first + 1] = np.float32(frac)
            else:
                m[d, first] = 1.0
    return m


def resize_gray(src, dst_w, dst_h):
    h, w = src.shape
    rows = (src.astype(np.float64) @ axis_weights(w, dst_w).T).astype(np.float32)
    out = axis_weights(h, dst_h) @ rows.astype(np.float64)
    return np.floor(out + 0.5).clip(0, 255).astype(np.uint8)  # Math.round


def letterbox(display, size, fill):
    h, w = display.shape
    scale = min(size / w, size / h)
    nw = max(1, min(size, round_half_up(w * scale)))
    nh = max(1, min(size, round_half_up(h * scale)))
    ox, oy = (size - nw) // 2, (size - nh) // 2
    out = np.full((size, size), fill, dtype=np.uint8)
    out[oy:oy + nh, ox:ox + nw] = resize_gray(display, nw, nh)
    return out, {'scaleX': nw / w, 'scaleY': nh / h, 'offsetX': ox, 'offsetY': oy, 'width': w, 'height': h}


def round_half_up(v):
    return int(np.floor(v + 0.5))


def display_pixels(dicom, workdir, cache=None):
    if cache:
        cached = os.path.join(cache, hashlib.sha256(open(dicom, 'rb').read()).hexdigest() + '.npy')
        if os.path.exists(cached):
            return np.load(cached)
    npy = os.path.join(workdir, 'display.npy')
    subprocess.run(['node', CLI, '--workspace', os.path.join(workdir, 'ws'), 'decode', dicom, '--display',
                    '--npy', npy, '--no-cache'], check=True, capture_output=True)
    if cache:
        os.makedirs(cache, exist_ok=True)
        os.replace(npy, cached)
        return np.load(cached)
    return np.load(npy)


def model_input(letterboxed):
    """uint8 S x S -> float 0-1, the grey channel repeated as RGB: [3, S, S]."""
    return torch.from_numpy(letterboxed.astype(np.float32) / 255.0)[None].expand(3, -1, -1).contiguous()


# --- the demo dataset -----------------------------------------------------------------------------

def find_images(root, split):
    found = []
    for dirpath, _, files in os.walk(os.path.join(root, split)):
        for name in files:
            if name.endswith('.dcm'):
                study = os.path.relpath(dirpath, os.path.join(root, split)).split(os.sep)[0]
                found.append((name[:-4], study, os.path.join(dirpath, name)))
    return sorted(found)


def load_split(root, split, workdir, labels=None, cache=None):
    items = []
    for image_id, study, path in find_images(root, split):
        display = display_pixels(path, workdir, cache)
        boxed, g = letterbox(display, SIZE, 0)
        padded, _ = letterbox(display, SIZE, 114)
        boxes = [[b['x'] * g['scaleX'] + g['offsetX'], b['y'] * g['scaleY'] + g['offsetY'],
                  (b['x'] + b['width']) * g['scaleX'] + g['offsetX'], (b['y'] + b['height']) * g['scaleY'] + g['offsetY']]
                 for b in (labels or {}).get(image_id, [])]
        items.append({'id': image_id, 'study': study, 'black': boxed, 'grey': padded, 'boxes': boxes, 'geometry': g})
    return items


# --- the models -----------------------------------------------------------------------------------

def conv(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TinyBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(conv(3, 16, 2), conv(16, 32, 2), conv(32, 48, 2), conv(48, 64, 2))
        self.out_channels = 64

    def forward(self, x):
        return self.body(x)


def faster_rcnn():
    return FasterRCNN(
        TinyBackbone(), num_classes=None, min_size=SIZE, max_size=SIZE,
        rpn_anchor_generator=AnchorGenerator(sizes=((16, 32, 64, 128),), aspect_ratios=((0.5, 1.0, 2.0),)),
        box_roi_pool=MultiScaleRoIAlign(featmap_names=['0'], output_size=7, sampling_ratio=2),
        box_head=TwoMLPHead(64 * 7 * 7, 96), box_predictor=FastRCNNPredictor(96, 2),
        # fewer, more positive RoI/anchor samples: a few hundred steps on 43 images learn the foreground
        rpn_batch_size_per_image=64, box_batch_size_per_image=64, box_positive_fraction=0.5,
        box_score_thresh=0.001, box_detections_per_img=50)


class TinyYolo(nn.Module):
    """Stride-8 grid, one anchor per cell, decoded as YOLOv5 does (xy = (2 sigmoid - 0.5 + grid) * stride,
    wh = (2 sigmoid)^2 * anchor); emits [1, N, 5 + nc] (v5) or [1, 4 + nc, N] (v8)."""

    def __init__(self, nc, layout):
        super().__init__()
        self.layout = layout
        self.body = nn.Sequential(conv(3, 8, 2), conv(8, 16, 2), conv(16, 24, 2))
        self.head = nn.Conv2d(24, (5 if layout == 'yolov5' else 4) + nc, 1)
        self.stride = 8
        self.anchor = 40.0
        # a small ramp over the grid cells: the letterbox padding is constant, so without it every cell
        # there scores exactly the same and which of the tied boxes NMS keeps is arbitrary (and differs
        # between torchvision's nms and any other); with it every score is distinct
        cells = SIZE // self.stride
        ramp = torch.arange(cells * cells, dtype=torch.float32).reshape(1, 1, cells, cells) / (cells * cells)
        self.register_buffer('position', 0.05 * ramp)

    def forward(self, x):
        p = (self.head(self.body(x)) + self.position).sigmoid()
        _, _, gh, gw = p.shape
        gy, gx = torch.meshgrid(torch.arange(gh, dtype=torch.float32), torch.arange(gw, dtype=torch.float32), indexing='ij')
        cx = (p[:, 0] * 2 - 0.5 + gx) * self.stride
        cy = (p[:, 1] * 2 - 0.5 + gy) * self.stride
        w = (p[:, 2] * 2) ** 2 * self.anchor
        h = (p[:, 3] * 2) ** 2 * self.anchor
        out = torch.cat([torch.stack([cx, cy, w, h], 1), p[:, 4:]], 1).flatten(2)  # [1, C, N]
        return out.permute(0, 2, 1) if self.layout == 'yolov5' else out


class TinyStudy(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(conv(3, 8, 4), conv(8, 16, 4), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.study = nn.Linear(16, 4)
        self.none = nn.Linear(16, 1)

    def forward(self, x):
        f = self.body(x)
        return self.study(f).softmax(1), self.none(f).sigmoid()


def train_faster_rcnn(model, train, minutes, log):
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.02, momentum=0.9, weight_decay=1e-4)
    deadline = time.time() + minutes * 60
    step = 0
    model.train()
    while time.time() < deadline:
        order = list(range(len(train)))
        random.shuffle(order)
        for i in range(0, len(order), 4):
            if time.time() >= deadline:
                break
            images, targets = [], []
            for k in order[i:i + 4]:
                item = train[k]
                images.append(model_input(item['black']))
                boxes = torch.tensor(item['boxes'], dtype=torch.float32).reshape(-1, 4)
                targets.append({'boxes': boxes, 'labels': torch.ones(len(boxes), dtype=torch.int64)})
            for group in optimizer.param_groups:
                group['lr'] = 0.02 * min(1.0, (step + 1) / 30)
            loss = sum(model(images, targets).values())
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            optimizer.step()
            step += 1
            if step % 10 == 0:
                log(f'faster r-cnn step {step} loss {loss.item():.4f}')
    model.eval()
    return step


# --- reference post-processing (what main/ml/imported/decode.ts must reproduce) --------------------

def finish(boxes, scores, labels, g, threshold=SCORE_THRESHOLD):
    """Threshold, class-wise NMS, top 30, back to original pixels; boxes in input pixels."""
    keep = scores >= threshold
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    kept = batched_nms(boxes, scores, labels, IOU_THRESHOLD)[:MAX_DETECTIONS]
    out = []
    for k in kept.tolist():
        x1, y1, x2, y2 = boxes[k].tolist()
        fx = lambda v: min(g['width'], max(0.0, (v - g['offsetX']) / g['scaleX']))
        fy = lambda v: min(g['height'], max(0.0, (v - g['offsetY']) / g['scaleY']))
        b = [fx(x1), fy(y1), fx(x2), fy(y2)]
        if b[2] - b[0] >= 1 and b[3] - b[1] >= 1:
            out.append({'x1': b[0], 'y1': b[1], 'x2': b[2], 'y2': b[3], 'confidence': float(scores[k])})
    return out


def yolo_detections(raw, layout, opacity, g):
    rows = raw[0] if layout == 'yolov5' else raw[0].T  # [N, C]
    xywh = rows[:, :4]
    if layout == 'yolov5':
        cls_conf, j = (rows[:, 5:] * rows[:, 4:5]).max(1)
    else:
        cls_conf, j = rows[:, 4:].max(1)
    boxes = torch.stack([xywh[:, 0] - xywh[:, 2] / 2, xywh[:, 1] - xywh[:, 3] / 2,
                         xywh[:, 0] + xywh[:, 2] / 2, xywh[:, 1] + xywh[:, 3] / 2], 1)
    keep = torch.tensor([int(c) in opacity for c in j.tolist()], dtype=torch.bool)
    return finish(boxes[keep], cls_conf[keep], torch.zeros(int(keep.sum()), dtype=torch.int64), g)


def torchvision_detections(out, g):
    keep = out['labels'] >= 1  # 0 is background; every foreground label is opacity (one-class model)
    return finish(out['boxes'][keep], out['scores'][keep], torch.zeros(int(keep.sum()), dtype=torch.int64), g,
                  RCNN_SCORE_THRESHOLD)


def export(model, example, path, inputs, outputs, dynamic=None):
    torch.onnx.export(model, example, path, opset_version=11, input_names=inputs, output_names=outputs,
                      dynamic_axes=dynamic, do_constant_folding=True)


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--out', default=os.path.join(ROOT, 'test', 'fixtures', 'onnx-import'))
    parser.add_argument('--minutes', type=float, default=4)
    # one thread: on a loaded machine two OpenMP threads spin against each other (measured 26 s a step)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--display-cache', help='keep the display pixels of each DICOM here between runs')
    parser.add_argument('--weights', help='Faster R-CNN weights: loaded when the file exists (no training), else saved there after training')
    args = parser.parse_args()
    start = time.time()
    log = lambda message: print(f'[{time.time() - start:6.1f} s] {message}', file=sys.stderr, flush=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    os.makedirs(args.out, exist_ok=True)

    with tempfile.TemporaryDirectory() as workdir:
        root = os.path.join(workdir, 'demo')
        subprocess.run(['node', CLI, 'demo', root, '--studies', str(DEMO['studies']), '--test-studies',
                        str(DEMO['testStudies']), '--seed', str(DEMO['seed'])], check=True, capture_output=True)
        labels = {}
        with open(os.path.join(root, 'train_image_level.csv')) as f:
            for row in csv.DictReader(f):
                labels[row['id'][:-len('_image')]] = ast.literal_eval(row['boxes']) if row['boxes'] else []
        train = load_split(root, 'train', workdir, labels, args.display_cache)
        test = load_split(root, 'test', workdir, cache=args.display_cache)
        log(f'{len(train)} train and {len(test)} test images prepared')

        rcnn = faster_rcnn()
        if args.weights and os.path.exists(args.weights):
            saved = torch.load(args.weights)
            rcnn.load_state_dict(saved['model'])
            rcnn.eval()
            steps = saved['steps']
        else:
            steps = train_faster_rcnn(rcnn, train, args.minutes, log)
            if args.weights:
                torch.save({'model': rcnn.state_dict(), 'steps': steps}, args.weights)
        yolov5, yolov8, study = TinyYolo(2, 'yolov5').eval(), TinyYolo(1, 'yolov8').eval(), TinyStudy().eval()
        with torch.no_grad():  # class 1 (not opacity) wins on some cells only, so both branches are exercised
            yolov5.head.bias[6] -= 1.0
        example = model_input(test[0]['grey'])[None]
        files = {name: os.path.join(args.out, f'{name}.onnx') for name in ['fasterrcnn', 'yolov5', 'yolov8', 'study']}
        export(rcnn, ([model_input(test[0]['black'])],), files['fasterrcnn'], ['images'], ['boxes', 'labels', 'scores'],
               {'images': [1, 2], 'boxes': [0], 'labels': [0], 'scores': [0]})
        export(yolov5, example, files['yolov5'], ['images'], ['output0'])
        export(yolov8, example, files['yolov8'], ['images'], ['output0'])
        export(study, example, files['study'], ['images'], ['study', 'none'])
        log('exported ' + ', '.join(f'{os.path.basename(p)} {os.path.getsize(p) / 1e6:.2f} MB' for p in files.values()))

        references = {'fasterrcnn': {}, 'yolov5': {}, 'yolov8': {}, 'study': {}}
        with torch.no_grad():
            for item in test:
                g = item['geometry']
                black, grey = model_input(item['black']), model_input(item['grey'])
                references['fasterrcnn'][item['id']] = torchvision_detections(rcnn([black])[0], g)
                references['yolov5'][item['id']] = yolo_detections(yolov5(grey[None]), 'yolov5', {0}, g)
                references['yolov8'][item['id']] = yolo_detections(yolov8(grey[None]), 'yolov8', {0}, g)
                probs, none = study(grey[None])
                references['study'][item['id']] = {'probabilities': probs[0].tolist(), 'none': float(none[0, 0])}
        counts = {k: sum(len(v) for v in references[k].values()) for k in ['fasterrcnn', 'yolov5', 'yolov8']}
        log(f'reference detections: {counts}')
        document = {
            'about': 'scripts/make-onnx-fixtures.py: PyTorch predictions of the ONNX fixtures on the demo test images',
            'torch': torch.__version__,
            'demo': DEMO,
            'inputSize': SIZE,
            'settings': {'scoreThreshold': SCORE_THRESHOLD, 'iouThreshold': IOU_THRESHOLD, 'maxDetections': MAX_DETECTIONS,
                         'fasterrcnnScoreThreshold': RCNN_SCORE_THRESHOLD},
            'fasterrcnnTrainingSteps': steps,
            'models': {name: {'file': os.path.basename(p), 'sha256': sha256(p)} for name, p in files.items()},
            'classes': {'yolov5': 'class 0 = opacity, class 1 = another finding (dropped)', 'yolov8': 'class 0 = opacity',
                        'fasterrcnn': 'label 1 = opacity (0 = background)'},
            'images': [item['id'] for item in test],
            'references': references,
        }
        tmp = os.path.join(args.out, 'references.json.tmp')
        with open(tmp, 'w') as f:
            json.dump(document, f, indent=1)
        os.replace(tmp, os.path.join(args.out, 'references.json'))
        log(f'wrote {args.out}/references.json')


if __name__ == '__main__':
    main()
