#!/usr/bin/env python3
"""How far apart an lb-train run's ranks are in each step, from its traces.

    simulator/rank_skew.py RUN_DIR [RUN_DIR ...]

Reads RUN_DIR/trace.rankR.json of every rank (experiments/SPEC.md: each
process's times start at its own origin). Traces that name their host and
clock origin (lb-train since 2026-12-07) and share one host are put on that
host's steady clock exactly. Older traces, or ranks on several hosts, are
aligned on the end of each step's last all-reduce (the median over the steps
of each rank's offset), which assumes the ranks leave it together: true
within 0.1 ms for ranks with a core each, not for time-sliced ranks, whose
ring all-reduces ended 3-5 ms apart on a 2-core VM. Then, per step: the
spread (latest - earliest, over the ranks) of when forward starts, when
forward ends (i.e. when each rank reaches the first all-reduce of backward)
and when the step's last all-reduce ends. The first three common steps are
skipped (warm-up).

Prints, per run, the medians over the steps (and the largest forward-end
spread) in ms and the median forward time, beside which the simulator's
straggler term (compute_cv x E[max of N normals] x the time since the step
began) stands. Measured on one clock on a 2-core VM (2026-12-07,
simulator/validation/2026-12-07-1128-runtime-paired.md): ranks with a core
each start forward 0.1-0.3 ms apart and reach backward 3.2-3.5 ms apart;
time-sliced ranks (np 3 and 4) start 3-8 ms apart and reach backward 11-29
ms apart, most of a forward.
"""

import argparse
import glob
import json
import os
import statistics
import sys


def read_events(path):
    """One rank's trace events (a bare array, or an object's traceEvents)."""
    with open(path) as f:
        doc = json.load(f)
    return doc["traceEvents"] if isinstance(doc, dict) else doc


def read_steps(events):
    """{step: {"forward": event, "buckets": [all-reduce events]}} of one rank."""
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


def clock_origin(events):
    """(host, origin in µs) from a trace's process_name event, or None."""
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            args = e.get("args", {})
            if "host" in args and "clock_origin_ns" in args:
                return args["host"], args["clock_origin_ns"] / 1e3
    return None


def offsets(traces, ranks, common):
    """Per rank, what to subtract from its times to put it on rank 0's time
    line, and how: "host clock" or "all-reduce ends"."""
    origins = [clock_origin(events) for events in traces]
    if all(origins) and len({h for h, _ in origins}) == 1:
        return [origins[0][1] - o for _, o in origins], "host clock"
    return [statistics.median(last_allreduce_end(r[s]) - last_allreduce_end(ranks[0][s]) for s in common)
            for r in ranks], "all-reduce ends"


def spread(values):
    return (max(values) - min(values)) / 1e3


def skew(run_dir):
    files = sorted(glob.glob(os.path.join(run_dir, "trace.rank*.json")),
                   key=lambda p: int(p.rsplit("rank", 1)[1].split(".")[0]))
    if len(files) < 2:
        raise ValueError(f"{run_dir}: fewer than two trace.rankR.json files")
    traces = [read_events(f) for f in files]
    ranks = [read_steps(events) for events in traces]
    common = sorted(set.intersection(*(set(r) for r in ranks)))[3:]
    if len(common) < 2:
        raise ValueError(f"{run_dir}: fewer than five steps traced by every rank")
    offset, aligned_by = offsets(traces, ranks, common)
    start_spread, end_spread, allreduce_spread, forward = [], [], [], []
    for s in common:
        start_spread.append(spread([r[s]["forward"]["ts"] - o for r, o in zip(ranks, offset)]))
        end_spread.append(spread([r[s]["forward"]["ts"] + r[s]["forward"]["dur"] - o
                                  for r, o in zip(ranks, offset)]))
        allreduce_spread.append(spread([last_allreduce_end(r[s]) - o for r, o in zip(ranks, offset)]))
        forward.append(statistics.mean(r[s]["forward"]["dur"] for r in ranks) / 1e3)
    return {"ranks": len(ranks), "steps": len(common), "aligned_by": aligned_by,
            "forward_start_spread_ms": statistics.median(start_spread),
            "forward_end_spread_ms": statistics.median(end_spread),
            "forward_end_spread_max_ms": max(end_spread),
            "allreduce_end_spread_ms": statistics.median(allreduce_spread),
            "forward_ms": statistics.median(forward)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR")
    args = parser.parse_args()
    print("| run | ranks | steps | aligned by | forward-start spread ms | forward-end spread ms (max) "
          "| last all-reduce end spread ms | forward ms |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for run in args.runs:
        try:
            r = skew(run)
        except (OSError, ValueError, KeyError) as e:
            print(f"rank_skew: {e}", file=sys.stderr)
            failed = True
            continue
        print(f"| {run} | {r['ranks']} | {r['steps']} | {r['aligned_by']} | {r['forward_start_spread_ms']:.2f} | "
              f"{r['forward_end_spread_ms']:.1f} ({r['forward_end_spread_max_ms']:.1f}) | "
              f"{r['allreduce_end_spread_ms']:.2f} | {r['forward_ms']:.1f} |")
    sys.exit(2 if failed else 0)


if __name__ == "__main__":
    main()
