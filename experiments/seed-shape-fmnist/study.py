#!/usr/bin/python3
"""The seed's claim at the seed's shape, in miniature: resumable study driver.

Study A: lenet_bn on Fashion-MNIST (55,000 train / 5,000 validation), 90
epochs; the baseline at batch 256 against four arms at batch 3,072 (5.6 % of
the training images per step, 17 steps an epoch, 1,530 steps). Each arm's main
knob is tuned on validation accuracy with at most 4 points on seed 1; the
chosen point then runs on seeds 2 and 3. Then one resnet20 pair (baseline and
LARS fp16 at their chosen points, seed 1).

Study B: steps to 90 % validation accuracy for batches 256 ... 16,384, LARS
fp16 and SGD momentum fp16, best of 3 learning rates per batch (and up to
two more beyond the grid's edge while the best is on it, Study A's rule),
constant learning rate after a warm-up of about 85 steps, each run stopping
at the target (train.stop_at) or at a cap.

    study.py run [--only A|B|R] [--group G] [--jobs N] [--dry-run]   # resumable
    study.py status                                        # what is done, running, left
    study.py report                                        # results/*.json, plots, table

A run whose summary.json exists is done and skipped. `report` archives every
finished run under results/runs/ (in git); on a machine whose runs/ lacks
them, every command first restores them from there. Each run is locked
(RUN.lock beside its directory) while a driver runs it, so several drivers
can share the study (`run --only A` beside `run`). While RUNS/PAUSE exists
no new run starts (the running one finishes), so that a benchmark can have
the machine to itself. A run killed half-way is
continued with lb-train --resume from its last checkpoint (every 3 epochs);
its wall time is the sum over the processes that ran it (wall.json). Each run
directory gets provenance.json: machine, CPU flags, date, commit, binary.

Run with /usr/bin/python3 (Debian's matplotlib for the report).
"""

import argparse
import concurrent.futures
import fcntl
import gzip
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARMS = HERE / "arms"
RESULTS = HERE / "results"

TRAIN_IMAGES = 55_000  # 60,000 less the 5,000 held out
TARGET = 0.90          # Study B: Shallue et al.'s Fashion-MNIST goal (validation error 0.10)
WARMUP_STEPS = 85      # Study B: 5 epochs at batch 3,072 (17 steps an epoch), kept in steps for every batch


@dataclass(frozen=True)
class Knob:
    key: str      # spec key the arm tunes
    grid: tuple   # first points, in the order they run
    label: str


LARS_ETA = Knob("optimizer.lars.eta", (0.005, 0.0025, 0.01), "eta")
LR_BASE = Knob("optimizer.lr.base", (0.1, 0.05, 0.2), "lr")


@dataclass(frozen=True)
class Arm:
    name: str
    spec: str
    knob: Knob
    title: str


ARMS_A = [
    Arm("a-sgd-b256", "a-sgd-b256.json", LR_BASE, "SGD momentum, batch 256, fp32 (baseline)"),
    Arm("b-lars-fp16-b3072", "b-lars-fp16-b3072.json", LARS_ETA, "LARS fp16, batch 3072 (the seed's recipe)"),
    Arm("c-sgd-fp16-b3072", "c-sgd-fp16-b3072.json", LR_BASE, "SGD momentum fp16, batch 3072 (Goyal et al.)"),
    Arm("d-nesterov-fp16-b3072", "d-nesterov-fp16-b3072.json", LR_BASE, "Nesterov fp16, batch 3072 (Nado et al.)"),
    Arm("e-lars-fp16-decayall-b3072", "e-lars-fp16-decayall-b3072.json", LARS_ETA,
        "LARS fp16, batch 3072, weight decay on bias and BN too"),
]
BASELINE, SEED_RECIPE = ARMS_A[0], ARMS_A[1]
MAX_POINTS = 4    # Study A: tuning points per arm
MAX_POINTS_B = 5  # Study B: learning rates per batch and optimizer
SEEDS = (1, 2, 3)

