"""study.py report's plots (matplotlib, Agg):

  results/study-a.png          validation and test accuracy against epoch for
                               each arm's chosen setting (mean of its seeds),
                               and the gradient noise scale B_simple over training
  results/tuning.png           final validation accuracy of every tuning point
  results/steps-to-target.png  Study B: steps to the target against batch
                               (log-log), the fit S_min (1 + B_crit / B), the
                               perfect-scaling line and the measured B_simple
"""

import statistics
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from study_report import read_jsonl  # noqa: E402


def curves(run_dir):
    """A run's eval rows and noise-scale rows; none for a run recovered after a
    loss, which kept only its summary."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return [], []
    rows = read_jsonl(path)
    evals = [r for r in rows if r.get("type") == "eval"]
    noise = [r for r in rows if r.get("type") == "noise_scale" and r.get("b_simple")]
    return evals, noise


def mean_by_epoch(series):
    """{epoch: [values of each seed]} -> sorted epochs, means (epochs every seed has)."""
    epochs = sorted(e for e, v in series.items() if len(v) == max(len(x) for x in series.values()))
    return epochs, [statistics.fmean(series[e]) for e in epochs]


def plot_study_a(study, runs, results, arms):
    fig, (ax_val, ax_test, ax_noise) = plt.subplots(1, 3, figsize=(17, 5))
    for arm, a in zip(study.ARMS_A, arms):
        if a.get("chosen") is None or not a.get("seeds"):
            continue
        val, test, noise = defaultdict(list), defaultdict(list), []
        for seed in a["seeds"]:
            r = study.Run("A", arm.name, study.ARMS / arm.spec, arm.knob, a["chosen"], seed)
            evals, n = curves(r.directory(runs))
            for e in evals:
                val[round(e["epoch"], 3)].append(e["validation_accuracy"])
                test[round(e["epoch"], 3)].append(e["test_accuracy"])
            if seed == a["seeds"][0]:
                noise = n
        label = f"{arm.name} ({a['knob'].split('.')[-1]} {a['chosen']:g}, {len(a['seeds'])} seed(s))"
        for ax, series in ((ax_val, val), (ax_test, test)):
            x, y = mean_by_epoch(series)
            ax.plot(x, [100 * v for v in y], label=label)
        if noise:
            ax_noise.plot([r["epoch"] for r in noise], [r["b_simple"] for r in noise], label=arm.name)
    for ax, title in ((ax_val, "validation accuracy (5,000 held out)"), (ax_test, "test accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel("%")
        ax.set_ylim(85, 95)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    ax_val.legend(fontsize=7, loc="lower right")
    ax_noise.set_yscale("log")
    ax_noise.set_xlabel("epoch")
    ax_noise.set_ylabel("B_simple (smoothed)")
    ax_noise.set_title("gradient noise scale, seed 1")
    ax_noise.grid(alpha=0.3, which="both")
    ax_noise.legend(fontsize=7)
    fig.suptitle("Study A: lenet_bn on Fashion-MNIST, 90 epochs; batch 3072 = 5.6 % of the data per step, 1,530 steps")
    fig.tight_layout()
    fig.savefig(results / "study-a.png", dpi=110)
    plt.close(fig)


def plot_tuning(study, arms, results):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for a in arms:
        pts = [(t[next(iter(t))], t["validation_accuracy"]) for t in a["tuning"] if t["validation_accuracy"]]
        if pts:
            pts.sort()
            ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker="o", label=a["arm"])
    ax.set_xscale("log")
    ax.set_xlabel("main knob (lr.base per 256 images, or LARS eta)")
    ax.set_ylabel("final validation accuracy, seed 1 (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(results / "tuning.png", dpi=110)
    plt.close(fig)


def plot_steps_to_target(study, results, rows, fits):
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    b_simple = [r["b_simple"] for r in rows if r.get("b_simple")]
    for opt, color in zip(study.OPTIMIZERS_B, ("C0", "C1")):
        pts = [(r["batch"], r["steps"]) for r in rows if r["optimizer"] == opt and r["steps"]]
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o", color=color, label=f"{opt}: best of its lrs")
        fit = fits.get(opt)
        if fit:
            bs = [2 ** (i / 8) for i in range(8 * 7, 8 * 15 + 1)]
            ax.plot(bs, [fit["s_min"] * (1 + fit["b_crit"] / b) for b in bs], "-", color=color, alpha=0.6,
                    label=f"{opt} fit: S_min {fit['s_min']:.0f}, B_crit {fit['b_crit']:.0f}")
        b0, s0 = pts[0]
        ax.plot([b0, 16384], [s0, s0 * b0 / 16384], ":", color=color, alpha=0.6,
                label=f"{opt}: perfect scaling from batch {b0}")
    if b_simple:
        ax.axvline(statistics.median(b_simple), color="grey", ls="--",
                   label=f"measured B_simple at the target (median {statistics.median(b_simple):.0f})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("global batch")
    ax.set_ylabel(f"steps to {100 * study.TARGET:.0f} % validation accuracy")
    ax.set_title("Study B: steps to target (lenet_bn, Fashion-MNIST)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(results / "steps-to-target.png", dpi=110)
    plt.close(fig)


def plot_all(study, runs, results, arms, rows, fits):
    plot_study_a(study, runs, results, arms)
    plot_tuning(study, arms, results)
    plot_steps_to_target(study, results, rows, fits)
