#!/usr/bin/env python3
"""simulate-scaling against real lb-train runs on this machine (issue 5).

  1. calibration runs: lb-train at np = 1 (per-rank batch 16, 32 and 64) and
     np = 2 (batch 24, 32 and 56 per rank, ring, one 64 MiB bucket; batch 40,
     every tensor on its own) and np = 4 (batch 24, two ranks per core),
     plus allreduce-bench at np = 2; `simulate-scaling calibrate` fits the
     per-layer compute lines (np = 1), the co-run factor (np = 2: two ranks
     side by side slow each other's compute), the communication thread's
     CPU time (np = 2's all-reduces), the compute spread of time-sliced
     ranks (np = 4) and the link's latency and bandwidth from them;
  2. prediction runs at np = 2, 3 and 4 with other per-rank batch sizes,
     algorithms, fusion thresholds and overlap settings: each is measured
     (median step_s of its profile.json) and predicted (`simulate-scaling
     --calibration cal.json --gpus np`, the same overrides);
  3. prints a markdown table of measured against predicted step time and the
     error per configuration, and writes OUT/validation.json.

With --repeats R (default 3) every lb-train run above happens R times, in R
rounds of the whole list (calibration and prediction runs alternately in
every round),
so that a slow phase of the machine lands on different configurations and
on calibration and predictions alike: the calibration fits all R profiles of each, and
a configuration's measured step time is the median of its R runs, reported
with their spread ((max - min) / median). On a shared 2-core VM the same
configuration measured minutes apart differs by up to 30 % (2026-12-07), so
a single run cannot check a 10 % target.

Two comparisons are printed. Pooled: one calibration from every round's
runs, against each configuration's median over the rounds. Paired: each
round's own calibration predicts that round's runs, and a configuration's
error is the median over the rounds of those errors; both sides of each
comparison were measured minutes apart, so the machine's drift between
rounds cancels, as in bench/'s rule of running the two sides alternately and
comparing within one run.

Each row also gives the compute error: the predicted compute against the
measured mean over ranks of forward + backward, which tells a step's error
that comes from how fast several ranks compute (the co-run slowdown) from
one that comes from the waits and the all-reduces.

A third line scores the rounds against each other as the paired
comparison scores the model: each run against the median of the other
rounds' runs of its configuration. It is what a model would score that knew
every configuration exactly as this machine ran it in the other rounds: on
a machine whose speed drifts between rounds no model can beat it. (Scaling
each run by np = 1 reference runs beside it was tried and taken out again:
on the 2026-12-07 AVX2 VM it made the comparison worse, median 12.0 %
against 4.7 % paired, because a single-rank run seconds away did not follow
the multi-rank runs' speed.)

Two more lines tell the model from the machine's swings: the step error
at the measured compute (each configuration's measured mean compute in
place of the predicted one: the communication, waits and overlap alone),
and the machine's speed, the forward per image of every run whose ranks
each had a core (the same work per image: its spread is the VM's, not the
model's; on the 2026-12-07 AVX2 VM 0.97-1.84 ms within single checks).

Every run is launched as a user's would be: mpirun binds each rank to a
core when the ranks fit the cores and binds nothing when they outnumber
them (--bind changes that for every run).

Every run trains resnet20 in fp32 with 1 thread per rank on Fashion-MNIST
(a subset: only step times are compared). The cluster is this machine: one
node whose ranks share its cores; `cluster.cores_per_node` (the machine's
core count, `--cores`) makes the simulator stretch compute when more ranks
run than there are cores.

With --reuse DIR nothing is measured: the runs kept in DIR (an earlier
--out) are calibrated and predicted again, e.g. after a change to the model;
the table then says so.

  /usr/bin/python3 simulator/validate_runtime.py [--build build] [--out DIR] [--steps 30] [--repeats 3]
  /usr/bin/python3 simulator/validate_runtime.py --reuse DIR [--repeats 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rank_skew import read_events  # noqa: E402  (beside this file: one reader of lb-train's traces)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(ROOT, "experiments/fmnist-lenet-lars-fp16.json")

# (ranks, per-rank batch, algorithm, fusion bytes, overlap, group size)
# Three per-rank batch sizes at np = 1: a line through 32 and 64 alone missed
# the fixed per-call cost that dominates at 16 (-21 % at np = 2, 16 per rank).
# Three at np = 2, none a prediction's: the co-run slowdown measured
# 1.04-1.21x depending on the batch, so one np = 2 run cannot pin it.
# One more at np = 2 all-reduces every tensor on its own: all-reduces of 40 B
# to 147 KiB inside training, which pin the communication thread's CPU time
# per call and per byte (a 64 MiB bucket alone is one size; the link comes
# from allreduce-bench) and the compute each call disturbs beyond it. One at np = 4, two ranks per core on the 2-core
# machines this runs on: ranks that outnumber the cores are time-sliced and
# drift apart (their compute spread), which no run with a core per rank shows.
CALIBRATION = [(1, 16, "ring", 64 << 20, True, 0), (1, 32, "ring", 64 << 20, True, 0),
               (1, 64, "ring", 64 << 20, True, 0), (2, 24, "ring", 64 << 20, True, 0),
               (2, 32, "ring", 64 << 20, True, 0), (2, 56, "ring", 64 << 20, True, 0),
               (2, 40, "ring", 0, True, 0), (4, 24, "ring", 64 << 20, True, 0)]
PREDICTIONS = [
    (2, 48, "ring", 1 << 20, True, 0),
    (2, 48, "mpi", 0, True, 0),
    (2, 64, "ring", 64 << 20, False, 0),
    (2, 16, "hierarchical", 1 << 20, True, 1),
    (3, 32, "ring", 1 << 20, True, 0),
    (3, 48, "mpi", 64 << 20, True, 0),
    (4, 32, "hierarchical", 1 << 20, True, 2),
    (4, 48, "torus2d", 64 << 20, True, 2),
    (4, 16, "ring", 0, True, 0),
]


def env():
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMP_WAIT_POLICY="PASSIVE")


def run(cmd):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, env=env(), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"validate_runtime: command failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def mpirun(args, ranks, argv):
    # mpirun's own default binds each rank to a core when the ranks fit the
    # cores and binds nothing when they outnumber them (Open MPI 4.1): the way
    # a user's job runs, and the simulator's rank share (cores / ranks).
    bind = ["--bind-to", args.bind] if args.bind else []
    return run(["mpirun", "--oversubscribe", *bind, "--mca", "btl", "self,vader",
                "-np", str(ranks)] + argv)


def overrides(config, steps):
    ranks, batch, algorithm, fusion, overlap, group = config
    # Enough images for the warm-up step plus `steps` recorded ones.
    subset = max(batch * ranks * (steps + 2), 2048)
    return ["--set", "model.name=resnet20", "--set", "train.precision=fp32",
            "--set", "train.threads=1", "--set", f"train.global_batch={batch * ranks}",
            "--set", f"data.train_subset={subset}", "--set", "train.epochs=1",
            "--set", f"comm.algorithm={algorithm}", "--set", f"comm.fusion_bytes={fusion}",
            "--set", f"comm.overlap={'true' if overlap else 'false'}",
            "--set", f"comm.group_size={group}"]


def train(args, config, out):
    if args.reuse:
        if not os.path.exists(os.path.join(out, "profile.json")):
            if os.path.basename(out).startswith("cal"):  # kept before this calibration run existed
                print(f"validate_runtime: --reuse: {out} missing, calibrating without it", file=sys.stderr)
                return None
            sys.exit(f"validate_runtime: --reuse: {out}/profile.json missing")
    else:
        mpirun(args, config[0], [os.path.join(args.build, "bin/lb-train"), SPEC, "--out", out, "-q",
                           "--max-steps", str(args.steps)] + overrides(config, args.steps))
    with open(os.path.join(out, "profile.json")) as f:
        profile = json.load(f)
    if profile.get("ranks", 1) > 1 and "rank_exposed_comm_s" not in profile:
        profile["rank_exposed_comm_s"] = exposed_by_rank_from_traces(out, profile["ranks"])
    return profile


def exposed_by_rank_from_traces(run_dir, ranks):
    """Every rank's median "allreduce wait" over the steps of its trace, for
    runs kept from before profile.json recorded rank_exposed_comm_s (the
    same phase; the profile's median leaves out no step either). None when
    a rank's trace is missing."""
    waits = []
    for rank in range(ranks):
        try:
            events = read_events(os.path.join(run_dir, f"trace.rank{rank}.json"))
        except (OSError, json.JSONDecodeError):
            return None
        per_step = [e["dur"] * 1e-6 for e in events if e.get("ph") == "X" and e.get("name") == "allreduce wait"]
        if not per_step:
            return None
        waits.append(statistics.median(per_step))
    return waits


def job_exposed_comm_s(profile):
    """The job's exposed communication: the mean over ranks of each rank's
    (rank_exposed_comm_s), which is what the simulator's representative rank
    predicts (it waits for the slowest of N). Rank 0's own (exposed_comm_s)
    is large or near 0 depending on which rank it happened to be (0.3 and
    11.4 ms in two runs of one configuration on a 2-core VM, 2026-12-07)."""
    by_rank = profile.get("rank_exposed_comm_s")
    return statistics.fmean(by_rank) if by_rank else profile["exposed_comm_s"]


def job_compute_s(profile):
    """The job's forward + backward a step: the mean over ranks of each
    rank's (rank_compute_s), else rank 0's. Against the prediction's
    compute_s it says whether a step's error is the compute's (how much
    slower than one rank alone several ranks run) or the waits'."""
    by_rank = profile.get("rank_compute_s")
    return statistics.fmean(by_rank) if by_rank else profile["forward_s"] + profile["backward_s"]


def step_at_measured_compute(predicted_step, predicted_compute, measured_compute):
    """The predicted step with the measured compute in place of the predicted
    one: what the model's communication, waits and overlap alone give when
    the machine's speed at the time of the run is known. On a shared VM whose
    speed swings by more than the target between runs minutes apart, it
    tells those parts of the model from the machine's swings."""
    return predicted_step - predicted_compute + measured_compute


def forward_per_image_ms(profiles, cores):
    """Forward per image (ms) of every run whose ranks each had a core, by
    rank count: the same work at the machine's speed at each run's time."""
    by_ranks = {}
    for p in profiles:
        if p["ranks"] * max(p.get("threads", 1), 1) <= cores and p["per_rank_batch"] > 0:
            by_ranks.setdefault(p["ranks"], []).append(1e3 * p["forward_s"] / p["per_rank_batch"])
    return by_ranks


def predict(args, config, cal, out):
    ranks = config[0]
    cluster = ["--set", f"cluster.gpus_per_node={ranks}", "--set", "cluster.nodes=1",
               "--set", f"cluster.cores_per_node={args.cores}"]
    run([os.path.join(args.build, "bin/simulate-scaling"), SPEC, "--calibration", cal,
         "--gpus", str(ranks), "--out", out, "--no-plot"] + overrides(config, args.steps) + cluster)
    with open(os.path.join(out, "scaling.json")) as f:
        return json.load(f)["results"][0]


def machine():
    """The CPU model, ISA level, cores, last-level cache and kernel: predictions
    are only comparable between runs on the same kind of machine."""
    info = {"cores": os.cpu_count(), "kernel": os.uname().release}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and "cpu_model" not in info:
                info["cpu_model"] = value.strip()
            if key.strip() == "flags" and "isa" not in info:
                flags = set(value.split())
                info["isa"] = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE")
    except OSError:
        pass
    try:  # "32768K"
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as f:
            size = f.read().strip()
        info["l3_bytes"] = int(size.rstrip("KMG")) << {"K": 10, "M": 20, "G": 30}.get(size[-1], 0)
    except (OSError, ValueError, IndexError):
        pass
    return info


def describe(config):
    ranks, batch, algorithm, fusion, overlap, group = config
    fusion_text = "per tensor" if fusion == 0 else f"{fusion >> 20} MiB"
    group_text = f", groups of {group}" if group else ""
    return f"np {ranks}, {batch}/rank, {algorithm}{group_text}, {fusion_text}, overlap {'on' if overlap else 'off'}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out", default=None, help="keep runs here (default: a temporary directory)")
    parser.add_argument("--steps", type=int, default=30, help="steps per lb-train run")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores of this machine")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of every configuration, in rounds; measured = their median")
    parser.add_argument("--reuse", default=None, metavar="DIR",
                        help="measure nothing: calibrate and predict again from the runs kept in DIR")
    parser.add_argument("--bind", default=None, choices=["none", "core"],
                        help="mpirun --bind-to for every run (default: mpirun's own choice, which "
                        "binds ranks to cores when they fit and nothing when they outnumber the cores)")
    args = parser.parse_args()
    if args.repeats < 1 or args.steps < 1:
        sys.exit("validate_runtime: --repeats and --steps must be >= 1")
    if args.reuse and not os.path.isdir(args.reuse):
        sys.exit(f"validate_runtime: --reuse: {args.reuse}: not a directory")
    out = args.reuse or args.out or tempfile.mkdtemp(prefix="lb_validate_")
    os.makedirs(out, exist_ok=True)

    # Each round runs every calibration and every prediction configuration:
    # this VM's speed drifts by 20-30 % over minutes, and calibrating in one
    # block before predicting in another put a slow phase on the predictions
    # alone (2026-12-07 08:54, /work/val/v6: every np 2 row 12-22 % low).
    calibration_dirs, calibration_profiles, measured = measure(args, out)
    bench = os.path.join(out, "allreduce-np2.jsonl")
    if args.reuse and not os.path.exists(bench):
        sys.exit(f"validate_runtime: --reuse: {bench} missing")

    # Pooled: one calibration from every round's runs against each
    # configuration's median over the rounds.
    cal = calibrate(args, [d for dirs in calibration_dirs for d in dirs], bench, os.path.join(out, "cal.json"))
    rows = []
    for i, config in enumerate(PREDICTIONS):
        predicted = predict(args, config, cal, os.path.join(out, f"sim{i}"))
        steps = [p["step_s"] for p in measured[i]]
        step = statistics.median(steps)
        compute = statistics.median(job_compute_s(p) for p in measured[i])
        rows.append({"config": describe(config), "measured_step_s": step,
                     "measured_step_s_runs": steps,
                     "measured_spread": (max(steps) - min(steps)) / step,
                     "measured_exposed_comm_s": statistics.median(job_exposed_comm_s(p) for p in measured[i]),
                     "measured_compute_s": compute,
                     "predicted_compute_s": predicted["compute_s"],
                     "compute_error": predicted["compute_s"] / compute - 1,
                     "measured_exposed_span": exposed_span(measured[i]),
                     "predicted_step_s": predicted["iteration_s"],
                     "predicted_exposed_comm_s": predicted["exposed_comm_s"],
                     "error": predicted["iteration_s"] / step - 1,
                     "error_at_measured_compute": step_at_measured_compute(
                         predicted["iteration_s"], predicted["compute_s"], compute) / step - 1})
    # Paired: each round's calibration against that round's runs, minutes
    # apart on the same machine; per configuration the median over rounds.
    paired = [[] for _ in PREDICTIONS]
    if args.repeats > 1:
        for r, dirs in enumerate(calibration_dirs):
            round_cal = calibrate(args, dirs, bench, os.path.join(out, f"cal-round{r}.json"))
            for i, config in enumerate(PREDICTIONS):
                predicted = predict(args, config, round_cal, os.path.join(out, f"sim{i}-round{r}"))
                paired[i].append({"measured_step_s": measured[i][r]["step_s"],
                                  "predicted_step_s": predicted["iteration_s"],
                                  "measured_exposed_comm_s": job_exposed_comm_s(measured[i][r]),
                                  "predicted_exposed_comm_s": predicted["exposed_comm_s"]})
        for row, rounds in zip(rows, paired):
            row["rounds"] = rounds
            row["paired_error"] = statistics.median(x["predicted_step_s"] / x["measured_step_s"] - 1 for x in rounds)
            ratios = [x["predicted_exposed_comm_s"] / x["measured_exposed_comm_s"] for x in rounds
                      if x["measured_exposed_comm_s"] > 0]
            row["paired_exposed_ratio"] = statistics.median(ratios) if ratios else None
    profiles = calibration_profiles + [p for ps in measured for p in ps]
    report(args, out, rows, forward_per_image_ms(profiles, args.cores))


