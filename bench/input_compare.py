#!/usr/bin/python3
"""The input-pipeline benchmark: largebatch's JPEG pipeline (lb-input-bench)
against torchvision 0.14's ImageFolder + DataLoader (input_torch.py) on the
same generated JPEGs, with equal workers, alternated in one run; plus
libjpeg-turbo's bare full-size decode rate on the same files (the ceiling).

  bench/input_compare.py                    # generates the images if needed, 3 rounds
  bench/input_compare.py --rounds 5 --workers 1,2 --batches 30

Each round runs, for each worker count, ours then torchvision, then the bare
decode with 1 and 2 threads; a change in machine load thus hits every column
alike. Figures are medians over the rounds, as images per second and as
images per CPU-second of the timed part (all threads and worker processes):
on a shared machine the second is the steadier. Raw JSON lines go to
--results.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA_ARGS = ["--train", "3000", "--val", "0", "--sizes", "500x375,375x500,500x333",
             "--grain", "24", "--no-shards"]


def run_json(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def ensure_data(path):
    if (path / "train").is_dir():
        return
    print("generating %s" % path, file=sys.stderr)
    subprocess.run([str(ROOT / "scripts" / "make-image-folder"), "--out", str(path)] + DATA_ARGS, check=True)


def median_of(rows, key, **match):
    values = [r[key] for r in rows if all(r.get(k) == v for k, v in match.items())]
    return statistics.median(values) if values else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lb-input-bench", default=str(ROOT / "build" / "bin" / "lb-input-bench"))
    p.add_argument("--data", default=str(ROOT / "build" / "bench-data" / "jpeg-500x375"),
                   help="ImageFolder root (generated when missing)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=30, help="timed batches per run")
    p.add_argument("--decode-images", type=int, default=1000)
    p.add_argument("--results", default=None, help="raw JSON lines (default build/bench-results/input-TIME.jsonl)")
    a = p.parse_args()
    data = Path(a.data)
    ensure_data(data)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = Path(a.results or ROOT / "build" / "bench-results" / ("input-%s.jsonl" % stamp))
    results.parent.mkdir(parents=True, exist_ok=True)
    workers = [int(w) for w in a.workers.split(",")]
    common = ["--root", str(data), "--batch", str(a.batch), "--batches", str(a.batches)]
    rows = []
    with open(results, "w") as log:
        for r in range(a.rounds):
            commands = []
            for w in workers:
                commands.append([a.lb_input_bench, "pipeline", "--workers", str(w)] + common)
                commands.append(["/usr/bin/python3", str(HERE / "input_torch.py"), "--workers", str(w)] + common)
            for t in (1, 2):
                commands.append([a.lb_input_bench, "decode", "--root", str(data), "--threads", str(t),
                                 "--images", str(a.decode_images)])
            for command in commands:
                row = run_json(command)
                row.update(round=r, command=" ".join(command))
                rows.append(row)
                log.write(json.dumps(row) + "\n")
                log.flush()
                print("round %d: %s %s workers=%d: %.1f img/s, %.1f img/CPU-s"
                      % (r, row["impl"], row["mode"], row["workers"], row["images_per_s"], row["images_per_cpu_s"]),
                      file=sys.stderr)
    for key, unit in (("images_per_s", "img/s"), ("images_per_cpu_s", "img per CPU-s")):
        print("\n| workers | largebatch %s | torchvision %s | ratio | bare decode %s (same threads) | largebatch / decode |"
              % (unit, unit, unit))
        print("|---:|---:|---:|---:|---:|---:|")
        for w in workers:
            ours = median_of(rows, key, impl="largebatch", mode="pipeline", workers=w)
            theirs = median_of(rows, key, impl="torchvision", workers=w)
            decode = median_of(rows, key, impl="largebatch", mode="decode", workers=w)
            print("| %d | %.0f | %.0f | %.2f | %.0f | %.2f |" % (w, ours, theirs, ours / theirs, decode, ours / decode))
    print("\n%d rounds, medians; raw rows in %s" % (a.rounds, results))


if __name__ == "__main__":
    main()