# Study B: per batch, the step cap (in epochs) and the evaluation interval
# (in epochs), which sets the resolution of the step count.
BATCHES_B = {256: (20, 0.25), 1024: (40, 0.5), 3072: (60, 1), 8192: (100, 2), 16384: (150, 4)}
OPTIMIZERS_B = {"lars-fp16": ARMS_A[1], "sgd-fp16": ARMS_A[2]}


@dataclass
class Run:
    study: str
    group: str          # arm, or optimizer-batch
    spec: Path
    knob: Knob
    value: float
    seed: int
    overrides: list = field(default_factory=list)
    model: str = "lenet_bn"

    @property
    def name(self):
        model = "" if self.model == "lenet_bn" else f"{self.model}-"
        return f"{model}{self.knob.label}{self.value:g}-s{self.seed}"

    def directory(self, runs):
        return runs / self.study / self.group / self.name


def steps_per_epoch(batch):
    return TRAIN_IMAGES // batch


# --- run state ----------------------------------------------------------------


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def summary(run, runs):
    return read_json(run.directory(runs) / "summary.json")


# A run's record under results/runs/: these files as they are, metrics.jsonl
# gzipped, and summary.json, which marks the run finished.
ARCHIVED_AS_IS = ("provenance.json", "wall.json")


def archive(run, runs, results=RESULTS):
    """Copies a finished run's record into the repository's results tree
    (restore_archived reads it back)."""
    src = run.directory(runs)
    dst = results / "runs" / run.study / run.group / run.name
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("summary.json",) + ARCHIVED_AS_IS:
        if (src / name).exists():
            shutil.copyfile(src / name, dst / name)
    if not (src / "metrics.jsonl").exists():
        return dst  # a record restored without its metrics (see RECOVERED)
    # mtime=0: the same record archives to the same bytes, so rerunning the
    # report does not rewrite runs that are already in git.
    with open(src / "metrics.jsonl", "rb") as f_in, open(dst / "metrics.jsonl.gz", "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=raw, mtime=0) as f_out:
        shutil.copyfileobj(f_in, f_out)
    return dst


def restore_archived(runs, results=RESULTS):
    """Recreates the directory of every run archived under results/runs/
    that RUNS lacks (a new machine starts with an empty runs/): its
    summary.json, provenance and wall time, and metrics.jsonl unpacked. A
    restored run is finished, so the plan skips it and the report reads it
    as if it had run here. Returns how many were restored."""
    archived = results / "runs"
    restored = 0
    for record in sorted(archived.glob("*/*/*/summary.json")):
        src = record.parent
        dst = runs / src.relative_to(archived)
        if (dst / "summary.json").exists():
            continue
        if dst.exists() and (dst / "checkpoint.bin").exists():
            continue  # a run under way here: its own directory wins
        dst.mkdir(parents=True, exist_ok=True)
        for name in ARCHIVED_AS_IS:
            if (src / name).exists():
                shutil.copyfile(src / name, dst / name)
        if (src / "metrics.jsonl.gz").exists():
            with gzip.open(src / "metrics.jsonl.gz", "rb") as f_in, open(dst / "metrics.jsonl", "wb") as f_out:
                shutil.copyfileobj(f_in, f_out)
        # summary.json last: it is what marks the run finished.
        shutil.copyfile(record, dst / "summary.json")
        restored += 1
    return restored


def failed(run, runs):
    marker = run.directory(runs) / "FAILED"
    return marker.read_text().strip() if marker.exists() else None


def validation_accuracy(run, runs):
    s = summary(run, runs)
    return None if s is None else s.get("validation_accuracy")


# --- the plan -----------------------------------------------------------------


def tuning_runs(arm, runs, points):
    return [Run("A", arm.name, ARMS / arm.spec, arm.knob, v, 1) for v in points]


def extended_grid(grid, score, max_points):
    """The grid, plus points beyond its edge (half the lowest or double the
    highest), one at a time, while the best so far is at an edge and there
    are fewer than max_points: an optimum on the grid's edge is not an
    optimum. score(v) is higher for better, None while v's run is
    unfinished. Returns (points, the best point, or None until every point's
    run has finished)."""
    points = list(grid)
    while True:
        if any(score(v) is None for v in points):
            return points, None
        best = max(points, key=score)
        ordered = sorted(points)
        if len(points) >= max_points or ordered[0] < best < ordered[-1]:
            return points, best
        points.append(ordered[0] / 2 if best == ordered[0] else ordered[-1] * 2)


def tuning_points(arm, runs):
    """Study A: the arm's points, scored by validation accuracy (seed 1)."""
    return extended_grid(arm.knob.grid, lambda v: validation_accuracy(tuning_runs(arm, runs, [v])[0], runs),
                         MAX_POINTS)


def plan_arm(arm, runs):
    """Runs of one arm that can be planned now: the tuning points, then the
    chosen point's other seeds once tuning is complete."""
    points, chosen = tuning_points(arm, runs)
    plan = tuning_runs(arm, runs, points)
    if chosen is not None:
        plan += [Run("A", arm.name, ARMS / arm.spec, arm.knob, chosen, s) for s in SEEDS[1:]]
    return plan, chosen


def plan_resnet20(runs):
    plan = []
    for arm in (BASELINE, SEED_RECIPE):
        _, chosen = tuning_points(arm, runs)
        if chosen is not None:
            plan.append(Run("R", arm.name, ARMS / arm.spec, arm.knob, chosen, 1,
                            ["--set", "model.name=resnet20"], model="resnet20"))
    return plan


def steps_score(run, runs):
    """Study B's score: fewer steps to the target is better; a run that
    stopped at its cap without reaching it is worse than any that did."""
    s = summary(run, runs)
    if s is None:
        return None
    return -s["steps_to_target"] if s.get("stopped_at_target") else -math.inf


def plan_b(runs):
    # The LARS curve first, every batch, then SGD's: LARS is the seed's
    # optimizer, and its curve is the one the convergence model is fitted on.
    plan = []
    for opt, arm in OPTIMIZERS_B.items():
        for batch, (cap_epochs, eval_epochs) in BATCHES_B.items():
            overrides = [
                "--set", f"train.global_batch={batch}",
                "--set", f"train.epochs={cap_epochs}",
                "--set", f"train.eval_every_epochs={eval_epochs}",
                "--set", f"optimizer.lr.warmup_epochs={WARMUP_STEPS / steps_per_epoch(batch):.6g}",
                "--set", "optimizer.lr.decay=none",
                "--set", f'train.stop_at={{"validation_accuracy": {TARGET}}}',
                "--set", f"train.checkpoint_every_epochs={max(1, cap_epochs // 20)}",
            ]

            def run_at(v):
                return Run("B", f"{opt}-b{batch}", ARMS / arm.spec, arm.knob, v, 1, overrides)

            # Best of three, and more beyond the edge while the fewest steps
            # come at the grid's edge (Study A's rule, with room for two).
            points, _ = extended_grid(arm.knob.grid, lambda v: steps_score(run_at(v), runs), MAX_POINTS_B)
            plan += [run_at(v) for v in points]
    return plan


def full_plan(runs, only):
    plan = []
    if only in (None, "A"):
        # The claim first: the seed's recipe and the baseline, alternating.
        recipe, baseline = plan_arm(SEED_RECIPE, runs)[0], plan_arm(BASELINE, runs)[0]
        for pair in zip(recipe, baseline):
            plan += pair
        shorter = min(len(recipe), len(baseline))
        plan += recipe[shorter:] + baseline[shorter:]
    if only in (None, "B"):
        plan += plan_b(runs)
    if only in (None, "A"):
        for arm in ARMS_A[2:]:
            plan += plan_arm(arm, runs)[0]
    if only in (None, "R"):
        plan += plan_resnet20(runs)
    return plan


# --- running ------------------------------------------------------------------


def provenance(binary):
    def text(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    flags = []
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and not cpu:
            cpu = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = line.split(":", 1)[1].split()
    isa = [f for f in ("avx512f", "avx512_bf16", "avx2", "fma", "f16c") if f in flags]
    side = read_json(Path(str(binary) + ".provenance.json")) or {}
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(),
        "cpu": cpu,
        "isa": isa,
        "cores": os.cpu_count(),
        "commit": side.get("commit") or text(["git", "-C", str(ROOT), "rev-parse", "HEAD"]),
        "binary": str(binary),
        "binary_sha256": hashlib.sha256(Path(binary).read_bytes()).hexdigest(),
    }


def lock(run, runs):
    """An exclusive lock on RUN.lock beside the run's directory, held until
    the process exits; None when another driver holds it. Several drivers
    (study.py run --only A beside study.py run) then share the queue."""
    path = run.directory(runs).parent / (run.directory(runs).name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def train(run, runs, binary):
    held = lock(run, runs)
    if held is None:
        return run, None  # another driver runs it
    try:
        return run, run_locked(run, runs, binary)
    finally:
        os.close(held)


def run_locked(run, runs, binary):
    out = run.directory(runs)
    if summary(run, runs) is not None:
        return 0  # finished by another driver since this one planned it
    resume = (out / "checkpoint.bin").exists()
    if not resume and out.exists():
        shutil.rmtree(out)  # started but never checkpointed: start again
    out.mkdir(parents=True, exist_ok=True)
    prov = out / "provenance.json"
    history = read_json(prov) or {"processes": []}
    history["processes"].append(provenance(binary))
    prov.write_text(json.dumps(history, indent=2) + "\n")
    cmd = [str(binary), str(run.spec), "--out", str(out), "-q",
           "--set", f"train.seed={run.seed}", "--set", f"{run.knob.key}={run.value:g}", *run.overrides]
    if resume:
        cmd.append("--resume")
    start = time.time()
    with open(out / "lb-train.log", "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    wall = read_json(out / "wall.json") or {"processes_s": []}
    wall["processes_s"].append(time.time() - start)
    wall["wall_s"] = sum(wall["processes_s"])
    (out / "wall.json").write_text(json.dumps(wall) + "\n")
    if rc != 0:
        last = [l for l in (out / "lb-train.log").read_text().splitlines() if l.strip()][-1:]
        (out / "FAILED").write_text(f"exit {rc}: {last[0] if last else ''}\n")
    return rc


def wait_while_paused(runs):
    """A file RUNS/PAUSE holds the study between runs, so that a benchmark
    can have the machine to itself without stopping a run half-way."""
    pause = runs / "PAUSE"
    if pause.exists():
        print(f"[{time.strftime('%H:%M:%S')}] paused: {pause} exists", flush=True)
        while pause.exists():
            time.sleep(20)
        print(f"[{time.strftime('%H:%M:%S')}] resumed", flush=True)


def run_study(args):
    runs = Path(args.runs)
    binary = Path(args.lb_train)
    if not binary.exists():
        sys.exit(f"study.py: {binary} not found (build it with scripts/setup, or --lb-train)")
    done = set()
    while True:
        plan = [r for r in full_plan(runs, args.only)
                if (args.group is None or r.group == args.group)
                and summary(r, runs) is None and failed(r, runs) is None
                and str(r.directory(runs)) not in done]
        if not plan:
            print("study: nothing left to run" + (" now (the rest waits on tuning)" if args.only else ""))
            return
        if args.dry_run:
            for r in plan:
                print(f"would run {r.study}/{r.group}/{r.name}")
            return
        wait_while_paused(runs)
        batch = plan[: args.jobs]
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            stamp = time.strftime("%H:%M:%S")
            for r in batch:
                print(f"[{stamp}] start {r.study}/{r.group}/{r.name}", flush=True)
            for run, rc in pool.map(lambda r: train(r, runs, binary), batch):
                s = summary(run, runs) or {}
                done.add(str(run.directory(runs)))
                if rc is None:
                    print(f"[{time.strftime('%H:%M:%S')}] skipped {run.study}/{run.group}/{run.name}: "
                          "another driver runs it", flush=True)
                    continue
                print(f"[{time.strftime('%H:%M:%S')}] {'done' if rc == 0 else f'FAILED ({rc})'} "
                      f"{run.study}/{run.group}/{run.name}: validation {s.get('validation_accuracy')}, "
                      f"test {s.get('test_accuracy')}, steps {s.get('steps')}", flush=True)


def training_now(run, runs):
    """Whether an lb-train process on this machine writes the run's directory
    now. Read from /proc, not by trying the run's lock: a driver that found
    the lock taken at that instant would skip the run."""
    target = str(run.directory(runs))
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # the process ended meanwhile
        if b"--out" in argv and argv.index(b"--out") + 1 < len(argv):
            if argv[argv.index(b"--out") + 1].decode(errors="replace") == target:
                return True
    return False


def last_eval(run, runs):
    """The run's latest evaluation row in metrics.jsonl, or None."""
    last = None
    try:
        with open(run.directory(runs) / "metrics.jsonl", encoding="utf-8") as f:
            for line in f:
                if '"eval"' in line:
                    last = line
    except OSError:
        return None
    try:
        return json.loads(last) if last else None
    except json.JSONDecodeError:
        return None


def status(args):
    runs = Path(args.runs)
    for r in full_plan(runs, None):
        s = summary(r, runs)
        extra = ""
        if s:
            state = "done"
            extra = (f" val {s.get('validation_accuracy', 0):.4f} test {s['test_accuracy']:.4f}"
                     f" steps {s.get('steps', '(not recorded)')}")
        elif failed(r, runs):
            state = "FAILED " + failed(r, runs)
        elif r.directory(runs).exists():
            resumes = "from its checkpoint" if (r.directory(runs) / "checkpoint.bin").exists() else "from the start"
            state = "running" if training_now(r, runs) else f"stopped (goes on {resumes})"
            e = last_eval(r, runs)
            if e:
                extra = (f", at epoch {e['epoch']:.4g} (step {e['step']}): val "
                         f"{e.get('validation_accuracy', float('nan')):.4f}")
        else:
            state = "to run"
        print(f"{r.study}/{r.group}/{r.name}: {state}{extra}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=str(ROOT / "runs" / "seed-shape-fmnist"), help="run directories")
    parser.add_argument("--lb-train", default=str(ROOT / "build" / "bin" / "lb-train"))
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run what is left (resumable)")
    run.add_argument("--only", choices=["A", "B", "R"])
    run.add_argument("--group", help="only this arm or optimizer-batch (e.g. sgd-fp16-b1024): a short run "
                                     "first, when a session has too little time left for the next in line")
    run.add_argument("--jobs", type=int, default=1, help="runs at once (each uses train.threads=1)")
    run.add_argument("--dry-run", action="store_true")
    sub.add_parser("status", help="list every planned run and its state")
    report = sub.add_parser("report", help="results/*.json, plots and the table")
    report.add_argument("--results", default=str(RESULTS))
    report.add_argument("--simulate-scaling", default=str(ROOT / "build" / "bin" / "simulate-scaling"),
                        help="fits steps to target (simulate-scaling fit-convergence)")
    args = parser.parse_args()
    restored = restore_archived(Path(args.runs))
    if restored:
        print(f"study: restored {restored} finished runs from {RESULTS / 'runs'}", flush=True)
    if args.command == "run":
        run_study(args)
    elif args.command == "status":
        status(args)
    else:
        import study_report  # matplotlib only where it is needed

        study_report.report(args, sys.modules[__name__])


if __name__ == "__main__":
    main()
