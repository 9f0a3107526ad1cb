"""study.py report: results/results.json, results/steps_to_target.json, the
plots and the README table, from the run directories; finished runs are
archived under results/runs/ (summary.json, metrics.jsonl.gz, provenance).

Every figure comes from a finished run; an arm whose seeds are not all done
is reported with the seeds it has, and says so.
"""

import gzip
import json
import math
import shutil
import statistics
from pathlib import Path


def read_jsonl(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a killed run
    return rows


def archive(run, runs, results):
    """Copies a finished run's record into the repository's results tree."""
    src = run.directory(runs)
    dst = results / "runs" / run.study / run.group / run.name
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json", "provenance.json", "wall.json"):
        if (src / name).exists():
            shutil.copyfile(src / name, dst / name)
    with open(src / "metrics.jsonl", "rb") as f_in, gzip.open(dst / "metrics.jsonl.gz", "wb", 6) as f_out:
        shutil.copyfileobj(f_in, f_out)
    return dst


def mean_sd(values):
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def wall_s(run, runs):
    w = json.loads((run.directory(runs) / "wall.json").read_text())
    return w["wall_s"]


def arm_result(study, arm, runs, results):
    points, chosen = study.tuning_points(arm, runs)
    tuning = []
    for r in study.tuning_runs(arm, runs, points):
        s = study.summary(r, runs)
        tuning.append({arm.knob.label: r.value, "validation_accuracy": s and s.get("validation_accuracy"),
                       "test_accuracy": s and s.get("test_accuracy"), "failed": study.failed(r, runs)})
    if chosen is None:
        return {"arm": arm.name, "title": arm.title, "tuning": tuning, "chosen": None}
    seeds = [study.Run("A", arm.name, study.ARMS / arm.spec, arm.knob, chosen, s) for s in study.SEEDS]
    done = [r for r in seeds if study.summary(r, runs)]
    sums = [study.summary(r, runs) for r in done]
    for r in done:
        archive(r, runs, results)
    spec = sums[0]["spec"]
    test_mean, test_sd = mean_sd([s["test_accuracy"] for s in sums])
    val_mean, val_sd = mean_sd([s["validation_accuracy"] for s in sums])
    noise = [s["noise_scale"]["b_simple"] for s in sums if s.get("noise_scale") and s["noise_scale"]["b_simple"]]
    return {
        "arm": arm.name,
        "title": arm.title,
        "batch": spec["train"]["global_batch"],
        "optimizer": spec["optimizer"]["name"] + (" (nesterov)" if spec["optimizer"]["nesterov"] else ""),
        "precision": spec["train"]["precision"],
        "decay_bias_and_norm": spec["optimizer"]["decay_bias_and_norm"],
        "knob": arm.knob.key,
        "chosen": chosen,
        "tuning": tuning,
        "seeds": [r.seed for r in done],
        "test_accuracy_mean": test_mean,
        "test_accuracy_sd": test_sd,
        "test_accuracy": [s["test_accuracy"] for s in sums],
        "validation_accuracy_mean": val_mean,
        "validation_accuracy_sd": val_sd,
        "steps": sums[0]["steps"],
        "skipped_steps": [s["skipped_steps"] for s in sums],
        "wall_s": statistics.fmean(wall_s(r, runs) for r in done),
        "train_time_s": statistics.fmean(s["train_time_s"] for s in sums),
        "b_simple": statistics.fmean(noise) if noise else None,
    }


def fit_steps_to_target(points):
    """Least squares in log space of S(B) = S_min (1 + B_crit / B) (McCandlish
    et al. 2018): for a given B_crit the best log S_min is a mean, so a 1-D
    search over log B_crit finds the fit."""
    if len(points) < 2:
        return None
    bs = [p[0] for p in points]
    logs = [math.log(p[1]) for p in points]

    def fit(b_crit):
        shifted = [l - math.log1p(b_crit / b) for l, b in zip(logs, bs)]
        log_s_min = statistics.fmean(shifted)
        return sum((x - log_s_min) ** 2 for x in shifted), math.exp(log_s_min)

    lo, hi = math.log(1.0), math.log(1e7)
    grid = [lo + (hi - lo) * i / 400 for i in range(401)]
    best = min(grid, key=lambda g: fit(math.exp(g))[0])
    step = (hi - lo) / 400
    for _ in range(60):  # golden-section refinement around the best grid point
        a, b = best - step, best + step
        m1, m2 = a + 0.382 * (b - a), a + 0.618 * (b - a)
        best = m1 if fit(math.exp(m1))[0] < fit(math.exp(m2))[0] else m2
        step *= 0.618
    b_crit = math.exp(best)
    residual, s_min = fit(b_crit)
    return {"s_min": s_min, "b_crit": b_crit, "rms_log_residual": math.sqrt(residual / len(points)),
            "residuals": [{"batch": b, "measured": math.exp(l), "fitted": s_min * (1 + b_crit / b)}
                          for b, l in zip(bs, logs)]}


def steps_to_target(study, runs, results):
    rows, fits = [], {}
    for opt in study.OPTIMIZERS_B:
        points = []
        for batch in study.BATCHES_B:
            group = [r for r in study.plan_b() if r.group == f"{opt}-b{batch}"]
            reached = []
            for r in group:
                s = study.summary(r, runs)
                if s and s.get("stopped_at_target"):
                    reached.append((s["steps_to_target"], r))
                    archive(r, runs, results)
            tried = [r.value for r in group if study.summary(r, runs) or study.failed(r, runs)]
            row = {"batch": batch, "optimizer": opt, "knob": group[0].knob.key, "tried": tried,
                   "runs_planned": len(group)}
            if reached:
                steps, r = min(reached, key=lambda x: x[0])
                s = study.summary(r, runs)
                row.update({"steps": steps, "lr": r.value, "epochs": steps / study.steps_per_epoch(batch),
                            "b_simple": s["noise_scale"]["b_simple"] if s.get("noise_scale") else None})
                points.append((batch, steps))
            else:
                row.update({"steps": None, "lr": None})
            rows.append(row)
        fits[opt] = fit_steps_to_target(points)
    return rows, fits


def report(args, study):
    runs = Path(args.runs)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    arms = [arm_result(study, arm, runs, results) for arm in study.ARMS_A]
    rows, fits = steps_to_target(study, runs, results)
    (results / "results.json").write_text(json.dumps(arms, indent=2) + "\n")
    (results / "steps_to_target.json").write_text(json.dumps({"target": {"metric": "validation_accuracy",
                                                                         "value": study.TARGET},
                                                              "points": rows, "fit": fits}, indent=2) + "\n")
    table = markdown_table(arms)
    (results / "table.md").write_text(table)
    print(table)
    import study_plots

    study_plots.plot_all(study, runs, results, arms, rows, fits)


def pct(x):
    return "—" if x is None else f"{100 * x:.2f}"


def markdown_table(arms):
    base = arms[0].get("test_accuracy_mean")
    lines = ["| arm | batch | optimizer | precision | chosen | seeds | test acc. % (mean ± sd) | Δ vs baseline (pp) | "
             "validation % | steps | wall s (mean) | B_simple (end) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for a in arms:
        if a.get("chosen") is None or not a.get("seeds"):
            lines.append(f"| {a['arm']} | | | | tuning | | | | | | | |")
            continue
        sd = "" if a["test_accuracy_sd"] is None else f" ± {100 * a['test_accuracy_sd']:.2f}"
        delta = "" if base is None else f"{100 * (a['test_accuracy_mean'] - base):+.2f}"
        noise = "—" if a["b_simple"] is None else f"{a['b_simple']:.0f}"
        lines.append(f"| {a['arm']} | {a['batch']} | {a['optimizer']} | {a['precision']} | "
                     f"{a['knob'].split('.')[-1]} {a['chosen']:g} | {len(a['seeds'])} | "
                     f"{pct(a['test_accuracy_mean'])}{sd} | {delta} | {pct(a['validation_accuracy_mean'])} | "
                     f"{a['steps']} | {a['wall_s']:.0f} | {noise} |")
    return "\n".join(lines) + "\n"
