"""The seed-shape study driver's planning rules (experiments/seed-shape-fmnist/study.py)."""
import importlib.util
import json
import math
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


study = load("study", ROOT / "experiments/seed-shape-fmnist/study.py")


class ExtendedGrid(unittest.TestCase):
    def test_an_interior_best_keeps_the_grid(self):
        scores = {0.005: 3, 0.0025: 1, 0.01: 2}
        self.assertEqual(study.extended_grid((0.005, 0.0025, 0.01), scores.get, 5),
                         ([0.005, 0.0025, 0.01], 0.005))

    def test_a_best_on_the_top_edge_adds_double_the_top(self):
        scores = {0.005: 1, 0.0025: 0, 0.01: 2}
        points, best = study.extended_grid((0.005, 0.0025, 0.01), scores.get, 5)
        self.assertEqual(points, [0.005, 0.0025, 0.01, 0.02])
        self.assertIsNone(best)  # 0.02 has not run yet

    def test_a_best_on_the_bottom_edge_adds_half_the_bottom(self):
        scores = {0.1: 1, 0.05: 2, 0.2: 0}
        points, _ = study.extended_grid((0.1, 0.05, 0.2), scores.get, 5)
        self.assertEqual(points[-1], 0.025)

    def test_it_goes_on_while_the_best_stays_on_the_edge_up_to_the_limit(self):
        scores = {0.005: 1, 0.0025: 0, 0.01: 2, 0.02: 3, 0.04: 4}
        self.assertEqual(study.extended_grid((0.005, 0.0025, 0.01), scores.get, 5),
                         ([0.005, 0.0025, 0.01, 0.02, 0.04], 0.04))
        self.assertEqual(study.extended_grid((0.005, 0.0025, 0.01), scores.get, 4),
                         ([0.005, 0.0025, 0.01, 0.02], 0.02))

    def test_it_stops_once_the_best_is_inside(self):
        scores = {0.005: 1, 0.0025: 0, 0.01: 3, 0.02: 2}
        self.assertEqual(study.extended_grid((0.005, 0.0025, 0.01), scores.get, 5),
                         ([0.005, 0.0025, 0.01, 0.02], 0.01))

    def test_an_unfinished_point_leaves_the_best_open(self):
        scores = {0.005: 1, 0.0025: None, 0.01: 2}
        self.assertEqual(study.extended_grid((0.005, 0.0025, 0.01), scores.get, 5),
                         ([0.005, 0.0025, 0.01], None))


class StepsScore(unittest.TestCase):
    def run_with(self, summary):
        runs = Path(self.enterContext(tempfile.TemporaryDirectory()))
        run = study.Run("B", "lars-fp16-b256", Path("spec.json"), study.LARS_ETA, 0.01, 1)
        if summary is not None:
            run.directory(runs).mkdir(parents=True)
            (run.directory(runs) / "summary.json").write_text(json.dumps(summary))
        return study.steps_score(run, runs)

    def test_fewer_steps_to_the_target_score_higher(self):
        self.assertGreater(self.run_with({"stopped_at_target": True, "steps_to_target": 100}),
                           self.run_with({"stopped_at_target": True, "steps_to_target": 200}))

    def test_a_run_that_missed_the_target_scores_below_any_that_reached_it(self):
        self.assertEqual(self.run_with({"stopped_at_target": False, "steps_to_target": None}), -math.inf)

    def test_an_unfinished_run_has_no_score(self):
        self.assertIsNone(self.run_with(None))


class Lock(unittest.TestCase):
    def test_a_run_has_one_driver_at_a_time(self):
        runs = Path(self.enterContext(tempfile.TemporaryDirectory()))
        run = study.Run("A", "b-lars-fp16-b3072", Path("spec.json"), study.LARS_ETA, 0.005, 1)
        first = study.lock(run, runs)
        self.assertIsNotNone(first)
        self.assertIsNone(study.lock(run, runs))  # another driver (flock: per open file)
        study.os.close(first)
        again = study.lock(run, runs)
        self.assertIsNotNone(again)
        study.os.close(again)


