#!/usr/bin/python3
"""Throughput, scaling efficiency and cost against GPU count from simulate-scaling.

  analysis/plot_scaling.py RUN_DIR [RUN_DIR ...] [--labels a,b] [--out scaling.png]

Each RUN_DIR holds a scaling.json written by `simulate-scaling SPEC --out
RUN_DIR`. Several directories (e.g. the same spec with different all-reduce
algorithms, via --set) are drawn on the same axes: images/s on a log-log
plot next to ideal linear scaling from the smallest GPU count, and
efficiency in percent. The PNG goes to --out (default: the first
RUN_DIR/scaling.png). The third panel is the cost of the whole run: money
when scaling.json has a price per GPU-hour, else GPU-hours. Rows whose
per-GPU batch does not fit the GPU's memory are crossed out in red. Run with
/usr/bin/python3 (Debian's python3-matplotlib).
"""

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(run_dir):
    path = Path(run_dir) / "scaling.json"
    try:
        doc = json.loads(path.read_text())
        rows = doc["results"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"plot_scaling: {path}: {e}")
    return doc, sorted(rows, key=lambda r: r["gpus"])


def label_of(doc, run_dir):
    comm = doc.get("comm", {})
    fusion = comm.get("fusion_bytes", 0)
    fusion_text = "per tensor" if fusion == 0 else f"fusion {fusion / 2**20:g} MiB"
    return f"{Path(run_dir).name}: {comm.get('algorithm', '?')}, {fusion_text}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--labels", help="comma-separated legend labels, one per RUN_DIR")
    parser.add_argument("--out", help="PNG to write")
    args = parser.parse_args()
    labels = args.labels.split(",") if args.labels else None
    if labels and len(labels) != len(args.runs):
        sys.exit("plot_scaling: --labels needs one label per RUN_DIR")

    fig, (ax_tp, ax_eff, ax_cost) = plt.subplots(1, 3, figsize=(17, 4.8))
    title = None
    for i, run in enumerate(args.runs):
        doc, rows = load(run)
        gpus = [r["gpus"] for r in rows]
        label = labels[i] if labels else label_of(doc, run)
        line, = ax_tp.plot(gpus, [r["images_per_s"] for r in rows], "o-", label=label)
        ideal = rows[0]["images_per_s"] / rows[0]["gpus"] / rows[0]["efficiency"]
        ax_tp.plot(gpus, [ideal * g for g in gpus], ":", color=line.get_color(), alpha=0.6)
        ax_eff.plot(gpus, [100 * r["efficiency"] for r in rows], "o-", color=line.get_color(), label=label)
        price = doc.get("price_per_gpu_hour", 0) or 0
        cost_key = "cost" if price > 0 else "gpu_hours"
        ax_cost.plot(gpus, [r.get(cost_key, 0) for r in rows], "o-", color=line.get_color(), label=label)
        ax_cost.set_ylabel(f"cost of the run (at {price:g} per GPU-hour)" if price > 0 else "GPU-hours of the run")
        unfit = [r for r in rows if not r.get("fits_memory", True)]
        if unfit:
            ax_tp.plot([r["gpus"] for r in unfit], [r["images_per_s"] for r in unfit], "x", color="red",
                       markersize=10, label="does not fit GPU memory" if i == 0 else None)
        title = title or f"{doc['model']}, global batch {doc['global_batch']}, {doc['cluster'].get('gpu', '?')}"
    for ax in (ax_tp, ax_eff, ax_cost):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("GPUs")
        ax.grid(True, which="both", alpha=0.3)
    ax_tp.set_yscale("log")
    ax_tp.set_ylabel("images/s (dotted: linear scaling)")
    ax_eff.set_ylabel("scaling efficiency (%)")
    ax_eff.set_ylim(0, 105)
    ax_eff.legend(fontsize=8, loc="lower left")
    ax_cost.set_yscale("log")
    fig.suptitle(f"simulate-scaling: {title}")
    fig.tight_layout()
    out = Path(args.out) if args.out else Path(args.runs[0]) / "scaling.png"
    fig.savefig(out, dpi=120)
    print(f"plot_scaling: wrote {out}")


if __name__ == "__main__":
    main()
