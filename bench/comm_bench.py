#!/usr/bin/python3
"""The communication layer's targets, measured in one run (issue 4):

  1. ring and hierarchical all-reduce against MPI_Allreduce (Open MPI's own
     choice of algorithm) in bus bandwidth, at 16 MiB and above;
  2. resnet50's gradients all-reduced in fusion buckets against one
     MPI_Allreduce per tensor;
  3. the share of a resnet20 training step that waits for communication
     (exposed_comm_s / step_s from profile.json) with overlap, and without;
  4. (issue 22) the spec's defaults, no comm keys (auto algorithm, "auto"
     bucket size, buckets as slices of the gradient arena), against one
     MPI_Allreduce per tensor, and against every other bucket size in the
     same alternating run: target >= 1.2x per-tensor and within 5 % of the
     best size.

Everything runs under mpirun on this machine (shared memory between ranks),
so the figures describe the algorithms' overheads on one node, not a network.

  bench/comm_bench.py [--ranks 4] [--build build] [--quick]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mpirun(ranks, argv):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_WAIT_POLICY="PASSIVE")
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader",
           "-np", str(ranks)] + argv
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"comm_bench: command failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def bandwidth(args, bench):
    rows = json_lines(mpirun(args.ranks, [bench, "--json", "--algorithms", "mpi,ring,hierarchical",
                                          "--group-size", str(args.ranks // 2),
                                          "--min-bytes", str(16 << 20),
                                          "--max-bytes", str((32 if args.quick else 256) << 20),
                                          "--rounds", str(args.rounds)]))
    mpi = {r["bytes"]: r["busbw_gbps"] for r in rows if r["algorithm"] == "mpi"}
    print(f"\n### All-reduce bus bandwidth, {args.ranks} ranks, median of {args.rounds} rounds "
          "(target: ring and hierarchical >= 0.9x MPI)\n")
    print("| bytes | MPI_Allreduce GB/s | ring GB/s | ring / MPI | hierarchical GB/s | hierarchical / MPI |")
    print("|---|---|---|---|---|---|")
    for size in sorted(mpi):
        ring = next(r["busbw_gbps"] for r in rows if r["algorithm"] == "ring" and r["bytes"] == size)
        hier = next(r["busbw_gbps"] for r in rows if r["algorithm"] == "hierarchical" and r["bytes"] == size)
        print(f"| {size >> 20} MiB | {mpi[size]:.2f} | {ring:.2f} | {ring / mpi[size]:.2f} | "
              f"{hier:.2f} | {hier / mpi[size]:.2f} |")
    if any(r["wrong"] for r in rows):
        sys.exit("comm_bench: an all-reduce returned wrong elements")


def fusion(args, bench):
    # Fused with MPI_Allreduce isolates what fusion itself gains; fused with
    # ring is what the runtime does by default on one node.
    print(f"\n### resnet50 gradients, {args.ranks} ranks (target: fused >= 5x per-tensor)\n")
    # The best threshold depends on the machine, so several are measured.
    thresholds = [64 << 20] if args.quick else [4 << 20, 16 << 20, 64 << 20]
    print("| tensors | bytes | per-tensor MPI_Allreduce s | fusion MiB | buckets | fused with | fused s | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for fusion_bytes in thresholds:
        for algorithm in ("mpi", "ring"):
            row = json_lines(mpirun(args.ranks, [bench, "--json", "--model", "resnet50", "--algorithms",
                                                 algorithm, "--fusion-bytes", str(fusion_bytes),
                                                 "--rounds", str(args.rounds)]))[0]
            print(f"| {row['tensors']} | {row['bytes']} | {row['per_tensor_s']:.4f} | {fusion_bytes >> 20} | "
                  f"{row['buckets']} | {algorithm} | {row['fused_s']:.4f} | {row['speedup']:.2f}x |")


def defaults(args, bench):
    sizes = [1 << 20, 4 << 20] if args.quick else [1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20, 64 << 20]
    rows = json_lines(mpirun(args.ranks, [bench, "--json", "--model", "resnet50", "--fusion-bytes",
                                          ",".join(["auto"] + [str(b) for b in sizes]),
                                          "--rounds", str(args.rounds)]))
    auto = next(r for r in rows if r["fusion_requested"] == "auto")
    best = min(rows, key=lambda r: r["fused_s"])
    print(f"\n### resnet50 gradients with the spec's defaults, {args.ranks} ranks, median of {args.rounds} "
          "rounds (target: auto >= 1.2x per-tensor, within 5 % of the best size)\n")
    print("| fusion | bytes | buckets | algorithm | fused s | per-tensor MPI_Allreduce s | speed-up | vs best |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['fusion_requested']} | {r['fusion_bytes']} | {r['buckets']} | {r['fused_algorithm']} | "
              f"{r['fused_s']:.4f} | {r['per_tensor_s']:.4f} | {r['speedup']:.2f}x | "
              f"{r['fused_s'] / best['fused_s']:.3f} |")
    print(f"\nauto: {auto['speedup']:.2f}x per-tensor (target >= 1.2: {'met' if auto['speedup'] >= 1.2 else 'NOT met'}); "
          f"{auto['fused_s'] / best['fused_s'] - 1:+.1%} against the best size, "
          f"{best['fusion_requested']} (target <= +5 %: "
          f"{'met' if auto['fused_s'] <= 1.05 * best['fused_s'] else 'NOT met'})")


def exposed(args, lb_train):
    steps = 8 if args.quick else 30
    print(f"\n### resnet20 training step, {args.ranks} ranks, batch 64 per rank, 1 thread each "
          f"(target: exposed communication <= 30% of the all-reduce time)\n")
    print("| overlap | fusion bytes | step s | backward s | all-reduce s per step | exposed comm s | "
          "exposed / all-reduce | exposed / step |")
    print("|---|---|---|---|---|---|---|---|")
    for overlap, fusion_bytes in [("true", 1 << 20), ("true", 64 << 20), ("false", 64 << 20)]:
        out = tempfile.mkdtemp(prefix="lb_comm_bench_")
        try:
            mpirun(args.ranks, [lb_train, os.path.join(ROOT, "experiments/fmnist-lenet-lars-fp16.json"),
                                "--out", out, "-q", "--max-steps", str(steps),
                                "--set", "model.name=resnet20", "--set", "train.precision=fp32",
                                "--set", f"train.global_batch={64 * args.ranks}",
                                "--set", "train.threads=1", "--set", "data.train_subset=16384",
                                "--set", "comm.algorithm=ring", "--set", f"comm.overlap={overlap}",
                                "--set", f"comm.fusion_bytes={fusion_bytes}"])
            with open(os.path.join(out, "profile.json")) as f:
                p = json.load(f)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        # Every bucket's all-reduce, summed over the recorded steps, per step.
        allreduce_s = sum(a["median_s"] * a["count"] for a in p["allreduce"]) / p["steps"]
        print(f"| {overlap} | {fusion_bytes} | {p['step_s']:.4f} | {p['backward_s']:.4f} | {allreduce_s:.4f} | "
              f"{p['exposed_comm_s']:.4f} | {p['exposed_comm_s'] / allreduce_s:.1%} | "
              f"{p['exposed_comm_s'] / p['step_s']:.1%} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, default=4, help="MPI ranks (default 4)")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"), help="build directory")
    parser.add_argument("--only", nargs="+", choices=["bandwidth", "fusion", "exposed", "defaults"],
                        default=["bandwidth", "fusion", "exposed", "defaults"], help="run only these sections")
    parser.add_argument("--rounds", type=int, default=None,
                        help="bandwidth and fusion: repeat with the implementations alternating, "
                             "report medians (default 5; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer steps (a smoke run)")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.rounds < 1:
        sys.exit("comm_bench: --rounds must be >= 1")
    bench = os.path.join(args.build, "bin", "allreduce-bench")
    lb_train = os.path.join(args.build, "bin", "lb-train")
    for binary in (bench, lb_train):
        if not os.access(binary, os.X_OK):
            sys.exit(f"comm_bench: {binary} not found; build it first (scripts/setup)")
    if args.ranks < 2 or args.ranks % 2:
        sys.exit("comm_bench: --ranks must be an even number >= 2 (hierarchical uses 2 groups)")
    for name, section, binary in (("bandwidth", bandwidth, bench), ("fusion", fusion, bench),
                                  ("exposed", exposed, lb_train), ("defaults", defaults, bench)):
        if name in args.only:
            section(args, binary)


if __name__ == "__main__":
    main()
