#!/usr/bin/python3
"""PyTorch side of bench/run.sh: the models and optimizers of largebatch's
lb-bench, rebuilt layer for layer in PyTorch, timed the same way, printed as
one JSON line per run in lb-bench's format (with "impl": "pytorch").

  torch_bench.py train --model resnet20 --batch 256 --optimizer lars --threads 2
  torch_bench.py train --model lenet_bn --batch 64 --channels-last
  torch_bench.py optimizer --model resnet50 --optimizer lars --steps 20

The models match runtime/models/zoo.cpp: no conv bias before BatchNorm,
BatchNorm momentum 0.1 and eps 1e-5, projection shortcuts, ReLU after the
residual add. The parameter counts are checked against the zoo's.

PyTorch has no fp16 training on the CPU (its CPU autocast is bfloat16), so
only fp32 is offered; largebatch's fp16 is compared with its own fp32.
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (bench/run.sh does):
set for old OpenBLAS builds, they slow PyTorch's linear layers about threefold.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

CLASSES = 10
LEARNING_RATE = 0.01  # fixed, as in lb-bench
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4  # not on bias and BatchNorm parameters (the spec default)
LARS_ETA = 0.001  # the spec defaults of optimizer.lars
LARS_EPSILON = 1e-9
ZOO_PARAMS = {"lenet_bn": 455146, "resnet20": 272186, "resnet50": 25557032}


# --- models: runtime/models/zoo.cpp in PyTorch -------------------------------

def conv_bn_relu(cin, cout, kernel, stride, padding):
    return [nn.Conv2d(cin, cout, kernel, stride, padding, bias=False),
            nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
            nn.ReLU(inplace=True)]


def conv_bn(cin, cout, kernel, stride, padding, zero_gamma=False):
    bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
    if zero_gamma:
        nn.init.zeros_(bn.weight)
    return [nn.Conv2d(cin, cout, kernel, stride, padding, bias=False), bn]


class Residual(nn.Module):
    """relu(branch(x) + shortcut(x)); identity shortcut when none is given."""

    def __init__(self, branch, shortcut=None):
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut

    def forward(self, x):
        out = self.branch(x)
        out += x if self.shortcut is None else self.shortcut(x)
        return F.relu(out, inplace=True)


def projection(cin, cout, stride):
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(*conv_bn(cin, cout, 1, stride, 0))


def lenet_bn(channels, height, width, classes):
    features = 64 * (height // 4) * (width // 4)
    return nn.Sequential(
        *conv_bn_relu(channels, 32, 5, 1, 2), nn.MaxPool2d(2, 2),
        *conv_bn_relu(32, 64, 5, 1, 2), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(features, 128, bias=False),
        nn.BatchNorm1d(128, eps=1e-5, momentum=0.1), nn.ReLU(inplace=True),
        nn.Linear(128, classes))


def basic_block(cin, cout, stride):
    branch = nn.Sequential(*conv_bn_relu(cin, cout, 3, stride, 1),
                           *conv_bn(cout, cout, 3, 1, 1))
    return Residual(branch, projection(cin, cout, stride))


def classifier_head(features, classes):
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(features, classes)]


def resnet20(channels, height, width, classes):
    layers = conv_bn_relu(channels, 16, 3, 1, 1)
    cin = 16
    for stage, width_ in enumerate((16, 32, 64)):
        for b in range(3):
            layers.append(basic_block(cin, width_, 2 if stage > 0 and b == 0 else 1))
            cin = width_
    return nn.Sequential(*layers, *classifier_head(64, classes))


def bottleneck(cin, width, stride):
    """ResNet-50 v1.5: stride on the 3x3 conv, last BN's gamma starts at 0."""
    cout = 4 * width
    branch = nn.Sequential(*conv_bn_relu(cin, width, 1, 1, 0),
                           *conv_bn_relu(width, width, 3, stride, 1),
                           *conv_bn(width, cout, 1, 1, 0, zero_gamma=True))
    return Residual(branch, projection(cin, cout, stride))


