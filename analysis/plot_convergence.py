#!/usr/bin/python3
"""Convergence plot and results table of a multi-config, multi-seed study.

Reads the run directories <runs>/<config>-s<seed>/ written by lb-train
(metrics.jsonl, summary.json), one config per spec file in --specs, and writes

  * a PNG: test accuracy against epoch (the mean of the seeds per config as a
    solid line, each seed as a thin light line) and the training loss against
    epoch (mean of the seeds);
  * a markdown table: config, model, batch, optimizer, precision, weight decay
    on bias/BN, epochs, test accuracy (mean and each seed), difference to the
    baseline config in percentage points, mean train_time_s, skipped fp16
    steps. It is printed and written to --table.

A run with no summary.json is listed as "not run"; one whose metrics.jsonl
exists without a summary.json is "running/incomplete", or "failed: ..." when
run.sh left a FAILED marker (e.g. the loss diverged); partial curves are still
drawn, dashed. The mean of a config is over its finished seeds. Made for
experiments/large-batch-fmnist/, but any directory of specs works.

Run with /usr/bin/python3 (Debian's python3-matplotlib).
"""

import argparse
import json
import math
import sys
from pathlib import Path

# Defaults of the spec keys the table shows (runtime/core/spec.hpp); used only
# for configs that have not run, whose resolved spec is not known yet.
SPEC_DEFAULTS = {
    ("model", "name"): "lenet_bn",
    ("train", "global_batch"): 256,
    ("train", "precision"): "fp16",
    ("train", "epochs"): 5,
    ("optimizer", "name"): "lars",
    ("optimizer", "decay_bias_and_norm"): False,
}


def spec_value(spec, section, key):
    value = spec.get(section, {}).get(key)
    return SPEC_DEFAULTS[(section, key)] if value is None else value


