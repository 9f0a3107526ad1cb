"""simulator/rank_skew.py on synthetic traces with a known skew."""
import importlib.util
import json
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("rank_skew", ROOT / "simulator/rank_skew.py")
rank_skew = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rank_skew)


def write_trace(path, origin_us, start_late_us, forward_us, steps=8, host=None, allreduce_late_us=0):
    """One rank's trace: every step 10 ms long, its forward starting
    start_late_us after the step begins, then one all-reduce that ends
    allreduce_late_us after the step's end; times from the rank's own
    origin, which a process_name event gives when `host` is set."""
    events = []
    if host is not None:
        events.append({"name": "process_name", "ph": "M", "pid": 0,
                       "args": {"name": "rank", "host": host, "clock_origin_ns": origin_us * 1000}})
    for s in range(steps):
        begin = s * 10_000 - origin_us
        events.append({"name": "forward", "ts": begin + start_late_us, "dur": forward_us, "args": {"step": s}})
        events.append({"name": "allreduce bucket 0", "ts": begin + 9_000, "dur": 1_000 + allreduce_late_us,
                       "args": {"step": s}})
    path.write_text(json.dumps({"traceEvents": events}))


class Skew(unittest.TestCase):
    def test_spreads_are_measured_across_ranks_whose_clocks_differ(self):
        with tempfile.TemporaryDirectory() as d:
            run = Path(d)
            write_trace(run / "trace.rank0.json", origin_us=0, start_late_us=100, forward_us=3_000)
            write_trace(run / "trace.rank1.json", origin_us=123_456, start_late_us=2_100, forward_us=4_000)
            r = rank_skew.skew(str(run))
        self.assertEqual((r["ranks"], r["steps"], r["aligned_by"]), (2, 5, "all-reduce ends"))  # 3 skipped
        self.assertAlmostEqual(r["forward_start_spread_ms"], 2.0)
        self.assertAlmostEqual(r["forward_end_spread_ms"], 3.0)
        self.assertAlmostEqual(r["forward_ms"], 3.5)

    def test_ranks_of_one_host_are_put_on_its_clock_even_when_they_leave_the_allreduce_apart(self):
        with tempfile.TemporaryDirectory() as d:
            run = Path(d)
            # Rank 1's process began 5 ms after rank 0's, and its all-reduces end
            # 3 ms after rank 0's: aligned on their ends, it would look 3 ms early.
            write_trace(run / "trace.rank0.json", 1_000_000, 100, 3_000, host="node0")
            write_trace(run / "trace.rank1.json", 1_005_000, 100, 3_000, host="node0",
                        allreduce_late_us=3_000)
            r = rank_skew.skew(str(run))
        self.assertEqual(r["aligned_by"], "host clock")
        self.assertAlmostEqual(r["forward_start_spread_ms"], 0.0)
        self.assertAlmostEqual(r["allreduce_end_spread_ms"], 3.0)

    def test_ranks_of_two_hosts_are_aligned_on_their_allreduces(self):
        with tempfile.TemporaryDirectory() as d:
            run = Path(d)
            write_trace(run / "trace.rank0.json", 0, 100, 3_000, host="node0")
            write_trace(run / "trace.rank1.json", 777, 1_100, 3_000, host="node1")
            r = rank_skew.skew(str(run))
        self.assertEqual(r["aligned_by"], "all-reduce ends")
        self.assertAlmostEqual(r["forward_start_spread_ms"], 1.0)

    def test_one_rank_is_not_a_skew(self):
        with tempfile.TemporaryDirectory() as d:
            write_trace(Path(d) / "trace.rank0.json", 0, 0, 1_000)
            with self.assertRaises(ValueError):
                rank_skew.skew(d)


if __name__ == "__main__":
    unittest.main()
