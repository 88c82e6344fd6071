"""The kernel benchmark's network in PyTorch (same layers as main/ml/backend/bench/net.ts).

Prints one JSON line: {"torch": version, "threads": n, "trainImgPerSec": [...], "inferImgPerSec": [...], ...PerCpuSec}.
Usage: /usr/bin/python3 torch_net.py --threads 2 --batch 8 --steps 5
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LAYERS = [(1, 16, 2), (16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1),
          (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1)]
BOX_FEATURE_LAYER = 6
STUDY_CLASSES = 4
BOX_CHANNELS = 5


class BenchNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(cin, cout, 3, stride, 1, bias=False) for cin, cout, stride in LAYERS)
        self.norms = nn.ModuleList(nn.BatchNorm2d(cout, eps=1e-5) for _, cout, _ in LAYERS)
        self.study = nn.Linear(LAYERS[-1][1], STUDY_CLASSES)
        self.box = nn.Conv2d(LAYERS[BOX_FEATURE_LAYER][1], BOX_CHANNELS, 1)

    def forward(self, x):
        box_feature = None
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = F.relu(norm(conv(x)))
            if i == BOX_FEATURE_LAYER:
                box_feature = x
        return self.study(x.mean(dim=(2, 3))), self.box(box_feature)


def loss_fn(net, images, classes, box_targets):
    study_logits, box_map = net(images)
    study = F.cross_entropy(study_logits, classes)
    obj_logit, box_pred = box_map[:, :1], box_map[:, 1:]
    obj_target, box_target = box_targets[:, :1], box_targets[:, 1:]
    bce = F.binary_cross_entropy_with_logits(obj_logit, obj_target)
    l1 = ((box_pred - box_target).abs() * obj_target).sum() / (obj_target.sum() + 1)
    return study + bce + l1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--steps', type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = BenchNet()
    images = torch.rand(args.batch, 1, args.size, args.size)
    classes = torch.randint(0, STUDY_CLASSES, (args.batch,))
    cells = args.size // 16
    box_targets = torch.cat([(torch.rand(args.batch, 1, cells, cells) > 0.9).float(),
                             torch.rand(args.batch, BOX_CHANNELS - 1, cells, cells) * 2 - 1], dim=1)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def train_step():
        optimizer.zero_grad()
        loss = loss_fn(net, images, classes, box_targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    net.train()
    for _ in range(2):
        train_step()
    train, train_cpu = [], []
    for _ in range(args.steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        train_step()
        train.append(args.batch / (time.perf_counter() - start))
        train_cpu.append(args.batch / (time.process_time() - start_cpu))

    net.eval()
    infer, infer_cpu = [], []
    with torch.no_grad():
        net(images)
        for _ in range(args.steps):
            start, start_cpu = time.perf_counter(), time.process_time()
            net(images)
            infer.append(args.batch / (time.perf_counter() - start))
            infer_cpu.append(args.batch / (time.process_time() - start_cpu))

    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'parameters': sum(p.numel() for p in net.parameters()),
        'trainImgPerSec': train,
        'inferImgPerSec': infer,
        # images per CPU-second of this process (all its threads): robust on a busy machine
        'trainImgPerCpuSec': train_cpu,
        'inferImgPerCpuSec': infer_cpu,
    }))


if __name__ == '__main__':
    main()
