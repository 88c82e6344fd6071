// The torchrun training script written next to a COCO export (recipes.ts fills in the __…__ defaults).
// Kept as Python text: it runs where the GPUs are, not in CXR Studio. Tested by test/export/recipes.test.ts.
export const TRAIN_TORCHVISION_PY = String.raw`
#!/usr/bin/env python3
"""Fine-tune a torchvision detector on a CXR Studio COCO export, on one or many GPUs (torchrun + DDP),
then export it to ONNX for cxr-studio import-model --format torchvision.

  single process:  python3 train_torchvision.py
  one node, N GPUs: torchrun --nproc_per_node=N train_torchvision.py
  several nodes:   torchrun --nnodes=2 --node_rank=R --master_addr=HOST --nproc_per_node=N train_torchvision.py

Needs torch and torchvision (Pillow for PNG exports, pydicom for exports without images).
Written by CXR Studio next to the export; the defaults below are this export's paths.
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torchvision
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

DEFAULT_COCO = __COCO_DIR__
DEFAULT_OUT = __OUT_DIR__
DEFAULT_SIZE = __IMAGE_SIZE__
MODELS = ("fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_resnet50_fpn_v2")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--coco", default=DEFAULT_COCO, help="folder of the export (train.json, val.json)")
    p.add_argument("--images", default=None,
                   help="folder file_name is relative to (default: the json's folder for PNG exports, "
                        "info.dataset_root for DICOM exports)")
    p.add_argument("--out", default=DEFAULT_OUT, help="where checkpoints and model.onnx go")
    p.add_argument("--model", default="fasterrcnn_resnet50_fpn_v2", choices=MODELS)
    p.add_argument("--pretrained", action="store_true",
                   help="start from torchvision's COCO weights (downloads them; default: ImageNet-free random init)")
    p.add_argument("--size", type=int, default=DEFAULT_SIZE, help="square side the model sees (and the ONNX input)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=4, help="images per GPU (per process)")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate for a total batch of 16 (scaled linearly)")
    p.add_argument("--workers", type=int, default=4, help="data-loading processes per GPU")
    p.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    p.add_argument("--max-iters", type=int, default=0, help="stop after this many iterations (0: all epochs); for smoke tests")
    p.add_argument("--world-size", type=int, default=1,
                   help="without torchrun: must be 1 (a one-process gloo group, so the DDP path still runs)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint-last.pt")
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX export at the end")
    p.add_argument("--opset", type=int, default=11)
    return p.parse_args()


def setup_distributed(args):
    """torchrun sets RANK/WORLD_SIZE/LOCAL_RANK; alone, a one-process group over a temp file."""
    cuda = torch.cuda.is_available() and args.device != "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("train_torchvision.py: --device cuda but CUDA is not available")
    backend = "nccl" if cuda else "gloo"
    if "RANK" in os.environ:
        dist.init_process_group(backend)
    else:
        if args.world_size != 1:
            sys.exit("train_torchvision.py: --world-size > 1 needs torchrun (torchrun --nproc_per_node=N ...)")
        store = os.path.join(tempfile.mkdtemp(prefix="cxr-ddp-"), "store")
        dist.init_process_group(backend, init_method="file://" + store, rank=0, world_size=1)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    return device, cuda


class CocoDetection(Dataset):
    """Images and boxes of a CXR Studio COCO file: boxes [x, y, w, h] -> [x1, y1, x2, y2], labels = category ids."""

    def __init__(self, json_path, images_root):
        with open(json_path) as f:
            doc = json.load(f)
        self.info = doc.get("info", {})
        self.dicom = "DICOM" in str(self.info.get("file_name", ""))
        self.root = images_root or (self.info.get("dataset_root") if self.dicom else os.path.dirname(json_path))
        self.images = doc["images"]
        self.categories = doc["categories"]
        self.boxes = {image["id"]: [] for image in self.images}
        for a in doc["annotations"]:
            x, y, w, h = a["bbox"]
            if w > 0 and h > 0:
                self.boxes[a["image_id"]].append((x, y, x + w, y + h, a["category_id"]))

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = self.images[index]
        path = os.path.join(self.root, image["file_name"])
        pixels = read_dicom(path) if self.dicom else read_png(path)
        boxes = self.boxes[image["id"]]
        target = {
            "boxes": torch.tensor([b[:4] for b in boxes], dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor([b[4] for b in boxes], dtype=torch.int64),
        }
        # greyscale repeated to RGB, 0-1: what CXR Studio feeds an imported torchvision model
        return pixels.expand(3, -1, -1).contiguous(), target


def read_png(path):
    from PIL import Image
    import numpy as np
    with Image.open(path) as im:
        array = np.asarray(im)
    scale = 65535.0 if array.dtype == np.uint16 or array.max() > 255 else 255.0
    if array.ndim == 3:
        array = array[..., 0]
    return torch.from_numpy(array.astype("float32") / scale)[None]


def read_dicom(path):
    """Stored values -> modality LUT -> VOI (the file's window, else 0.5-99.5 percentiles) -> MONOCHROME1 inverted."""
    import numpy as np
    import pydicom
    ds = pydicom.dcmread(path)
    values = ds.pixel_array.astype("float32") * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    center, width = getattr(ds, "WindowCenter", None), getattr(ds, "WindowWidth", None)
    if center is not None and width is not None:
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        low, high = center - width / 2, center + width / 2
    else:
        low, high = np.percentile(values, [0.5, 99.5])
    scaled = np.clip((values - low) / max(high - low, 1e-6), 0, 1)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        scaled = 1 - scaled
    return torch.from_numpy(scaled.astype("float32"))[None]


def collate(batch):
    return tuple(zip(*batch))


def build_model(args, num_classes):
    kwargs = dict(min_size=args.size, max_size=args.size)
    builder = getattr(torchvision.models.detection, args.model)
    if args.pretrained:
        model = builder(weights="DEFAULT", **kwargs)
        from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
        features = model.roi_heads.box_predictor.cls_score.in_features
        model.roi_heads.box_predictor = FastRCNNPredictor(features, num_classes)
        return model
    return builder(weights=None, weights_backbone=None, num_classes=num_classes, **kwargs)


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def export_onnx(model, args, path):
    """Input 'image' [3, S, S] float 0-1; outputs boxes [N, 4] (x1 y1 x2 y2 in input pixels), labels [N], scores [N]."""
    model = model.cpu().eval()
    dummy = torch.rand(3, args.size, args.size)
    tmp = path + ".tmp"
    torch.onnx.export(
        model, ([dummy],), tmp, opset_version=args.opset,
        input_names=["image"], output_names=["boxes", "labels", "scores"],
        dynamic_axes={"boxes": {0: "detections"}, "labels": {0: "detections"}, "scores": {0: "detections"}},
    )
    os.replace(tmp, path)


def main():
    args = parse_args()
    device, cuda = setup_distributed(args)
    rank, world = dist.get_rank(), dist.get_world_size()
    log = (lambda *a: print(*a, flush=True)) if rank == 0 else (lambda *a: None)
    torch.manual_seed(0)

    train_set = CocoDetection(os.path.join(args.coco, "train.json"), args.images)
    num_classes = max(c["id"] for c in train_set.categories) + 1  # 0 is the background
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, num_workers=args.workers,
                        collate_fn=collate, pin_memory=cuda, persistent_workers=args.workers > 0)

    model = build_model(args, num_classes).to(device)
    ddp = DistributedDataParallel(model, device_ids=[device.index] if cuda else None, find_unused_parameters=True)
    params = [p for p in model.parameters() if p.requires_grad]
    lr = args.lr * args.batch_size * world / 16
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, args.epochs))
    scaler = torch.cuda.amp.GradScaler(enabled=cuda)
    os.makedirs(args.out, exist_ok=True)
    last = os.path.join(args.out, "checkpoint-last.pt")
    start_epoch = 0
    if args.resume and os.path.exists(last):
        state = torch.load(last, map_location="cpu")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch = state["epoch"] + 1
        log(f"resumed from {last} at epoch {start_epoch + 1}")

    log(f"{args.model}: {len(train_set)} train images, {num_classes - 1} class(es), {world} process(es) on "
        f"{'CUDA' if cuda else 'CPU'}, batch {args.batch_size}x{world}, lr {lr:g}, AMP {'on' if cuda else 'off'}")
    iteration = 0
    for epoch in range(start_epoch, args.epochs):
        sampler.set_epoch(epoch)
        ddp.train()
        started, total, steps = time.time(), 0.0, 0
        for images, targets in loader:
            images = [i.to(device, non_blocking=True) for i in images]
            targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
            with torch.cuda.amp.autocast(enabled=cuda):
                losses = ddp(images, targets)
                loss = sum(losses.values())
            if not math.isfinite(loss.item()):
                sys.exit(f"train_torchvision.py: loss is {loss.item()} at epoch {epoch + 1}; lower --lr")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.item()
            steps += 1
            iteration += 1
            if args.max_iters and iteration >= args.max_iters:
                break
        scheduler.step()
        log(f"epoch {epoch + 1}/{args.epochs}: loss {total / max(1, steps):.4f} over {steps} step(s) ({time.time() - started:.0f} s)")
        if rank == 0:
            save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "epoch": epoch, "args": vars(args),
                         "num_classes": num_classes}, last)
        if args.max_iters and iteration >= args.max_iters:
            break
    dist.barrier()
    if rank == 0 and not args.no_onnx:
        onnx_path = os.path.join(args.out, "model.onnx")
        export_onnx(model, args, onnx_path)
        log(f"ONNX: {onnx_path} (input image [3, {args.size}, {args.size}] 0-1; outputs boxes, labels, scores)")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
`
