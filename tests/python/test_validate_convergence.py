"""simulator/validate_convergence.py's choice of runs (no fits)."""
import importlib.util
import json
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("validate_convergence", ROOT / "simulator/validate_convergence.py")
vc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vc)


def make_run(root, name, batch, steps, reached=True):
    d = root / name
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({"spec": {"train": {"global_batch": batch}},
                                                "stopped_at_target": reached, "steps_to_target": steps}))
    return str(d)


class ChoiceOfRuns(unittest.TestCase):
    def setUp(self):
        self.root = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def test_a_studys_lock_files_are_not_runs(self):
        run = make_run(self.root, "eta0.01-s1", 256, 100)
        lock = self.root / "eta0.01-s1.lock"
        lock.write_text("")
        self.assertEqual(vc.without_lock_files([run, str(lock)]), [run])

    def test_each_batch_takes_the_fewest_steps_of_the_runs_that_reached_the_target(self):
        runs = [make_run(self.root, "a", 256, 300), make_run(self.root, "b", 256, 200),
                make_run(self.root, "c", 256, 50, reached=False), make_run(self.root, "d", 1024, 90)]
        best, by_batch = vc.read_runs(runs + [str(self.root / "unfinished")])
        self.assertEqual({b: s for b, (s, _) in best.items()}, {256: 200, 1024: 90})
        self.assertEqual(sorted(len(v) for v in by_batch.values()), [1, 3])


if __name__ == "__main__":
    unittest.main()
