"""The training benchmark's detectors in PyTorch, shaped like CXR Studio's `tiny` preset
(main/ml/detect/config.ts): backbone at width/depth x0.5 on a 1-channel input, BiFPN 64 channels x 2
over P3-P7 (lateral 1x1 convs, P6 from C5 by 1x1 conv + max-pool, P7 by max-pool, fast normalised
fusion, separable conv + BN), shared class/box towers (2 separable convs + BN + swish), separable
output convs (9 anchors, or FCOS classes/box/centre-ness), and the study/none head on pooled features.
Losses are the same kinds (focal BCE, smooth-L1, softmax CE, BCE) on fixed synthetic targets: the
work per step matches, the numbers learned do not matter. Parameter counts are printed to compare.

Prints one JSON line per configuration. Usage:
  /usr/bin/python3 scripts/bench-train-torch.py --size 256 --head efficientdet --backbone efficientnet-b0
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import efficientnet, mobilenet_v2


class SeparableConv(nn.Module):
    def __init__(self, cin, cout, bias=False):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def efficientnet_backbone():
    settings, last = efficientnet._efficientnet_conf('efficientnet_b0', width_mult=0.5, depth_mult=0.5)
    net = efficientnet.EfficientNet(settings, dropout=0.0, last_channel=last)
    stem = net.features[0][0]
    net.features[0][0] = nn.Conv2d(1, stem.out_channels, 3, 2, 1, bias=False)
    # features[i] strides: 0:2 1:2 2:4 3:8 4:16 5:16 6:32 7:32 8:32 (top conv)
    return net.features, {3: 3, 4: 5, 5: 8}


def mobilenet_backbone():
    net = mobilenet_v2(width_mult=0.5)
    stem = net.features[0][0]
    net.features[0][0] = nn.Conv2d(1, stem.out_channels, 3, 2, 1, bias=False)
    return net.features, {3: 6, 4: 13, 5: 18}


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.conv2(self.conv1(x)) + (x if self.shortcut is None else self.shortcut(x)))


def resnet18_backbone():
    widths = [32, 64, 128, 256]
    layers = [nn.Sequential(nn.Conv2d(1, 32, 7, 2, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(3, 2, 1))]
    cin = 32
    for i, w in enumerate(widths):
        layers.append(nn.Sequential(BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)))
        cin = w
    return nn.Sequential(*layers), {3: 2, 4: 3, 5: 4}


class Fusion(nn.Module):
    def __init__(self, inputs, channels):
        super().__init__()
        self.weights = nn.Parameter(torch.ones(inputs))
        self.conv = SeparableConv(channels, channels)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, xs):
        w = F.relu(self.weights)
        w = w / (w.sum() + 1e-4)
        return self.bn(self.conv(F.silu(sum(wi * x for wi, x in zip(w, xs)))))


class BiFpnLayer(nn.Module):
    def __init__(self, levels, channels):
        super().__init__()
        self.levels = levels
        self.top_down = nn.ModuleList(Fusion(2, channels) for _ in range(levels - 1))
        self.bottom_up = nn.ModuleList(Fusion(2 if i == levels - 1 else 3, channels) for i in range(1, levels))

    def forward(self, feats):
        top = self.levels - 1
        mid = list(feats)
        for i in range(top - 1, -1, -1):
            mid[i] = self.top_down[i]([feats[i], F.interpolate(mid[i + 1], scale_factor=2, mode='nearest')])
        out = [mid[0]]
        for i in range(1, top + 1):
            below = F.max_pool2d(out[i - 1], 3, 2, 1)
            out.append(self.bottom_up[i - 1]([feats[i], below] if i == top else [feats[i], mid[i], below]))
        return out


class Tower(nn.Module):
    def __init__(self, channels, repeats, levels):
        super().__init__()
        self.convs = nn.ModuleList(SeparableConv(channels, channels) for _ in range(repeats))
        self.norms = nn.ModuleList(nn.ModuleList(nn.BatchNorm2d(channels) for _ in range(levels)) for _ in range(repeats))

    def forward(self, feats):
        return [self._level(x, i) for i, x in enumerate(feats)]

    def _level(self, x, level):
        for conv, norms in zip(self.convs, self.norms):
            x = F.silu(norms[level](conv(x)))
        return x


class Detector(nn.Module):
    def __init__(self, backbone, head, channels=64, neck_repeats=2, head_repeats=2, anchors=9):
        super().__init__()
        self.features, self.taps = {'efficientnet-b0': efficientnet_backbone, 'mobilenetv2': mobilenet_backbone, 'resnet18': resnet18_backbone}[backbone]()
        with torch.no_grad():
            probe = self._backbone(torch.zeros(1, 1, 64, 64))
        c3, c4, c5, top = (probe[3].shape[1], probe[4].shape[1], probe[5].shape[1], probe['top'].shape[1])
        self.lateral = nn.ModuleList(nn.Sequential(nn.Conv2d(c, channels, 1, bias=False), nn.BatchNorm2d(channels)) for c in (c3, c4, c5))
        self.extra = nn.Sequential(nn.Conv2d(c5, channels, 1, bias=False), nn.BatchNorm2d(channels))
        self.bifpn = nn.Sequential(*[BiFpnLayer(5, channels) for _ in range(neck_repeats)])
        self.head = head
        self.class_tower = Tower(channels, head_repeats, 5)
        self.box_tower = Tower(channels, head_repeats, 5)
        per = anchors if head == 'efficientdet' else 1
        self.class_out = SeparableConv(channels, per, bias=True)
        self.box_out = SeparableConv(channels, per * 4 + (1 if head == 'fcos' else 0), bias=True)
        self.study = nn.Linear(top, 4)
        self.none = nn.Linear(top, 1)

    def _backbone(self, x):
        out = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            for level, index in self.taps.items():
                if index == i:
                    out[level] = x
        out['top'] = x
        return out

    def forward(self, x):
        feats = self._backbone(x)
        levels = [lat(feats[l]) for lat, l in zip(self.lateral, (3, 4, 5))]
        p6 = F.max_pool2d(self.extra(feats[5]), 3, 2, 1)
        levels += [p6, F.max_pool2d(p6, 3, 2, 1)]
        levels = self.bifpn(levels)
        cls = torch.cat([self.class_out(y).flatten(1) for y in self.class_tower(levels)], 1)
        box = torch.cat([self.box_out(y).flatten(1) for y in self.box_tower(levels)], 1)
        pooled = feats['top'].mean(dim=(2, 3))
        return cls, box, self.study(pooled), self.none(pooled)


def loss_fn(outputs, targets):
    cls, box, study, none = outputs
    t_cls, t_box, t_study, t_none = targets
    p = torch.sigmoid(cls)
    bce = F.binary_cross_entropy_with_logits(cls, t_cls, reduction='none')
    p_t = p * t_cls + (1 - p) * (1 - t_cls)
    focal = ((0.25 * t_cls + 0.75 * (1 - t_cls)) * (1 - p_t).clamp(min=1e-6) ** 1.5 * bce).sum() / max(1.0, t_cls.sum().item())
    return focal + 50 * F.smooth_l1_loss(box, t_box, beta=0.1) + F.cross_entropy(study, t_study) + F.binary_cross_entropy_with_logits(none, t_none)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--head', default='efficientdet')
    parser.add_argument('--backbone', default='efficientnet-b0')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    # inference only (the ONNX Runtime comparison at 1 and 2 threads): no training steps, trainImgPerSec null
    parser.add_argument('--infer-only', action='store_true')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = Detector(args.backbone, args.head)
    images = torch.rand(args.batch, 1, args.size, args.size)
    with torch.no_grad():
        shapes = [o.shape for o in net(images[:1])]
    targets = (
        (torch.rand(args.batch, shapes[0][1]) < 0.001).float(),
        torch.rand(args.batch, shapes[1][1]) * 0.1,
        torch.arange(args.batch) % 4,
        (torch.arange(args.batch) % 2).float()[:, None],
    )
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.01)
    step_ms = []
    step_cpu_ms = []
    net.train()
    for i in range(0 if args.infer_only else args.steps + 1):
        t0 = time.perf_counter()
        c0 = time.process_time()
        loss = loss_fn(net(images), targets)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        optimizer.step()
        if i > 0:
            step_ms.append((time.perf_counter() - t0) * 1000)
            step_cpu_ms.append((time.process_time() - c0) * 1000)
    net.eval()
    infer_ms = []
    infer_cpu_ms = []
    with torch.no_grad():
        for i in range(args.steps + 1):
            t0 = time.perf_counter()
            c0 = time.process_time()
            net(images)
            if i > 0:
                infer_ms.append((time.perf_counter() - t0) * 1000)
                infer_cpu_ms.append((time.process_time() - c0) * 1000)
    median = lambda v: sorted(v)[len(v) // 2]
    print(json.dumps({
        'backend': 'pytorch', 'torch': torch.__version__, 'threads': args.threads, 'size': args.size, 'head': args.head,
        'backbone': args.backbone, 'batch': args.batch, 'parameters': sum(p.numel() for p in net.parameters()),
        'trainImgPerSec': args.batch * 1000 / median(step_ms) if step_ms else None, 'inferImgPerSec': args.batch * 1000 / median(infer_ms),
        # with a free core per thread at best: the process's CPU time spread evenly over its threads
        'trainImgPerSecCpuBound': args.batch * 1000 / (median(step_cpu_ms) / args.threads) if step_cpu_ms else None,
        # as for training: the process's CPU time spread evenly over its threads (each on a free core)
        'inferImgPerSecCpuBound': args.batch * 1000 / (median(infer_cpu_ms) / args.threads),
        'stepMs': [round(v) for v in step_ms], 'stepCpuMs': [round(v) for v in step_cpu_ms], 'inferMs': [round(v) for v in infer_ms],
    }))


if __name__ == '__main__':
    main()