def measure(args, out):
    """Runs (or, with --reuse, reads) every round: per round the calibration
    run directories, every calibration profile, and per prediction
    configuration one profile a round."""
    if not args.reuse:
        with open(os.path.join(out, "allreduce-np2.jsonl"), "w") as f:
            f.write(mpirun(args, 2, [os.path.join(args.build, "bin/allreduce-bench"), "--json", "--algorithms",
                               "ring,hierarchical,torus2d,mpi", "--group-size", "1",
                               "--min-bytes", "4096", "--max-bytes", str(4 << 20),
                               "--rounds", str(args.repeats)]))
    calibration_dirs, calibration_profiles = [], []
    measured = [[] for _ in PREDICTIONS]
    for r in range(args.repeats):
        suffix = f"-r{r}" if r else ""
        dirs = []
        for kind, i in interleaved(len(CALIBRATION), len(PREDICTIONS)):
            if kind == "cal":
                run_dir = os.path.join(out, f"cal{i}{suffix}")
                profile = train(args, CALIBRATION[i], run_dir)
                if profile is not None:
                    dirs.append(run_dir)
                    calibration_profiles.append(profile)
            else:
                measured[i].append(train(args, PREDICTIONS[i], os.path.join(out, f"run{i}{suffix}")))
        calibration_dirs.append(dirs)
    return calibration_dirs, calibration_profiles, measured


