#!/usr/bin/python3
"""Time and cost to a target accuracy from `simulate-scaling plan`.

  analysis/plot_plan.py PLAN_DIR [--out plan.png]

PLAN_DIR holds the plan.json that `simulate-scaling plan SPEC --convergence
FILE --out PLAN_DIR` wrote. Left: time to accuracy against GPU count, one line
per global batch (dashed where the batch lies outside the batches the
convergence model was measured on), the cost Pareto front ringed. Right:
GPU-hours (or cost, with a price) against time to accuracy, every
configuration, the Pareto front joined, the recommended ones labelled. The
PNG goes to --out (default PLAN_DIR/plan.png). Run with /usr/bin/python3
(Debian's python3-matplotlib).
"""

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(plan_dir):
    path = Path(plan_dir) / "plan.json"
    try:
        doc = json.loads(path.read_text())
        rows = doc["rows"]
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"plot_plan: {path}: {e}")
    if not rows:
        sys.exit(f"plot_plan: {path}: no rows")
    return doc, rows


def hours(row):
    return row["time_to_accuracy_s"] / 3600


def spend(row, priced):
    return row["cost"] if priced else row["gpu_hours"]


def plot_time_vs_gpus(ax, rows):
    for batch in sorted({r["global_batch"] for r in rows}):
        line = sorted((r for r in rows if r["global_batch"] == batch), key=lambda r: r["gpus"])
        style = "--" if line[0]["extrapolated"] else "-"
        ax.plot([r["gpus"] for r in line], [hours(r) for r in line], "o" + style, ms=4,
                label=f"batch {batch}" + (" (extrapolated)" if line[0]["extrapolated"] else ""))
    front = [r for r in rows if r["pareto"]]
    ax.plot([r["gpus"] for r in front], [hours(r) for r in front], "o", ms=11, mfc="none", mec="black",
            label="cost Pareto front")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("GPUs")
    ax.set_ylabel("time to accuracy (h)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)


def plot_cost_vs_time(ax, doc, rows, priced):
    ax.plot([hours(r) for r in rows], [spend(r, priced) for r in rows], ".", color="grey", label="every pair")
    front = sorted((r for r in rows if r["pareto"]), key=hours)
    ax.plot([hours(r) for r in front], [spend(r, priced) for r in front], "o-", color="black",
            label="Pareto front")
    picks = doc.get("recommendation") or {}
    for name, row in picks.items():
        label = name.replace("_", " ").replace("10pct", "10 %")
        ax.annotate(f"{label}\n{row['gpus']} GPUs, batch {row['global_batch']}", (hours(row), spend(row, priced)),
                    textcoords="offset points", xytext=(8, 8), fontsize=7,
                    arrowprops={"arrowstyle": "-", "color": "grey"})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time to accuracy (h)")
    ax.set_ylabel(f"cost (price {doc['price_per_gpu_hour']:g} per GPU-hour)" if priced else "GPU-hours")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan_dir")
    parser.add_argument("--out", help="PNG to write")
    args = parser.parse_args()
    doc, rows = load(args.plan_dir)
    priced = doc.get("price_per_gpu_hour") is not None
    fig, (ax_time, ax_cost) = plt.subplots(1, 2, figsize=(13, 5))
    plot_time_vs_gpus(ax_time, rows)
    plot_cost_vs_time(ax_cost, doc, rows, priced)
    fig.suptitle(f"{doc['spec']}: {doc['model']} on {doc['gpu']}, time to {doc['target']} "
                 f"(convergence: {doc['convergence']['method']})", fontsize=10)
    fig.tight_layout()
    out = Path(args.out) if args.out else Path(args.plan_dir) / "plan.png"
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
