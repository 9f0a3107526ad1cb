#!/usr/bin/python3
"""Driver of bench/run.sh: runs lb-bench and torch_bench.py side by side and
prints one table.

For every (model, batch, optimizer) it runs, in turn, largebatch fp32,
largebatch fp16, PyTorch fp32 contiguous (NCHW) and PyTorch fp32 channels_last
(NHWC), each in its own process; R rounds of that, alternating so that a
change in machine load hits every column alike. A configuration's figure is
the median over the rounds. Then the optimizer step alone (ResNet-50's
parameters, LARS) the same way. Every raw JSON line goes to --results.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# PyTorch runs with these unset: they are set on this project's machines for
# old OpenBLAS builds and slow PyTorch's linear layers about threefold.
TORCH_ENV = ["-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE"]
TORCH = ["/usr/bin/python3", str(HERE / "torch_bench.py")]
# Both sides run with glibc malloc told to keep freed memory: PyTorch frees
# and reallocates its activations every step, and by default glibc hands
# blocks of a few MiB back to the kernel (mmap/munmap, heap trimming), so
# every step page-faults them in again: on this machine that halves PyTorch's
# speed (resnet20 b256: 465k-640k page faults, 400-580 img/s; tuned: 156k,
# ~930 img/s).
# PyTorch's own CPU tuning guide fixes this with jemalloc or tcmalloc; these
# two glibc settings do the same without installing anything. largebatch
# allocates its buffers once and is unaffected (checked both ways).
MALLOC_ENV = ["MALLOC_MMAP_THRESHOLD_=33554432",  # 32 MiB, glibc's maximum
              "MALLOC_TRIM_THRESHOLD_=4294967296"]
# (warmup, timed steps) per model and batch: enough steps for a stable median
# while the default run stays within 15 minutes on 2 cores (9 min 20 s quiet).
STEPS = {("lenet_bn", 256): (2, 20), ("lenet_bn", 64): (3, 50), ("lenet_bn", 32): (3, 80),
         ("resnet20", 256): (1, 12), ("resnet20", 64): (2, 25), ("resnet20", 32): (2, 40)}
OPTIMIZER_STEPS = (2, 20)
VARIANTS = ("ours_fp32", "ours_fp16", "torch_contiguous", "torch_channels_last")


def variant_command(args, variant, model, batch, optimizer):
    warmup, steps = STEPS.get((model, batch), (2, 10))
    steps = max(1, round(steps * args.steps_scale))
    common = ["train", "--model", model, "--batch", str(batch), "--optimizer", optimizer,
              "--threads", str(args.threads), "--warmup", str(warmup), "--steps", str(steps)]
    if variant.startswith("ours"):
        precision = ["--precision", variant.split("_")[1]]
        return with_env(args, "ours", [args.lb_bench] + common + precision)
    layout = ["--channels-last"] if variant.endswith("channels_last") else []
    return with_env(args, "torch", TORCH + common + layout)


def optimizer_command(args, impl):
    warmup, steps = OPTIMIZER_STEPS
    common = ["optimizer", "--model", "resnet50", "--optimizer", "lars",
              "--threads", str(args.threads), "--warmup", str(warmup), "--steps", str(steps)]
    return with_env(args, impl, ([args.lb_bench] if impl == "ours" else TORCH) + common)


def with_env(args, impl, cmd):
    """Prefixes `env ...` so the command in the results file reproduces the run."""
    settings = (TORCH_ENV if impl == "torch" else []) + ([] if args.default_malloc else MALLOC_ENV)
    return ["env"] + settings + cmd if settings else cmd


def run_one(cmd, results, tags):
    """Runs one benchmark process; returns its JSON row (tagged), or exits."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row.update(tags)
    row["command"] = " ".join(cmd)
    results.write(json.dumps(row) + "\n")
    results.flush()
    return row


def configs(args):
    return [(m, b, o) for m in args.models for b in args.batches for o in args.optimizers]


def run_all(args, results):
    """rows[(model, batch, optimizer, variant)] and rows[("optimizer", impl)]: one per round."""
    rows = {}
    start = time.monotonic()
    for r in range(args.rounds):
        for model, batch, optimizer in configs(args):
            for variant in VARIANTS:
                cmd = variant_command(args, variant, model, batch, optimizer)
                row = run_one(cmd, results, {"round": r, "variant": variant})
                rows.setdefault((model, batch, optimizer, variant), []).append(row)
            log(start, f"round {r + 1}/{args.rounds}: {model} b{batch} {optimizer}")
        for impl in ("ours", "torch"):
            row = run_one(optimizer_command(args, impl), results, {"round": r, "variant": impl})
            rows.setdefault(("optimizer", impl), []).append(row)
        log(start, f"round {r + 1}/{args.rounds}: optimizer step")
    return rows