def interleaved(calibrations, predictions):
    """A round's order: calibration and prediction runs alternately, so that a
    phase of the machine within a round lands on both sides: on the
    2026-12-07 AVX2 VM (w8, calibration first in every round) 10 of the 12
    np 2 calibration runs took 1.01-1.09 ms of forward an image and the np 2
    prediction runs after them 1.04-1.66 (median 1.36)."""
    order = []
    for k in range(max(calibrations, predictions)):
        if k < calibrations:
            order.append(("cal", k))
        if k < predictions:
            order.append(("run", k))
    return order


def calibrate(args, sources, bench, cal):
    print(run([os.path.join(args.build, "bin/simulate-scaling"), "calibrate", "--from", *sources, bench,
               "--out", cal]), file=sys.stderr)
    return cal


def exposed_span(profiles):
    """Largest over smallest exposed communication among one configuration's
    repeats: how far the measurement itself moves (None if one was zero)."""
    values = [job_exposed_comm_s(p) for p in profiles]
    return max(values) / min(values) if min(values) > 0 else None


def within(ratio, factor):
    return ratio is not None and 1 / factor <= ratio <= factor


def against_other_rounds(values):
    """Each round's value over the median of the other rounds' values of the
    same configuration: what a model would be off by that predicted every run
    as the other rounds measured it (the machine's own repeatability). The
    median over the rounds of those ratios; None where a median is 0."""
    ratios = []
    for r, value in enumerate(values):
        others = statistics.median(values[:r] + values[r + 1:])
        if others <= 0:
            return None
        ratios.append(value / others)
    return statistics.median(ratios)


