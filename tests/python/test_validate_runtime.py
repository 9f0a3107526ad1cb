"""simulator/validate_runtime.py's comparisons (no lb-train runs)."""
import importlib.util
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


class Describe(unittest.TestCase):
    def test_a_configuration_reads_as_the_tables_print_it(self):
        self.assertEqual(vr.describe((4, 16, "ring", 0, True, 0)), "np 4, 16/rank, ring, per tensor, overlap on")
        self.assertEqual(vr.describe((2, 16, "hierarchical", 1 << 20, True, 1)),
                         "np 2, 16/rank, hierarchical, groups of 1, 1 MiB, overlap on")


if __name__ == "__main__":
    unittest.main()
