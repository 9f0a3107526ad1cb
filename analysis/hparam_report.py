#!/usr/bin/python3
"""Plots of a hyper-parameter sweep (hparam-sweep report calls this).

Usage: hparam_report.py REPORT_DIR OBJECTIVE [--log KEY]...

Reads REPORT_DIR/trials.csv and REPORT_DIR/evals.csv (written by
`hparam-sweep report DIR`, or `hparam-sweep export DIR --csv [--evals]`) and
writes into REPORT_DIR:

  * objective_vs_params.png: the objective against each parameter, one panel
    per parameter, one colour per stage; finished trials as dots, trials
    stopped early by successive halving as crosses (their value at the rung
    where they stopped), log axes for the parameters given with --log (those
    the sweep searches on a log scale);
  * best_so_far.png: the best finished objective so far against the compute
    spent, in trial wall-clock seconds and in trial-epochs (trials in the order
    they ended; failed and pruned trials count as spent). Stages train at
    different fidelities, so a step up can also mean "a higher-fidelity stage
    began", not only "a better configuration was found";
  * learning_curves.png: every trial's per-epoch evaluations, one colour per stage.

Run with /usr/bin/python3 (Debian's python3-matplotlib).
"""

import csv
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FIXED = ["id", "stage", "stage_name", "status", "objective", "test_accuracy", "epochs_done", "epochs_run",
         "budget_epochs", "wall_s", "attempts", "finished_at"]
TRAILING = ["estimated_time_to_train_s", "reason", "command"]


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def stage_colours(trials):
    stages = sorted({(int(t["stage"]), t["stage_name"]) for t in trials})
    cmap = plt.get_cmap("tab10")
    return {name: cmap(i % 10) for i, (_, name) in enumerate(stages)}, [n for _, n in stages]


def plot_params(trials, params, log_params, objective, colours, stages, out):
    cols = min(3, max(1, len(params)))
    rows = math.ceil(len(params) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.5 * rows), squeeze=False)
    for ax, key in zip(axes.flat, params):
        for stage in stages:
            for status, marker in (("done", "o"), ("pruned", "x")):
                pts = [(number(t[key]), number(t["objective"])) for t in trials
                       if t["stage_name"] == stage and t["status"] == status
                       and number(t[key]) is not None and number(t["objective"]) is not None]
                if pts:
                    ax.scatter(*zip(*pts), marker=marker, color=colours[stage], s=22, alpha=0.8,
                               label=f"{stage} ({status})")
        if key in log_params:
            ax.set_xscale("log")
        ax.set_xlabel(key + (" (log scale)" if key in log_params else ""))
        ax.set_ylabel(objective)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(params):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{objective} against each parameter (x: stopped early by successive halving)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_best_so_far(trials, objective, maximize, out):
    ended = sorted((t for t in trials if number(t["finished_at"])), key=lambda t: number(t["finished_at"]))
    seconds, epochs, best_curve = [], [], []
    spent_s = spent_ep = 0.0
    best = None
    for t in ended:
        spent_s += number(t["wall_s"]) or 0
        spent_ep += number(t["epochs_run"]) or 0  # a carried trial trained nothing itself
        value = number(t["objective"])
        if t["status"] == "done" and value is not None and not math.isnan(value):
            if best is None or (value > best if maximize else value < best):
                best = value
        seconds.append(spent_s)
        epochs.append(spent_ep)
        best_curve.append(best if best is not None else float("nan"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].step(seconds, best_curve, where="post")
    axes[0].set_xlabel("compute spent: trial wall-clock seconds (summed over trials)")
    axes[1].step(epochs, best_curve, where="post")
    axes[1].set_xlabel("compute spent: trial-epochs")
    for ax in axes:
        ax.set_ylabel(f"best {objective} so far")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_curves(trials, evals, objective, colours, out):
    stage_of = {t["id"]: t["stage_name"] for t in trials}
    curves = {}
    for e in evals:
        curves.setdefault(e["trial_id"], []).append((number(e["epoch"]), number(e["value"])))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    seen = set()
    for trial, pts in curves.items():
        stage = stage_of.get(trial, "?")
        label = stage if stage not in seen else None
        seen.add(stage)
        pts = [p for p in pts if p[1] is not None]
        if pts:
            ax.plot(*zip(*pts), color=colours.get(stage, "grey"), alpha=0.6, lw=1, marker=".", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(objective)
    ax.grid(alpha=0.3)
    if seen:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    args = sys.argv[1:]
    if len(args) < 2 or len(args) % 2 != 0 or any(flag != "--log" for flag in args[2::2]):
        sys.exit(__doc__)
    report, objective, log_params = Path(args[0]), args[1], set(args[3::2])
    trials = read_csv(report / "trials.csv")
    evals = read_csv(report / "evals.csv")
    if not trials:
        sys.exit("hparam_report.py: no trials in " + str(report / "trials.csv"))
    header = list(trials[0].keys())
    params = [c for c in header if c not in FIXED and c not in TRAILING]
    colours, stages = stage_colours(trials)
    maximize = not objective.endswith("_loss")
    plot_params(trials, params, log_params, objective, colours, stages, report / "objective_vs_params.png")
    plot_best_so_far(trials, objective, maximize, report / "best_so_far.png")
    plot_curves(trials, evals, objective, colours, report / "learning_curves.png")
    print("wrote", ", ".join(str(report / n) for n in
                             ("objective_vs_params.png", "best_so_far.png", "learning_curves.png")))
    print("log axes:", ", ".join(sorted(log_params)) if log_params else "none")


if __name__ == "__main__":
    main()
