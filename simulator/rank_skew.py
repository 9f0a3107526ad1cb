#!/usr/bin/env python3
"""How far apart an lb-train run's ranks are in each step, from its traces.

    simulator/rank_skew.py RUN_DIR [RUN_DIR ...]

Reads RUN_DIR/trace.rankR.json of every rank (experiments/SPEC.md: each
process's times start at its own origin). The ranks' clocks are aligned on
the end of the last all-reduce of one step, which every rank leaves at
nearly the same moment (it is a barrier). Then, per step: the spread
(latest - earliest, over the ranks) of when forward starts and when forward
ends, i.e. when each rank reaches the first all-reduce of backward. The
first three common steps are skipped (warm-up; the alignment step).

Prints, per run, the medians (and the largest forward-end spread) in ms and
the median forward time, the quantity the simulator's straggler term
(compute_cv x E[max of N normals] x the time since the step began) stands
for. Ranks with a core each are a fraction of a millisecond apart; ranks
time-sliced on shared cores were 13-17 ms apart on a 2-core VM whatever
their forward took (simulator/validation/2026-12-07-0805-runtime-binding.md).
"""

import argparse
import glob
import json
import os
import statistics
import sys


def read_steps(path):
    """{step: {"forward": event, "buckets": [all-reduce events]}} of one rank."""
    with open(path) as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    steps = {}
    for e in events:
        step = e.get("args", {}).get("step")
        if step is None:
            continue
        name = e.get("name", "")
        if name == "forward":
            steps.setdefault(step, {})["forward"] = e
        elif name.startswith("allreduce bucket"):
            steps.setdefault(step, {}).setdefault("buckets", []).append(e)
    return {s: v for s, v in steps.items() if "forward" in v and v.get("buckets")}


def last_allreduce_end(step):
    return max(b["ts"] + b["dur"] for b in step["buckets"])


def skew(run_dir):
    files = sorted(glob.glob(os.path.join(run_dir, "trace.rank*.json")),
                   key=lambda p: int(p.rsplit("rank", 1)[1].split(".")[0]))
    if len(files) < 2:
        raise ValueError(f"{run_dir}: fewer than two trace.rankR.json files")
    ranks = [read_steps(f) for f in files]
    common = sorted(set.intersection(*(set(r) for r in ranks)))[3:]
    if len(common) < 2:
        raise ValueError(f"{run_dir}: fewer than five steps traced by every rank")
    anchor = common[0]
    offset = [last_allreduce_end(r[anchor]) - last_allreduce_end(ranks[0][anchor]) for r in ranks]
    start_spread, end_spread, forward = [], [], []
    for s in common[1:]:
        starts = [r[s]["forward"]["ts"] - o for r, o in zip(ranks, offset)]
        ends = [r[s]["forward"]["ts"] + r[s]["forward"]["dur"] - o for r, o in zip(ranks, offset)]
        start_spread.append((max(starts) - min(starts)) / 1e3)
        end_spread.append((max(ends) - min(ends)) / 1e3)
        forward.append(statistics.mean(r[s]["forward"]["dur"] for r in ranks) / 1e3)
    return {"ranks": len(ranks), "steps": len(common) - 1,
            "forward_start_spread_ms": statistics.median(start_spread),
            "forward_end_spread_ms": statistics.median(end_spread),
            "forward_end_spread_max_ms": max(end_spread),
            "forward_ms": statistics.median(forward)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR")
    args = parser.parse_args()
    print("| run | ranks | steps | forward-start spread ms | forward-end spread ms (max) | forward ms |")
    print("|---|---|---|---|---|---|")
    failed = False
    for run in args.runs:
        try:
            r = skew(run)
        except (OSError, ValueError, KeyError) as e:
            print(f"rank_skew: {e}", file=sys.stderr)
            failed = True
            continue
        print(f"| {run} | {r['ranks']} | {r['steps']} | {r['forward_start_spread_ms']:.2f} | "
              f"{r['forward_end_spread_ms']:.1f} ({r['forward_end_spread_max_ms']:.1f}) | {r['forward_ms']:.1f} |")
    sys.exit(2 if failed else 0)


if __name__ == "__main__":
    main()