def read_jsonl(path):
    """Records of a metrics.jsonl; a line cut short by a killed run is skipped."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def by_step(records, kind):
    """(epoch, record) of one record type, one per step, sorted. A resumed run
    appends again the steps after its checkpoint; the last record wins (resume
    is bit-identical, so they agree)."""
    latest = {}
    for r in records:
        if r.get("type") == kind and "step" in r:
            latest[r["step"]] = r
    return [(latest[s]["epoch"], latest[s]) for s in sorted(latest)]


class Run:
    def __init__(self, path):
        self.path = path
        self.summary = None
        self.evals = []   # (epoch, test_accuracy)
        self.losses = []  # (epoch, training loss)
        self.failed = None  # the FAILED marker of run.sh: "exit N: last log line"
        summary = path / "summary.json"
        marker = path / "FAILED"
        if marker.is_file():
            self.failed = marker.read_text(encoding="utf-8").strip() or "failed"
        metrics = path / "metrics.jsonl"
        if summary.is_file():
            with open(summary, encoding="utf-8") as f:
                self.summary = json.load(f)
        if metrics.is_file():
            records = read_jsonl(metrics)
            self.evals = [(e, r["test_accuracy"]) for e, r in by_step(records, "eval")]
            self.losses = [(e, r["loss"]) for e, r in by_step(records, "step")]

    @property
    def finished(self):
        return self.summary is not None and self.summary.get("finished", False)

    @property
    def started(self):
        return self.summary is not None or bool(self.evals) or bool(self.losses)


class Config:
    def __init__(self, name, spec, runs_dir, seeds):
        self.name = name
        self.file_spec = spec
        self.runs = {s: Run(runs_dir / f"{name}-s{s}") for s in seeds}

    def finished_runs(self):
        return {s: r for s, r in self.runs.items() if r.finished}

    def spec(self):
        """The resolved spec of a finished run (it has every key and any --set
        override), else the spec file."""
        for run in self.runs.values():
            if run.summary is not None and "spec" in run.summary:
                return run.summary["spec"]
        return self.file_spec

    def describe(self):
        spec = self.spec()
        opt = spec_value(spec, "optimizer", "name")
        precision = spec_value(spec, "train", "precision")
        if precision == "fp16":
            mode = spec.get("train", {}).get("loss_scale", {}).get("mode", "dynamic")
            precision = f"fp16 ({mode} scaling)" if mode != "none" else "fp16 (no scaling)"
        return {
            "model": spec_value(spec, "model", "name"),
            "batch": spec_value(spec, "train", "global_batch"),
            "optimizer": "LARS" if opt == "lars" else "SGD",
            "precision": precision,
            "wd_bias_norm": "yes" if spec_value(spec, "optimizer", "decay_bias_and_norm") else "no",
            "epochs": spec_value(spec, "train", "epochs"),
        }

    def accuracies(self):
        return {s: r.summary["test_accuracy"] for s, r in self.finished_runs().items()}

    def mean_accuracy(self):
        acc = list(self.accuracies().values())
        return sum(acc) / len(acc) if acc else None


def mean_curve(curves):
    """Mean over seeds at the epochs every seed has reached."""
    curves = [dict(c) for c in curves if c]
    if not curves:
        return []
    common = sorted(set.intersection(*(set(c) for c in curves)))
    return [(e, sum(c[e] for c in curves) / len(curves)) for e in common]


def fmt_pct(x):
    return "—" if x is None else f"{100 * x:.2f}"


def fmt_num(x):
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def table(configs, seeds, baseline):
    base = next((c for c in configs if c.name == baseline), None)
    base_acc = base.mean_accuracy() if base else None
    seed_cols = " | ".join(f"seed {s} (%)" for s in seeds)
    lines = [
        f"| config | model | batch | optimizer | precision | wd on bias/BN | epochs | "
        f"test acc. mean (%) | {seed_cols} | Δ vs {baseline} (pp) | train time mean (s) | "
        f"skipped fp16 steps |",
        "|" + "---|" * (11 + len(seeds)),
    ]
    for c in configs:
        d = c.describe()
        done = c.finished_runs()
        acc = c.accuracies()
        mean = c.mean_accuracy()
        cells = []
        for s in seeds:
            run = c.runs[s]
            if s in acc:
                cells.append(fmt_pct(acc[s]))
            elif run.failed:
                cells.append("failed: " + run.failed.replace("|", "/")[:80])
            elif run.started:
                cells.append("running/incomplete")
            else:
                cells.append("not run")
        if mean is None:
            mean_cell = "not run"
        else:
            mean_cell = fmt_pct(mean) + ("" if len(done) == len(seeds) else f" ({len(done)} of {len(seeds)} seeds)")
        if mean is None or base_acc is None:
            delta = "—"
        elif c.name == baseline:
            delta = "0 (baseline)"
        else:
            delta = f"{100 * (mean - base_acc):+.2f}"
        times = [r.summary.get("train_time_s") for r in done.values()]
        times = [t for t in times if t is not None]
        time_cell = f"{sum(times) / len(times):.0f}" if times else "—"
        if not done:
            skip_cell = "—"
        elif d["precision"].startswith("fp16"):
            skipped = [str(done[s].summary.get("skipped_steps", "?")) if s in done else "—" for s in seeds]
            steps = [done[s].summary.get("steps") for s in seeds if s in done]
            skip_cell = " / ".join(skipped)
            if steps:
                skip_cell += f" of {steps[0]}"
        else:
            skip_cell = "n/a (fp32)"
        lines.append(
            f"| {c.name} | {d['model']} | {d['batch']} | {d['optimizer']} | {d['precision']} | "
            f"{d['wd_bias_norm']} | {fmt_num(d['epochs'])} | {mean_cell} | {' | '.join(cells)} | "
            f"{delta} | {time_cell} | {skip_cell} |")
    return "\n".join(lines) + "\n"


def plot(configs, seeds, png, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(13, 5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drawn = 0
    lowest = 1.0  # lowest test accuracy drawn
    for i, c in enumerate(configs):
        color = colors[i % len(colors)]
        d = c.describe()
        label = f"{c.name} ({d['optimizer']}, batch {d['batch']}, {d['precision'].split()[0]})"
        acc_curves, loss_curves = [], []
        partial = False  # a drawn run that has no finished summary
        for s in seeds:
            run = c.runs[s]
            if not run.evals and not run.losses:
                continue
            partial = partial or not run.finished
            if run.evals:
                e, a = zip(*run.evals)
                ax_acc.plot(e, [100 * x for x in a], color=color, alpha=0.3, linewidth=0.8,
                            linestyle="-" if run.finished else "--")
                acc_curves.append(run.evals)
                lowest = min(lowest, min(a))
            if run.losses:
                loss_curves.append(run.losses)
        if not acc_curves and not loss_curves:
            continue
        drawn += 1
        style = "--" if partial else "-"
        n_done = len(c.finished_runs())
        suffix = "" if n_done == len(seeds) else f" [{n_done} of {len(seeds)} seeds finished]"
        acc_mean = mean_curve(acc_curves)
        if acc_mean:
            e, a = zip(*acc_mean)
            ax_acc.plot(e, [100 * x for x in a], color=color, linestyle=style, marker="o",
                        markersize=3, linewidth=1.8, label=label + suffix)
        loss_mean = mean_curve(loss_curves)
        if loss_mean:
            e, l = zip(*loss_mean)
            ax_loss.plot(e, l, color=color, linestyle=style, linewidth=1.4, label=label + suffix,
                         marker="o" if len(e) <= 3 else None, markersize=3)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_title("test accuracy (mean of seeds; thin: each seed)")
    ax_acc.grid(True, alpha=0.3)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (logged steps)")
    ax_loss.set_yscale("log")
    ax_loss.set_title("training loss (mean of seeds)")
    ax_loss.grid(True, alpha=0.3, which="both")
    if drawn:
        ax_acc.legend(fontsize=8, loc="best")
        ax_loss.legend(fontsize=8, loc="best")
        # Every drawn point stays visible, so a diverged run near 10% shows.
        ax_acc.set_ylim(max(0, 5 * math.floor((100 * lowest - 1) / 5)), 100)
    else:
        ax_acc.text(0.5, 0.5, "no runs yet", ha="center", va="center", transform=ax_acc.transAxes)
    fig.suptitle(title)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)


def load_configs(spec_dir, names):
    specs = {}
    for f in sorted(spec_dir.glob("*.json")):
        with open(f, encoding="utf-8") as fh:
            specs[f.stem] = json.load(fh)
    if names:
        missing = [n for n in names if n not in specs]
        if missing:
            sys.exit(f"plot_convergence: no spec {', '.join(missing)} in {spec_dir}")
        return [(n, specs[n]) for n in names]
    return sorted(specs.items())


def main(argv=None):
    repo = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(
        description="Plot test accuracy against epoch (mean of seeds per config) and write a "
                    "markdown results table for a directory of lb-train runs named "
                    "<config>-s<seed>.")
    p.add_argument("--runs", type=Path, default=Path("runs/large-batch-fmnist"),
                   help="directory holding the run directories (default: %(default)s)")
    p.add_argument("--specs", type=Path, default=repo / "experiments" / "large-batch-fmnist",
                   help="directory of the config specs, one <config>.json each; the file names "
                        "are the config names (default: experiments/large-batch-fmnist)")
    p.add_argument("--configs", nargs="+", metavar="CONFIG",
                   help="configs to report, in this order (default: every spec in --specs, sorted)")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2],
                   help="seeds of each config (default: 1 2)")
    p.add_argument("--baseline", default="a-sgd-b256-fp32",
                   help="config the differences are taken to (default: %(default)s)")
    p.add_argument("--png", type=Path, help="plot file (default: RUNS/convergence.png)")
    p.add_argument("--table", type=Path, help="markdown table file (default: RUNS/results.md)")
    p.add_argument("--title", default="Large-batch convergence on Fashion-MNIST",
                   help="figure title")
    p.add_argument("--no-plot", action="store_true", help="only the table")
    args = p.parse_args(argv)

    configs = [Config(n, s, args.runs, args.seeds) for n, s in load_configs(args.specs, args.configs)]
    if not configs:
        sys.exit(f"plot_convergence: no *.json spec in {args.specs}")
    text = table(configs, args.seeds, args.baseline)
    print(text, end="")
    table_path = args.table or args.runs / "results.md"
    table_path.parent.mkdir(parents=True, exist_ok=True)
    table_path.write_text(text, encoding="utf-8")
    print(f"wrote {table_path}")
    if not args.no_plot:
        png = args.png or args.runs / "convergence.png"
        plot(configs, args.seeds, png, args.title)
        print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