class RestoreArchived(unittest.TestCase):
    def archive_with(self, name, files):
        results = Path(self.enterContext(tempfile.TemporaryDirectory()))
        run_dir = results / "runs" / name
        run_dir.mkdir(parents=True)
        for file, content in files.items():
            if file.endswith(".gz"):
                with study.gzip.open(run_dir / file, "wt") as f:
                    f.write(content)
            else:
                (run_dir / file).write_text(content)
        return results

    def test_a_new_machine_gets_every_archived_run_back_as_finished(self):
        results = self.archive_with("B/lars-fp16-b256/eta0.01-s1", {
            "summary.json": '{"steps": 5}', "wall.json": '{"wall_s": 1}',
            "metrics.jsonl.gz": '{"type": "eval"}\n'})
        runs = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.assertEqual(study.restore_archived(runs, results), 1)
        run = study.Run("B", "lars-fp16-b256", Path("spec.json"), study.LARS_ETA, 0.01, 1)
        self.assertEqual(study.summary(run, runs), {"steps": 5})
        self.assertEqual((run.directory(runs) / "metrics.jsonl").read_text(), '{"type": "eval"}\n')
        self.assertEqual(study.restore_archived(runs, results), 0)  # already there

    def test_a_run_archived_here_comes_back_the_same_on_a_new_machine(self):
        here = Path(self.enterContext(tempfile.TemporaryDirectory()))
        run = study.Run("B", "sgd-fp16-b1024", Path("spec.json"), study.LARS_ETA, 0.05, 1)
        files = {"summary.json": '{"steps": 432}', "wall.json": '{"wall_s": 9}',
                 "provenance.json": '{"commit": "x"}', "metrics.jsonl": '{"type": "eval"}\n'}
        run.directory(here / "runs").mkdir(parents=True)
        for name, content in files.items():
            (run.directory(here / "runs") / name).write_text(content)
        (run.directory(here / "runs") / "checkpoint.bin").write_bytes(b"not archived")
        study.archive(run, here / "runs", here / "results")
        study.archive(run, here / "runs", here / "results")  # again: the same bytes
        new_machine = here / "new-runs"
        self.assertEqual(study.restore_archived(new_machine, here / "results"), 1)
        back = run.directory(new_machine)
        self.assertEqual({p.name: p.read_text() for p in back.iterdir()}, files)

    def test_a_run_under_way_here_is_not_overwritten(self):
        results = self.archive_with("A/c-sgd-fp16-b3072/lr0.05-s1", {"summary.json": "{}"})
        runs = Path(self.enterContext(tempfile.TemporaryDirectory()))
        here = runs / "A/c-sgd-fp16-b3072/lr0.05-s1"
        here.mkdir(parents=True)
        (here / "checkpoint.bin").write_bytes(b"x")
        self.assertEqual(study.restore_archived(runs, results), 0)
        self.assertFalse((here / "summary.json").exists())


if __name__ == "__main__":
    unittest.main()


class RecoveredRuns(unittest.TestCase):
    """A run recovered after a loss keeps only its summary's accuracies."""

    def setUp(self):
        import sys
        sys.path.insert(0, str(ROOT / "experiments/seed-shape-fmnist"))
        self.report = load("study_report", ROOT / "experiments/seed-shape-fmnist/study_report.py")

    def test_no_wall_time_and_means_over_the_known(self):
        class Run:
            def directory(self, runs):
                return Path(runs)
        with tempfile.TemporaryDirectory() as d:
            self.assertIsNone(self.report.wall_s(Run(), d))
            (Path(d) / "wall.json").write_text(json.dumps({"wall_s": 12.5}))
            self.assertEqual(self.report.wall_s(Run(), d), 12.5)
        self.assertEqual(self.report.mean_of_known([None, 2.0, 4.0]), 3.0)
        self.assertIsNone(self.report.mean_of_known([None]))