def report(args, out, rows, speeds):
    if args.reuse:
        print(f"Runs measured earlier, kept in {out}; calibrated and predicted again now.\n")
    paired = "paired_error" in rows[0]
    print(f"| configuration | measured step s (median of {args.repeats}) | spread | predicted step s | error "
          "| measured exposed comm s | predicted | compute error | error at measured compute |"
          + (" paired error | paired exposed ratio |" if paired else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|" if paired else ""))
    for r in rows:
        line = (f"| {r['config']} | {r['measured_step_s']:.4f} | {100 * r['measured_spread']:.1f} % | "
                f"{r['predicted_step_s']:.4f} | {100 * r['error']:+.1f} % | {r['measured_exposed_comm_s']:.4f} | "
                f"{r['predicted_exposed_comm_s']:.4f} | "
                f"{100 * r['compute_error']:+.1f} % | {100 * r['error_at_measured_compute']:+.1f} % |")
        if paired:
            ratio = r["paired_exposed_ratio"]
            line += f" {100 * r['paired_error']:+.1f} % | {'-' if ratio is None else f'{ratio:.2f}'} |"
        print(line)
    errors = [abs(r["error"]) for r in rows]
    host, bind = machine(), args.bind or "mpirun default"
    if args.reuse:  # the runs' machine and binding, which need not be this one's
        try:
            with open(os.path.join(out, "validation.json")) as f:
                kept = json.load(f)
            host = kept.get("machine", {"cores": "?", "kernel": "? (not recorded)"})
            bind = kept.get("bind", "none (not recorded: before --bind)")
        except (OSError, ValueError):
            host = {"cores": "?", "kernel": "? (not recorded)"}
    exposed_ok = sum(within(r["predicted_exposed_comm_s"] / r["measured_exposed_comm_s"], 1.5)
                     for r in rows if r["measured_exposed_comm_s"] > 0)
    compute_ok = sum(abs(r["compute_error"]) <= 0.10 for r in rows)
    summary = {"rows": rows, "repeats": args.repeats, "bind": bind,
               "median_abs_error": statistics.median(errors), "max_abs_error": max(errors),
               "within_10_percent": sum(e <= 0.10 for e in errors), "exposed_within_1_5x": exposed_ok,
               "compute_within_10_percent": compute_ok}
    print(f"\npooled (one calibration from every round; measured = median of the rounds): "
          f"median |error| {100 * statistics.median(errors):.1f} %, max {100 * max(errors):.1f} %; "
          f"{summary['within_10_percent']} of {len(errors)} within 10 %; exposed communication within "
          f"a factor of 1.5 in {exposed_ok} of {len(rows)}; compute (mean over ranks) within 10 % in "
          f"{compute_ok} of {len(rows)}")
    if paired:
        errors = [abs(r["paired_error"]) for r in rows]
        summary.update({"paired_median_abs_error": statistics.median(errors), "paired_max_abs_error": max(errors),
                        "paired_within_10_percent": sum(e <= 0.10 for e in errors),
                        "paired_exposed_within_1_5x": sum(within(r["paired_exposed_ratio"], 1.5) for r in rows)})
        print(f"paired (each round's calibration against that round's runs; median over the rounds): "
              f"median |error| {100 * statistics.median(errors):.1f} %, max {100 * max(errors):.1f} %; "
              f"{summary['paired_within_10_percent']} of {len(errors)} within 10 %; exposed communication "
              f"within a factor of 1.5 in {summary['paired_exposed_within_1_5x']} of {len(rows)}")
    if paired:
        # The rounds against each other, scored as the paired comparison is:
        # on a machine whose speed drifts between rounds no model can beat it.
        steps = [against_other_rounds([x["measured_step_s"] for x in r["rounds"]]) for r in rows]
        exposed = [against_other_rounds([x["measured_exposed_comm_s"] for x in r["rounds"]]) for r in rows]
        step_errors = [abs(x - 1) for x in steps]
        summary.update({"rounds_median_abs_difference": statistics.median(step_errors),
                        "rounds_within_10_percent": sum(e <= 0.10 for e in step_errors),
                        "rounds_exposed_within_1_5x": sum(within(x, 1.5) for x in exposed)})
        print(f"the rounds against each other (each run against the median of the other rounds' runs of "
              f"its configuration, median over the rounds): median |difference| "
              f"{100 * statistics.median(step_errors):.1f} %, max {100 * max(step_errors):.1f} %; "
              f"{summary['rounds_within_10_percent']} of {len(rows)} within 10 %; exposed communication "
              f"within a factor of 1.5 in {summary['rounds_exposed_within_1_5x']} of {len(rows)}")
    errors = [abs(r["error_at_measured_compute"]) for r in rows]
    summary.update({"at_measured_compute_median_abs_error": statistics.median(errors),
                    "at_measured_compute_within_10_percent": sum(e <= 0.10 for e in errors)})
    print(f"at the measured compute (each configuration's measured mean compute in place of the "
          f"predicted: the communication, waits and overlap alone): median |error| "
          f"{100 * statistics.median(errors):.1f} %, max {100 * max(errors):.1f} %; "
          f"{summary['at_measured_compute_within_10_percent']} of {len(rows)} within 10 %")
    summary["forward_per_image_ms"] = {str(n): sorted(v) for n, v in sorted(speeds.items())}
    print("the machine's speed: forward per image of the runs with a core per rank, "
          + "; ".join(f"np {n} {min(v):.2f}-{max(v):.2f} ms ({max(v) / min(v):.2f}x, {len(v)} runs)"
                      for n, v in sorted(speeds.items())))
    wide = sum(r["measured_exposed_span"] is None or r["measured_exposed_span"] > 1.5 for r in rows)
    summary["exposed_repeats_wider_than_1_5x"] = wide
    print(f"the repeats' own exposed communication spans more than a factor of 1.5 in {wide} of {len(rows)}")
    print(f"runs in {out}")
    print(f"machine: {host.get('cpu_model', '?')}, {host.get('isa', '?')}, {host['cores']} cores, "
          f"L3 {host.get('l3_bytes', 0) >> 20} MiB, kernel {host['kernel']}; binding: "
          f"{bind}")
    summary["machine"] = host
    with open(os.path.join(out, "validation.json"), "w") as f:
        json.dump(summary, f, indent=2)

if __name__ == "__main__":
    main()
