#!/usr/bin/python3
"""Validation of convergence models (simulator/VALIDATION.md section 6):
predict the steps to target of batch sizes left out of the fit.

  simulator/validate_convergence.py RUN_DIR... [--simulate-scaling BIN] [--json OUT]

RUN_DIRs are lb-train runs that stopped at one target (train.stop_at), at
several global batches and possibly several learning rates per batch (e.g.
runs/seed-shape-fmnist/B/lars-fp16-b*/*). Every fit is made by `simulate-scaling
fit-convergence` (the one definition of the fit); this script only chooses
which runs go in and compares. Per batch the measured steps are the fewest of
its runs that reached the target, as fit-convergence takes them. It reports:

  leave-one-out: each batch predicted from the fit to all the others;
  extrapolation: the two largest batches predicted from the fit to the rest
                 (with 4 or more batches);
  noise scale: per batch, the model from that batch's best run's gradient
               noise scale alone (fit-convergence --noise-scale): its B_crit
               against the full fit's, and its error on every other batch.

Errors are predicted / measured - 1. The aim of issue 21 is |error| <= 20 %.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def without_lock_files(paths):
    """A shell glob over a study's runs also picks up the lock files its
    driver keeps beside them (experiments/seed-shape-fmnist/study.py)."""
    return [p for p in paths if not (p.endswith(".lock") and Path(p).is_file())]


def read_runs(dirs):
    """{batch: (fewest steps to target, its run dir)} and every run by batch."""
    best, by_batch = {}, {}
    for d in dirs:
        try:
            s = json.loads((Path(d) / "summary.json").read_text())
        except (OSError, ValueError):
            continue  # unfinished
        batch = s["spec"]["train"]["global_batch"]
        by_batch.setdefault(batch, []).append(d)
        if s.get("stopped_at_target") and (batch not in best or s["steps_to_target"] < best[batch][0]):
            best[batch] = (s["steps_to_target"], d)
    return best, by_batch


def fit(binary, dirs, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "convergence.json"
        cmd = [binary, "fit-convergence", *extra, *map(str, dirs), "--out", str(out)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None, done.stderr.strip()
        return json.loads(out.read_text()), None


def steps(model, batch):
    return model["s_min"] * (1 + model["b_crit"] / batch)


def held_out(binary, best, by_batch, held):
    rest = [d for b, ds in by_batch.items() if b not in held for d in ds]
    model, error = fit(binary, rest)
    rows = []
    for b in held:
        measured = best[b][0]
        rows.append({"batch": b, "measured": measured, "predicted": steps(model, b) if model else None,
                     "error": steps(model, b) / measured - 1 if model else None, "fit_error": error})
    return model, rows


def noise_rows(binary, best, full):
    rows = []
    for b, (_, run) in sorted(best.items()):
        model, error = fit(binary, [run], ["--noise-scale"])
        if model is None:
            rows.append({"batch": b, "error": error})
            continue
        others = {o: steps(model, o) / m - 1 for o, (m, _) in best.items() if o != b}
        rows.append({"batch": b, "b_simple": model["b_crit"], "s_min": model["s_min"],
                     "b_crit_vs_fit": model["b_crit"] / full["b_crit"] - 1 if full else None,
                     "errors_on_other_batches": others})
    return rows


def pct(x):
    return "—" if x is None else f"{100 * x:+.1f} %"


def print_tables(report):
    full = report["full_fit"]
    print(f"full fit: S_min {full['s_min']:.1f}, B_crit {full['b_crit']:.1f}, "
          f"rms log residual {full.get('rms_log_residual', 0):.3f}, batches {full['batch_range']}")
    for name in ("leave_one_out", "extrapolation"):
        if not report[name]:
            print(f"\n{name.replace('_', ' ')}: needs 4 or more batches (the two largest "
                  "predicted from a fit to 2 or more)")
            continue
        print(f"\n{name.replace('_', ' ')}:\n\n| batch | measured steps | predicted | error |\n|---|---|---|---|")
        for r in report[name]:
            pred = "—" if r["predicted"] is None else f"{r['predicted']:.0f}"
            print(f"| {r['batch']} | {r['measured']} | {pred} | {pct(r['error'])} |"
                  + (f" ({r['fit_error']})" if r["fit_error"] else ""))
    print("\nnoise-scale shortcut (one run each):\n\n| batch | B_simple | vs fitted B_crit | "
          "errors on the other batches |\n|---|---|---|---|")
    for r in report["noise_scale"]:
        if "b_simple" not in r:
            print(f"| {r['batch']} | — | — | {r['error']} |")
            continue
        errs = ", ".join(f"{b}: {pct(e)}" for b, e in sorted(r["errors_on_other_batches"].items()))
        print(f"| {r['batch']} | {r['b_simple']:.0f} | {pct(r['b_crit_vs_fit'])} | {errs} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--simulate-scaling", default=str(ROOT / "build" / "bin" / "simulate-scaling"))
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args()
    args.runs = without_lock_files(args.runs)
    best, by_batch = read_runs(args.runs)
    finished = [d for runs in by_batch.values() for d in runs]
    for d in sorted(set(args.runs) - set(finished)):
        print(f"validate_convergence: {d}: no summary.json (unfinished), left out", file=sys.stderr)
    if len(best) < 3:
        sys.exit(f"validate_convergence: need 3 or more batches that reached the target, got {sorted(best)}")
    full, error = fit(args.simulate_scaling, finished)
    if full is None:
        sys.exit(f"validate_convergence: fit-convergence failed: {error}")
    batches = sorted(best)
    report = {"full_fit": full,
              "leave_one_out": [held_out(args.simulate_scaling, best, by_batch, [b])[1][0] for b in batches],
              # the two largest from a fit to at least two others
              "extrapolation": (held_out(args.simulate_scaling, best, by_batch, batches[-2:])[1]
                                if len(batches) >= 4 else []),
              "noise_scale": noise_rows(args.simulate_scaling, best, full)}
    print_tables(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
