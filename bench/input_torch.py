#!/usr/bin/python3
"""torchvision's side of bench/input_compare.py: ImageFolder + DataLoader with
ImageNet training's transforms (RandomResizedCrop(224), RandomHorizontalFlip,
ToTensor, Normalize), PIL decoding, N worker processes. Prints one JSON line
in lb-input-bench's format ("impl": "torchvision"). The first batch (worker
start-up) is not timed, as in lb-input-bench.

  input_torch.py --root DIR --workers 2 --batch 64 --batches 40
"""
import argparse
import json
import os
import time

import torch
import torchvision
from torchvision import datasets, transforms

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """User + system CPU time of the processes so far (/proc/PID/stat)."""
    total = 0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, help="ImageFolder root (ROOT/train/CLASS/*.jpg)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=40, help="timed batches (after one untimed)")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    transform = transforms.Compose([transforms.RandomResizedCrop(a.size), transforms.RandomHorizontalFlip(),
                                    transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    data = datasets.ImageFolder(a.root + "/train", transform=transform)
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.workers,
                                         drop_last=True, prefetch_factor=4)
    needed = a.batches + 1
    if needed > len(loader):
        raise SystemExit("input_torch.py: %d batches needed, the set has %d" % (needed, len(loader)))
    it = iter(loader)
    next(it)
    pids = [os.getpid()] + [w.pid for w in it._workers]
    cpu_start, start = cpu_seconds(pids), time.perf_counter()
    for _ in range(a.batches):
        images, _labels = next(it)
    seconds = time.perf_counter() - start
    cpu = cpu_seconds(pids) - cpu_start
    assert images.shape == (a.batch, 3, a.size, a.size)
    n = a.batches * a.batch
    print(json.dumps({"impl": "torchvision", "mode": "pipeline", "workers": a.workers, "batch": a.batch,
                      "images": n, "seconds": seconds, "images_per_s": n / seconds,
                      "cpu_s": cpu, "images_per_cpu_s": n / cpu,
                      "torchvision": torchvision.__version__}))


if __name__ == "__main__":
    main()