def log(start, message):
    print(f"[{time.monotonic() - start:6.0f} s] {message}", file=sys.stderr, flush=True)


def med(rows, key):
    return statistics.median(row[key] for row in rows)


def mib(nbytes):
    return f"{nbytes / 2**20:.0f}"


def train_table(args, rows):
    lines = ["| model | batch | optimizer | ours fp32 img/s | ours fp16 img/s | fp16/fp32 step time "
             "| best PyTorch img/s | layout | ours fp32 / PyTorch | peak RSS MiB ours fp32 / fp16 / PyTorch |",
             "|---|---:|---|---:|---:|---:|---:|---|---:|---|"]
    for model, batch, optimizer in configs(args):
        get = {v: rows[(model, batch, optimizer, v)] for v in VARIANTS}
        fp32, fp16 = med(get["ours_fp32"], "images_per_s"), med(get["ours_fp16"], "images_per_s")
        step_ratio = med(get["ours_fp16"], "step_s_median") / med(get["ours_fp32"], "step_s_median")
        torch_v = max(VARIANTS[2:], key=lambda v: med(get[v], "images_per_s"))
        best = med(get[torch_v], "images_per_s")
        rss = " / ".join(mib(med(get[v], "peak_rss_bytes")) for v in ("ours_fp32", "ours_fp16", torch_v))
        lines.append(f"| {model} | {batch} | {optimizer} | {fp32:.0f} | {fp16:.0f} | {step_ratio:.2f} "
                     f"| {best:.0f} | {torch_v[len('torch_'):]} | {fp32 / best:.2f} | {rss} |")
    return lines


def optimizer_table(rows):
    ours, torch = rows[("optimizer", "ours")], rows[("optimizer", "torch")]
    o_s, t_s = med(ours, "step_s_median"), med(torch, "step_s_median")
    return ["| optimizer step | params | ours ms | ours GB/s | PyTorch ms | PyTorch GB/s "
            "| PyTorch / ours time | peak RSS MiB ours / PyTorch |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
            f"| resnet50 LARS | {ours[0]['params']:,} | {o_s * 1e3:.1f} | {med(ours, 'gbps'):.1f} "
            f"| {t_s * 1e3:.1f} | {med(torch, 'gbps'):.1f} | {t_s / o_s:.2f} "
            f"| {mib(med(ours, 'peak_rss_bytes'))} / {mib(med(torch, 'peak_rss_bytes'))} |"]


def default_results():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    build = Path(os.environ.get("LB_BUILD_DIR", HERE.parent / "build"))
    return build / "bench-results" / f"results-{stamp}.jsonl"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lb-bench", required=True, help="path of the lb-bench binary")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("LB_BENCH_ROUNDS", 3)),
                        help="rounds per configuration; the median is reported "
                             "(default: $LB_BENCH_ROUNDS or 3)")
    parser.add_argument("--threads", type=int, default=2, help="threads of both (default 2)")
    parser.add_argument("--models", nargs="+", default=["lenet_bn", "resnet20"],
                        choices=["lenet_bn", "resnet20"])
    parser.add_argument("--batches", nargs="+", type=int, default=[256, 64, 32])
    parser.add_argument("--optimizers", nargs="+", default=["sgd", "lars"], choices=["sgd", "lars"])
    parser.add_argument("--steps-scale", type=float, default=1.0,
                        help="multiply every configuration's timed steps (e.g. 0.3 for a smoke run)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="run both without the glibc malloc settings (shows their effect)")
    parser.add_argument("--results", type=Path, default=None,
                        help="raw JSON lines go here (default: build/bench-results/results-TIME.jsonl)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.threads < 1 or args.steps_scale <= 0:
        parser.error("--rounds, --threads and --steps-scale must be positive")
    return args


def main(argv):
    args = parse_args(argv)
    path = args.results or default_results()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as results:
        rows = run_all(args, results)
    table = train_table(args, rows) + [""] + optimizer_table(rows)
    skipped = sum(row.get("skipped_steps", 0) for runs in rows.values() for row in runs)
    if skipped:  # a skipped fp16 step has no optimizer step, so it is faster
        table.append(f"\nNote: {skipped} timed fp16 steps were skipped (non-finite gradients).")
    malloc = "glibc default malloc" if args.default_malloc else "malloc: " + " ".join(MALLOC_ENV)
    print(f"{args.rounds} rounds, {args.threads} threads, medians over rounds, {malloc}; "
          f"raw rows: {path}")
    print("\n".join(table))
    path.with_suffix(".md").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
