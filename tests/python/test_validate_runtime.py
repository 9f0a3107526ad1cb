"""simulator/validate_runtime.py's comparisons (no lb-train runs)."""
import importlib.util
import json
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("validate_runtime", ROOT / "simulator/validate_runtime.py")
vr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vr)


class ExposedSpan(unittest.TestCase):
    def test_largest_over_smallest_of_the_repeats(self):
        self.assertAlmostEqual(vr.exposed_span([{"exposed_comm_s": 0.002}, {"exposed_comm_s": 0.001},
                                                {"exposed_comm_s": 0.0015}]), 2.0)

    def test_a_zero_repeat_has_no_span(self):
        self.assertIsNone(vr.exposed_span([{"exposed_comm_s": 0.0}, {"exposed_comm_s": 0.001}]))


class Within(unittest.TestCase):
    def test_a_factor_holds_both_ways(self):
        self.assertTrue(vr.within(1.5, 1.5))
        self.assertTrue(vr.within(1 / 1.5, 1.5))
        self.assertFalse(vr.within(1.51, 1.5))
        self.assertFalse(vr.within(0.6, 1.5))

    def test_no_ratio_is_not_within(self):
        self.assertFalse(vr.within(None, 1.5))


class Interleaved(unittest.TestCase):
    def test_calibration_and_predictions_alternate_and_each_runs_once(self):
        order = vr.interleaved(3, 4)
        self.assertEqual(order, [("cal", 0), ("run", 0), ("cal", 1), ("run", 1), ("cal", 2), ("run", 2),
                                 ("run", 3)])


class AtMeasuredCompute(unittest.TestCase):
    def test_the_measured_compute_replaces_the_predicted(self):
        # 0.20 s predicted, of which 0.15 compute; measured compute 0.18
        self.assertAlmostEqual(vr.step_at_measured_compute(0.20, 0.15, 0.18), 0.23)


class ForwardPerImage(unittest.TestCase):
    def test_runs_with_a_core_per_rank_by_rank_count(self):
        profiles = [{"ranks": 1, "threads": 1, "per_rank_batch": 16, "forward_s": 0.016},
                    {"ranks": 2, "threads": 1, "per_rank_batch": 32, "forward_s": 0.048},
                    {"ranks": 4, "threads": 1, "per_rank_batch": 32, "forward_s": 0.096}]
        by_ranks = vr.forward_per_image_ms(profiles, cores=2)
        self.assertEqual(sorted(by_ranks), [1, 2])  # 4 ranks on 2 cores take turns: left out
        self.assertAlmostEqual(by_ranks[1][0], 1.0)
        self.assertAlmostEqual(by_ranks[2][0], 1.5)


class AgainstOtherRounds(unittest.TestCase):
    def test_each_round_over_the_median_of_the_others(self):
        # 0.20 / median(0.22, 0.25), 0.22 / median(0.20, 0.25), 0.25 / median(0.20, 0.22)
        ratios = [0.20 / 0.235, 0.22 / 0.225, 0.25 / 0.21]
        self.assertAlmostEqual(vr.against_other_rounds([0.20, 0.22, 0.25]), sorted(ratios)[1])

    def test_rounds_that_agree_give_one(self):
        self.assertAlmostEqual(vr.against_other_rounds([0.1, 0.1, 0.1]), 1.0)

    def test_a_zero_median_gives_none(self):
        self.assertIsNone(vr.against_other_rounds([0.0, 0.0, 0.001]))


class JobCompute(unittest.TestCase):
    def test_the_mean_over_ranks_when_every_rank_is_recorded(self):
        self.assertAlmostEqual(vr.job_compute_s({"forward_s": 0.1, "backward_s": 0.2,
                                                 "rank_compute_s": [0.3, 0.5]}), 0.4)

    def test_rank_zeros_forward_and_backward_otherwise(self):
        self.assertAlmostEqual(vr.job_compute_s({"forward_s": 0.1, "backward_s": 0.2}), 0.3)


class JobExposedComm(unittest.TestCase):
    def test_the_mean_over_ranks_when_every_rank_is_recorded(self):
        self.assertAlmostEqual(vr.job_exposed_comm_s({"exposed_comm_s": 0.0114,
                                                      "rank_exposed_comm_s": [0.0114, 0.0006]}), 0.006)

    def test_rank_zeros_own_otherwise(self):
        self.assertEqual(vr.job_exposed_comm_s({"exposed_comm_s": 0.002}), 0.002)

    def test_kept_runs_get_every_ranks_wait_from_their_traces(self):
        run_dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        for rank, waits_us in enumerate(([100, 300, 200], [5000, 7000, 6000])):
            events = [{"ph": "X", "name": "allreduce wait", "ts": i, "dur": w} for i, w in enumerate(waits_us)]
            events.append({"ph": "X", "name": "forward", "ts": 0, "dur": 9e6})
            (run_dir / f"trace.rank{rank}.json").write_text(json.dumps({"traceEvents": events}))
        for got, want in zip(vr.exposed_by_rank_from_traces(str(run_dir), 2), [200e-6, 6000e-6], strict=True):
            self.assertAlmostEqual(got, want, places=12)
        self.assertIsNone(vr.exposed_by_rank_from_traces(str(run_dir), 3))  # rank 2's trace is missing


class Describe(unittest.TestCase):
    def test_a_configuration_reads_as_the_tables_print_it(self):
        self.assertEqual(vr.describe((4, 16, "ring", 0, True, 0)), "np 4, 16/rank, ring, per tensor, overlap on")
        self.assertEqual(vr.describe((2, 16, "hierarchical", 1 << 20, True, 1)),
                         "np 2, 16/rank, hierarchical, groups of 1, 1 MiB, overlap on")


if __name__ == "__main__":
    unittest.main()
