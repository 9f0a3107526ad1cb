"""study.py report: results/results.json, results/steps_to_target.json, the
plots and the README table, from the run directories; finished runs are
archived under results/runs/ (study.archive: summary.json, metrics.jsonl.gz, provenance),
tuning points and runs that ended at their cap included.

Every figure comes from a finished run; an arm whose seeds are not all done
is reported with the seeds it has, and says so.
"""

import gzip
import json
import statistics
import subprocess
import sys
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


def mean_sd(values):
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def wall_s(run, runs):
    """The run's wall time; None for a run recovered after a loss (no wall.json)."""
    path = run.directory(runs) / "wall.json"
    return json.loads(path.read_text())["wall_s"] if path.exists() else None


def mean_of_known(values):
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def arm_result(study, arm, runs, results):
    points, chosen = study.tuning_points(arm, runs)
    tuning = []
    full = []  # finished runs' full summaries: the arm's spec and steps, whatever the knob
    for r in study.tuning_runs(arm, runs, points):
        s = study.summary(r, runs)
        if s and "spec" in s:
            full.append(s)
        if s:
            study.archive(r, runs, results)
        tuning.append({arm.knob.label: r.value, "validation_accuracy": s and s.get("validation_accuracy"),
                       "test_accuracy": s and s.get("test_accuracy"), "failed": study.failed(r, runs)})
    if chosen is None:
        return {"arm": arm.name, "title": arm.title, "tuning": tuning, "chosen": None}
    seeds = [study.Run("A", arm.name, study.ARMS / arm.spec, arm.knob, chosen, s) for s in study.SEEDS]
    done = [r for r in seeds if study.summary(r, runs)]
    sums = [study.summary(r, runs) for r in done]
    for r in done:
        study.archive(r, runs, results)
    # Runs recovered after a loss keep only their accuracies: the arm's other
    # finished runs, which differ only in the knob, give its spec and steps.
    full = [x for x in sums if "spec" in x] + full
    if not full:
        sys.exit(f"study report: arm {arm.name}: no finished run records its spec")
    spec = full[0]["spec"]
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
        "steps": full[0]["steps"],
        "skipped_steps": [s.get("skipped_steps") for s in sums],  # None: recovered, not recorded
        "wall_s": mean_of_known(wall_s(r, runs) for r in done),
        "train_time_s": mean_of_known(s.get("train_time_s") for s in sums),
        "b_simple": statistics.fmean(noise) if noise else None,
    }


def fit_steps_to_target(run_dirs, simulate_scaling, out_file):
    """S(B) = S_min (1 + B_crit / B) (McCandlish et al. 2018), least squares in
    log space, fitted by `simulate-scaling fit-convergence` (the one definition
    of the fit; it takes the fewest steps per batch among the runs that
    reached the target). Writes the convergence model to out_file; None when
    fewer than 2 batch sizes reached the target."""
    if len({b for b, _ in run_dirs}) < 2:
        return None
    binary = Path(simulate_scaling)
    if not binary.exists():
        sys.exit(f"study_report: {binary} not found (build it, or pass --simulate-scaling)")
    cmd = [str(binary), "fit-convergence", *[str(d) for _, d in run_dirs], "--out", str(out_file)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"study_report: {' '.join(cmd[:2])} ... failed: {done.stderr.strip()}")
    print(done.stdout, end="")
    model = json.loads(Path(out_file).read_text())
    return {"s_min": model["s_min"], "b_crit": model["b_crit"], "rms_log_residual": model["rms_log_residual"],
            "residuals": [{"batch": int(p["batch"]), "measured": p["steps"], "fitted": p["fitted_steps"]}
                          for p in model["points"]],
            "convergence_file": str(Path(out_file).name)}


def steps_to_target(study, runs, results, simulate_scaling):
    rows, fits = [], {}
    for opt in study.OPTIMIZERS_B:
        points = []  # (batch, run directory) of every run that reached the target
        for batch in study.BATCHES_B:
            group = [r for r in study.plan_b(runs) if r.group == f"{opt}-b{batch}"]
            reached = []
            for r in group:
                s = study.summary(r, runs)
                if s:
                    study.archive(r, runs, results)
                if s and s.get("stopped_at_target"):
                    reached.append((s["steps_to_target"], r))
                    points.append((batch, r.directory(runs)))
            tried = [r.value for r in group if study.summary(r, runs) or study.failed(r, runs)]
            row = {"batch": batch, "optimizer": opt, "knob": group[0].knob.key, "tried": tried,
                   "runs_planned": len(group)}
            if reached:
                steps, r = min(reached, key=lambda x: x[0])
                s = study.summary(r, runs)
                # Best at the lowest or highest value tried: a better one may
                # lie beyond, so the steps are an upper bound.
                row.update({"steps": steps, "lr": r.value, "epochs": steps / study.steps_per_epoch(batch),
                            "b_simple": s["noise_scale"]["b_simple"] if s.get("noise_scale") else None,
                            "best_on_edge": len(tried) > 1 and r.value in (min(tried), max(tried))})
            else:
                row.update({"steps": None, "lr": None})
            rows.append(row)
        fits[opt] = fit_steps_to_target(points, simulate_scaling, results / f"convergence-{opt}.json")
    return rows, fits


def report(args, study):
    runs = Path(args.runs)
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    arms = [arm_result(study, arm, runs, results) for arm in study.ARMS_A]
    rows, fits = steps_to_target(study, runs, results, args.simulate_scaling)
    (results / "results.json").write_text(json.dumps(arms, indent=2) + "\n")
    (results / "steps_to_target.json").write_text(json.dumps({"target": {"metric": "validation_accuracy",
                                                                         "value": study.TARGET},
                                                              "points": rows, "fit": fits}, indent=2) + "\n")
    table = markdown_table(arms) + "\n" + steps_table(rows, fits)
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
        wall = "—" if a["wall_s"] is None else f"{a['wall_s']:.0f}"
        lines.append(f"| {a['arm']} | {a['batch']} | {a['optimizer']} | {a['precision']} | "
                     f"{a['knob'].split('.')[-1]} {a['chosen']:g} | {len(a['seeds'])} | "
                     f"{pct(a['test_accuracy_mean'])}{sd} | {delta} | {pct(a['validation_accuracy_mean'])} | "
                     f"{a['steps']} | {wall} | {noise} |")
    return "\n".join(lines) + "\n"


def steps_table(rows, fits):
    """Study B: steps to the target per (optimizer, batch), and each fit."""
    lines = ["| optimizer | batch | steps to 90 % validation | knob value (of those tried) | epochs | "
             "B_simple at the target |", "|---|---|---|---|---|---|"]
    for r in rows:
        tried = ", ".join(f"{v:g}" for v in sorted(r["tried"])) or "none yet"
        if r["steps"] is None:
            lines.append(f"| {r['optimizer']} | {r['batch']} | — (not reached) | tried {tried} | | |")
            continue
        edge = " (best at the edge: an upper bound)" if r.get("best_on_edge") else ""
        noise = "—" if r["b_simple"] is None else f"{r['b_simple']:.0f}"
        lines.append(f"| {r['optimizer']} | {r['batch']} | {r['steps']}{edge} | {r['lr']:g} (of {tried}) | "
                     f"{r['epochs']:.1f} | {noise} |")
    for opt, f in fits.items():
        if f is not None:
            lines.append(f"\n{opt}: S(B) = S_min (1 + B_crit / B) with S_min {f['s_min']:.1f} steps, "
                         f"B_crit {f['b_crit']:.0f} (rms log residual {f['rms_log_residual']:.3f}).")
    return "\n".join(lines) + "\n"