def resnet50(channels, height, width, classes):
    layers = conv_bn_relu(channels, 64, 7, 2, 3) + [nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for stage, blocks in enumerate((3, 4, 6, 3)):
        for b in range(blocks):
            layers.append(bottleneck(cin, 64 << stage, 2 if stage > 0 and b == 0 else 1))
            cin = 4 * (64 << stage)
    return nn.Sequential(*layers, *classifier_head(2048, classes))


MODELS = {"lenet_bn": lenet_bn, "resnet20": resnet20, "resnet50": resnet50}


def make_model(name, chw, classes):
    model = MODELS[name](*chw, classes)
    for m in model.modules():  # the zoo's initialisation (torchvision's)
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    count = sum(p.numel() for p in model.parameters())
    if count != ZOO_PARAMS[name]:  # only the zoo's input shapes are offered
        raise RuntimeError(f"{name}: {count} parameters, the zoo has {ZOO_PARAMS[name]}")
    return model


# --- optimizers ----------------------------------------------------------------

def is_bias_or_norm(p):
    """Bias and BatchNorm gamma/beta are the only 1-D parameters in the zoo."""
    return p.ndim == 1


def make_sgd(params):
    decay = [p for p in params if not is_bias_or_norm(p)]
    plain = [p for p in params if is_bias_or_norm(p)]
    return torch.optim.SGD([{"params": decay, "weight_decay": WEIGHT_DECAY},
                            {"params": plain, "weight_decay": 0.0}],
                           lr=LEARNING_RATE, momentum=MOMENTUM)


class Lars:
    """Textbook LARS in the momentum form of runtime/optim/lars.cpp:

      d        = g + wd * w
      local_lr = eta * ||w|| / (||g|| + wd * ||w|| + epsilon)   (1 if a norm is 0)
      v        = m * v + lr * local_lr * d
      w       -= v

    Bias and BatchNorm parameters take the plain step (local_lr = 1, wd = 0).
    PyTorch has no LARS; this one uses the fastest eager ops found on this CPU
    (torch 1.13 has no torch.compile to fuse them): _foreach_norm for the
    norms, then four in-place ops per tensor. That is 14 memory accesses per
    parameter against the 7 of a fused kernel.
    """

    def __init__(self, params, lr=LEARNING_RATE):
        self.lr = lr
        self.adapt = [p for p in params if not is_bias_or_norm(p)]
        self.plain = [p for p in params if is_bias_or_norm(p)]
        # zeros_like keeps each parameter's memory format (channels_last too).
        self.adapt_v = [torch.zeros_like(p) for p in self.adapt]
        self.plain_v = [torch.zeros_like(p) for p in self.plain]

    def zero_grad(self, set_to_none=True):
        for p in self.adapt + self.plain:
            p.grad = None

    def rates(self, ws, gs):
        """lr * local_lr per tensor, as Python floats for the per-tensor alphas."""
        w_norm = torch.stack(torch._foreach_norm(ws))
        g_norm = torch.stack(torch._foreach_norm(gs))
        local = LARS_ETA * w_norm / (g_norm + WEIGHT_DECAY * w_norm + LARS_EPSILON)
        local = torch.where((w_norm > 0) & (g_norm > 0), local, torch.ones_like(local))
        return (self.lr * local).tolist()

    @torch.no_grad()
    def step(self):
        ws = self.adapt
        gs = [p.grad for p in ws]
        rates = self.rates(ws, gs)
        # One tensor at a time: its v stays in cache between the four ops when
        # it fits, and no temporary is allocated (a fresh 100 MB temporary per
        # step costs more in page faults than the arithmetic).
        for v, g, w, rate in zip(self.adapt_v, gs, ws, rates):
            v.mul_(MOMENTUM).add_(g, alpha=rate).add_(w, alpha=rate * WEIGHT_DECAY)
            w.sub_(v)
        torch._foreach_mul_(self.plain_v, MOMENTUM)
        torch._foreach_add_(self.plain_v, [p.grad for p in self.plain], alpha=self.lr)
        torch._foreach_sub_(self.plain, self.plain_v)


def make_optimizer(name, params):
    params = list(params)
    return make_sgd(params) if name == "sgd" else Lars(params)


def bytes_per_step(params, optimizer):
    """Update pass: read w, g, v, write w, v; LARS's norm pass reads w, g on
    the tensors it adapts. The same count as lb-bench's."""
    total = 0
    for p in params:
        adapt = optimizer == "lars" and not is_bias_or_norm(p)
        total += (5 * 4 + (2 * 4 if adapt else 0)) * p.numel()
    return total


# --- modes ---------------------------------------------------------------------

def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def synthetic_batch(batch, seed):
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(batch, 1, 28, 28, generator=gen)
    labels = torch.randint(0, CLASSES, (batch,), generator=gen)
    return images, labels


def train_step(model, opt, images, labels):
    loss = F.cross_entropy(model(images), labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if not torch.isfinite(loss):
        raise RuntimeError("loss is not finite")


def timed(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def train_mode(args):
    torch.manual_seed(args.seed)
    model = make_model(args.model, (1, 28, 28), CLASSES).train()
    images, labels = synthetic_batch(args.batch, args.seed)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    opt = make_optimizer(args.optimizer, model.parameters())
    step = lambda: train_step(model, opt, images, labels)  # noqa: E731
    share = {}
    if args.breakdown:
        # Operator self time (autograd profiler) over the timed steps, as a
        # share of the steps' wall time; the profiler's own overhead is in it.
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            times = timed(step, args.warmup, args.steps)
        total_us = sum(times) * 1e6
        ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
        share["convolution (all aten ops named *conv*)"] = sum(
            e.self_cpu_time_total for e in ops if "conv" in e.key) / total_us
        for e in ops[:8]:
            share[e.key] = e.self_cpu_time_total / total_us
    else:
        times = timed(step, args.warmup, args.steps)
    return {"impl": "pytorch", "mode": "train", "model": args.model, "batch": args.batch,
            "precision": "fp32", "optimizer": args.optimizer,
            "threads": torch.get_num_threads(),
            "layout": "channels_last" if args.channels_last else "contiguous",
            "steps": args.steps, "images_per_s": args.batch * args.steps / sum(times),
            "step_s_median": statistics.median(times), "peak_rss_bytes": peak_rss_bytes(),
            "time_share": share}


def optimizer_mode(args):
    torch.manual_seed(args.seed)
    params = list(make_model(args.model, (3, 224, 224), 1000).parameters())
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    opt = make_optimizer(args.optimizer, params)
    step_s = statistics.median(timed(opt.step, args.warmup, args.steps))
    nbytes = bytes_per_step(params, args.optimizer)
    return {"impl": "pytorch", "mode": "optimizer", "model": args.model,
            "optimizer": args.optimizer, "threads": torch.get_num_threads(),
            "steps": args.steps, "params": sum(p.numel() for p in params),
            "bytes_per_step": nbytes, "step_s_median": step_s,
            "gbps": nbytes / step_s / 1e9, "peak_rss_bytes": peak_rss_bytes()}


def add_common(cmd):
    cmd.add_argument("--optimizer", choices=["sgd", "lars"], default="sgd")
    cmd.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    cmd.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    cmd.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    cmd.add_argument("--seed", type=int, default=1)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    train = modes.add_parser("train", help="time full training steps")
    train.add_argument("--model", choices=["lenet_bn", "resnet20"], required=True)
    train.add_argument("--batch", type=int, default=256)
    train.add_argument("--precision", choices=["fp32"], default="fp32",
                       help="fp32 only: PyTorch has no CPU fp16 training")
    train.add_argument("--breakdown", action="store_true",
                       help="profile the timed steps; time_share: conv share and the top operators")
    train.add_argument("--channels-last", action="store_true",
                       help="model and input in torch.channels_last (NHWC)")
    add_common(train)
    opt = modes.add_parser("optimizer", help="time the optimizer step alone, random gradients")
    opt.add_argument("--model", choices=["resnet50"], default="resnet50",
                     help="parameter set: the model at 3x224x224, 1000 classes")
    add_common(opt)
    args = parser.parse_args(argv)
    if min(args.threads, args.steps) < 1 or args.warmup < 0:
        parser.error("--threads and --steps must be positive, --warmup non-negative")
    return args


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    row = train_mode(args) if args.mode == "train" else optimizer_mode(args)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
