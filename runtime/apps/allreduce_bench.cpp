// allreduce-bench: all-reduce bandwidth of each algorithm, nccl-tests style.
//   mpirun -np 4 build/bin/allreduce-bench [--algorithms ring,mpi] [--min-bytes 4096]
//        [--write-auto-calibration auto.json]
//        [--max-bytes 268435456] [--json]
//   mpirun -np 4 build/bin/allreduce-bench --model resnet50 [--fusion-bytes auto,1048576]
// Rows: size, time, algbw = size/time, busbw = algbw*2(n-1)/n, #wrong.
// Data is integer-valued so the sum is exact and every element is checked;
// any wrong element makes the exit code 1.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "runtime/comm/allreduce.hpp"
#include "runtime/comm/gradient_sync.hpp"
#include "runtime/comm/mpi_communicator.hpp"
#include "runtime/core/allocator.hpp"
#include "runtime/core/auto_calibration.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/host.hpp"
#include "runtime/models/model.hpp"

namespace lb {
namespace {

struct Options {
  std::vector<std::string> algorithms{"mpi", "ring", "hierarchical", "torus2d"};
  std::int64_t min_bytes = 4 << 10, max_bytes = 256 << 20;
  int group_size = 0, iterations = 0, rounds = 1;
  bool fp16 = false, json = false;
  bool algorithms_given = false;  // --model: else the spec's default algorithm
  std::string model;
  std::vector<std::string> fusion_sizes{"auto"};  // --model: "auto" (the spec's default) or bytes
  std::string auto_calibration_out;
};

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

float pattern(std::size_t i, int rank) { return float((rank + 1) * int(i % 13 + 1)); }

// Mean time of one all-reduce over `iterations`, the slowest rank's, and the
// number of wrong elements after the last one (summed over ranks).
std::pair<double, std::int64_t> time_allreduce(Allreducer& reducer, Communicator& world,
                                               Algorithm a, std::size_t count, int iterations) {
  std::vector<float> data(count);
  const int n = world.size();
  double total = 0;
  for (int it = -1; it < iterations; ++it) {  // iteration -1 warms up
    for (std::size_t i = 0; i < count; ++i) data[i] = pattern(i, world.rank());
    world.barrier();
    const double start = seconds();
    reducer.sum(data, a);
    if (it >= 0) total += seconds() - start;
  }
  std::vector<float> stats{float(total / iterations), 0.0f};
  for (std::size_t i = 0; i < count; ++i)
    stats[1] += data[i] != float(n * (n + 1) / 2 * int(i % 13 + 1));
  std::vector<float> slowest{stats[0]}, wrong{stats[1]};
  // The slowest rank's time is the collective's time.
  MPI_Allreduce(MPI_IN_PLACE, slowest.data(), 1, MPI_FLOAT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, wrong.data(), 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  return {slowest[0], std::int64_t(wrong[0])};
}

int iterations_for(std::int64_t bytes, int requested) {
  if (requested > 0) return requested;
  return int(std::clamp<std::int64_t>((64ll << 20) / std::max<std::int64_t>(bytes, 1), 3, 50));
}

struct SweepResult {
  std::int64_t wrong = 0;
  std::vector<SizeTimings> timings;  // by size, every algorithm's median time
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// min, 2 min, 4 min, ... up to max; stops before doubling past max, so a
// max near the type's limit cannot overflow.
std::vector<std::int64_t> doubling_sizes(std::int64_t min, std::int64_t max) {
  std::vector<std::int64_t> sizes;
  for (std::int64_t bytes = min; bytes <= max; bytes *= 2) {
    sizes.push_back(bytes);
    if (bytes > max / 2) break;
  }
  return sizes;
}

// Every round times every size with every algorithm, the algorithms
// alternating at each size, so that a slow phase of a shared machine hits
// all of them alike instead of whichever happened to run then; a row
// reports the median over rounds.
SweepResult sweep(const Options& o, MpiCommunicator& world) {
  const int n = world.size();
  const std::vector<std::int64_t> sizes = doubling_sizes(o.min_bytes, o.max_bytes);
  std::vector<std::unique_ptr<Allreducer>> reducers;
  for (const auto& name : o.algorithms) {
    reducers.push_back(std::make_unique<Allreducer>(
        world, AllreduceConfig{parse_algorithm(name), o.group_size, o.fp16}));
  }
  // times[algorithm][size]: one entry per round
  std::vector<std::vector<std::vector<double>>> times(
      o.algorithms.size(), std::vector<std::vector<double>>(sizes.size()));
  std::vector<std::vector<std::int64_t>> wrong_elements(o.algorithms.size(),
                                                        std::vector<std::int64_t>(sizes.size()));
  SweepResult result;
  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t s = 0; s < sizes.size(); ++s) {
      for (std::size_t a = 0; a < o.algorithms.size(); ++a) {
        const auto count = static_cast<std::size_t>(sizes[s] / 4);
        const auto [time_s, wrong] =
            time_allreduce(*reducers[a], world, parse_algorithm(o.algorithms[a]), count,
                           iterations_for(sizes[s], o.iterations));
        times[a][s].push_back(time_s);
        wrong_elements[a][s] += wrong;
        result.wrong += wrong;
      }
    }
    if (world.rank() == 0 && o.rounds > 1 && !o.json) {
      std::fprintf(stderr, "allreduce-bench: round %d of %d done\n", round + 1, o.rounds);
    }
  }

  if (world.rank() == 0 && !o.json) {
    std::printf("# ranks %d, group size %s, %s wire, median of %d round(s)\n", n,
                o.group_size ? std::to_string(o.group_size).c_str() : "ranks per node",
                o.fp16 ? "fp16" : "fp32", o.rounds);
    std::printf("%-13s %12s %12s %10s %10s %8s\n", "algorithm", "size(B)", "time(us)",
                "algbw(GB/s)", "busbw(GB/s)", "#wrong");
  }
  for (std::size_t s = 0; s < sizes.size(); ++s) result.timings.push_back({sizes[s], {}});
  for (std::size_t a = 0; a < o.algorithms.size(); ++a) {
    const std::string& name = o.algorithms[a];
    for (std::size_t s = 0; s < sizes.size(); ++s) {
      const double time_s = median_of(times[a][s]);
      // auto is what the calibration chooses for, not one of the candidates
      if (parse_algorithm(name) != Algorithm::automatic) result.timings[s].seconds[name] = time_s;
      const double algbw = double(sizes[s]) / time_s / 1e9, busbw = algbw * 2.0 * (n - 1) / n;
      if (world.rank() != 0) continue;
      if (o.json) {
        const auto [lo, hi] = std::minmax_element(times[a][s].begin(), times[a][s].end());
        std::cout << nlohmann::json{{"algorithm", name},        {"ranks", n},
                                    {"bytes", sizes[s]},        {"time_us", time_s * 1e6},
                                    {"rounds", o.rounds},       {"time_us_min", *lo * 1e6},
                                    {"time_us_max", *hi * 1e6}, {"algbw_gbps", algbw},
                                    {"busbw_gbps", busbw},      {"wrong", wrong_elements[a][s]},
                                    {"fp16_wire", o.fp16}}
                  << std::endl;
      } else {
        std::printf("%-13s %12lld %12.1f %10.3f %10.3f %8lld\n", name.c_str(), (long long)sizes[s],
                    time_s * 1e6, algbw, busbw, (long long)wrong_elements[a][s]);
      }
    }
  }
  return result;
}

// The fastest algorithm per size, as comm.auto_calibration reads it.
void write_auto_calibration(const Options& o, MpiCommunicator& world, const SweepResult& result) {
  AutoCalibration c;
  c.ranks = world.size();
  c.group_size = Allreducer(world, {Algorithm::mpi, o.group_size, o.fp16}).group_size();
  c.fp16_wire = o.fp16;
  c.rules = fastest_rules(result.timings);
  if (world.rank() != 0) return;
  write_file_atomically(o.auto_calibration_out,
                        auto_calibration_json(c, result.timings).dump(2) + "\n");
  std::fprintf(stderr, "allreduce-bench: wrote %s:", o.auto_calibration_out.c_str());
  for (const AutoRule& r : c.rules) {
    if (r.below_bytes >= 0) {
      std::fprintf(stderr, " %s below %lld B,", to_string(r.algorithm).c_str(),
                   (long long)r.below_bytes);
    } else {
      std::fprintf(stderr, " %s above\n", to_string(r.algorithm).c_str());
    }
  }
}

// One fused configuration of --model: its bucket size, its sync, its times.
struct FusedRun {
  std::string requested;  // "auto" or bytes, as given
  std::int64_t bytes = 0;
  std::unique_ptr<GradientSync> sync;
  std::vector<double> rounds;
};

std::optional<std::int64_t> parse_fusion_size(const std::string& text) {
  if (text == "auto") return std::nullopt;
  return std::stoll(text);  // checked by the option's validator
}

void print_model_row(const Options& o, const nlohmann::json& row) {
  if (o.json) {
    std::cout << row << std::endl;
    return;
  }
  std::printf(
      "%s: %lld tensors, %lld bytes, per-tensor MPI_Allreduce %.4f s; fusion %s = %lld B "
      "(%lld buckets, %s): %.4f s, %.2fx\n",
      o.model.c_str(), (long long)row["tensors"], (long long)row["bytes"],
      double(row["per_tensor_s"]), std::string(row["fusion_requested"]).c_str(),
      (long long)row["fusion_bytes"], (long long)row["buckets"],
      std::string(row["fused_algorithm"]).c_str(), double(row["fused_s"]), double(row["speedup"]));
}

// Syncs a model's gradients one MPI_Allreduce per tensor and fused at each
// of --fusion-bytes, in turn, round after round; each reports its median.
// The gradients live in a GradientArena and each bucket is its slice, as in
// lb-train; the default algorithm and bucket size are the spec's.
void model_mode(const Options& o, MpiCommunicator& world) {
  // The ImageNet models at their ImageNet shape, the small ones at Fashion-MNIST's.
  const bool imagenet = o.model == "resnet50" || o.model == "alexnet_bn";
  auto model =
      make_model(o.model, imagenet ? Shape{3, 224, 224} : Shape{1, 28, 28}, imagenet ? 1000 : 10);
  Rng rng(1);
  model->net->init(rng);
  auto params = model->net->params();
  std::vector<Tensor*> grad_tensors;
  for (auto it = params.rbegin(); it != params.rend(); ++it) grad_tensors.push_back(&(*it)->grad);
  GradientArena arena(grad_tensors);
  const std::vector<std::span<float>>& grads = arena.grads();
  std::int64_t bytes = 0;
  for (const auto& g : grads) bytes += std::int64_t(g.size_bytes());
  const Algorithm algorithm =
      o.algorithms_given ? parse_algorithm(o.algorithms.front()) : CommSpec{}.algorithm;
  Allreducer reducer(world, {algorithm, o.group_size, o.fp16});
  const int iterations = o.iterations > 0 ? o.iterations : 5;
  auto timed = [&](auto&& body) {
    body();  // warm-up
    world.barrier();
    const double start = seconds();
    for (int i = 0; i < iterations; ++i) body();
    world.barrier();
    return (seconds() - start) / iterations;
  };
  std::vector<FusedRun> runs;
  for (const std::string& size : o.fusion_sizes) {
    const std::int64_t resolved = resolve_fusion_bytes(parse_fusion_size(size), bytes, reducer);
    runs.push_back(
        {size, resolved, std::make_unique<GradientSync>(reducer, arena, resolved, false), {}});
  }
  // Each round starts one place further along the list (per-tensor first in
  // round 0), so that no configuration always runs right after another.
  std::vector<double> per_tensor_rounds;
  const std::size_t configurations = runs.size() + 1;
  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t k = 0; k < configurations; ++k) {
      const std::size_t which = (k + std::size_t(round)) % configurations;
      if (which == 0) {
        per_tensor_rounds.push_back(timed([&] {
          for (auto g : grads) world.native_allreduce_sum(g);
        }));
        continue;
      }
      FusedRun& run = runs[which - 1];
      run.rounds.push_back(timed([&] {
        run.sync->begin_step();
        for (std::size_t t = 0; t < grads.size(); ++t) run.sync->ready(t);
        run.sync->finish();
      }));
    }
  }
  if (world.rank() != 0) return;
  const double per_tensor_s = median_of(per_tensor_rounds);
  for (const FusedRun& run : runs) {
    const double fused_s = median_of(run.rounds);
    print_model_row(o, {{"model", o.model},
                        {"ranks", world.size()},
                        {"tensors", grads.size()},
                        {"bytes", bytes},
                        {"buckets", run.sync->buckets().size()},
                        {"fused_algorithm", to_string(algorithm)},
                        {"fusion_requested", run.requested},
                        {"fusion_bytes", run.bytes},
                        {"per_tensor_s", per_tensor_s},
                        {"fused_s", fused_s},
                        {"rounds", o.rounds},
                        {"speedup", per_tensor_s / fused_s}});
  }
}

// Buffers beyond this would not fit beside the other ranks' on one machine.
std::int64_t max_buffer_bytes() { return std::int64_t(usable_memory_bytes() / 4); }

void add_options(CLI::App& app, Options& o) {
  const std::int64_t kMaxBytes = std::int64_t(1) << 60;
  app.add_option("--algorithms", o.algorithms,
                 "comma-separated: mpi,ring,hierarchical,torus2d,auto (--model: the first; default "
                 "the spec's, auto)")
      ->delimiter(',')
      ->check(CLI::IsMember({"mpi", "ring", "hierarchical", "torus2d", "auto"}));
  app.add_option("--min-bytes", o.min_bytes, "smallest buffer (bytes)")
      ->check(CLI::Range(std::int64_t(1), kMaxBytes));
  app.add_option("--max-bytes", o.max_bytes,
                 "largest buffer (bytes; at most a quarter of this machine's memory)")
      ->check(CLI::Range(std::int64_t(1), kMaxBytes));
  app.add_option("--group-size", o.group_size,
                 "ranks per group for hierarchical/torus2d (0 = per node)")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--iterations", o.iterations, "timed iterations per size (0 = by size)")
      ->check(CLI::Range(0, 1'000'000));
  app.add_option(
         "--rounds", o.rounds,
         "repeat the whole sweep, algorithms alternating at each size; rows give the median")
      ->check(CLI::Range(1, 10'000));
  app.add_flag("--fp16", o.fp16, "fp16 wire format");
  app.add_flag("--json", o.json, "one JSON object per row");
  app.add_option("--model", o.model, "sync this zoo model's gradients per tensor and fused")
      ->check(CLI::IsMember(model_names()));
  app.add_option(
         "--fusion-bytes", o.fusion_sizes,
         "--model: bucket sizes to time, comma-separated: \"auto\" (the spec's default) or bytes")
      ->delimiter(',')
      ->check(CLI::IsMember({"auto"}) | CLI::Range(std::int64_t(0), kMaxBytes));
  app.add_option("--write-auto-calibration", o.auto_calibration_out,
                 "write the fastest algorithm per size to FILE, for comm.auto_calibration");
}

// What one option's check cannot see: how the options relate, and the machine.
void check_options(const Options& o) {
  if (o.min_bytes > o.max_bytes) {
    throw InputError("--min-bytes " + std::to_string(o.min_bytes) + " is larger than --max-bytes " +
                     std::to_string(o.max_bytes) + ": no size to measure");
  }
  if (o.max_bytes > max_buffer_bytes()) {
    throw InputError("--max-bytes: expected at most " + std::to_string(max_buffer_bytes()) +
                     " (a quarter of this machine's " +
                     format_bytes(double(usable_memory_bytes())) + "), got " +
                     std::to_string(o.max_bytes));
  }
}

}  // namespace
}  // namespace lb

int main(int argc, char** argv) {
  lb::keep_freed_memory();  // for MPI_Allreduce as much as for our algorithms
  lb::MpiSession mpi(&argc, &argv, true);
  CLI::App app{"allreduce-bench: all-reduce bandwidth per algorithm (run under mpirun)"};
  lb::Options options;
  lb::add_options(app, options);
  try {
    app.parse(argc, argv);
    options.algorithms_given = app.count("--algorithms") > 0;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return lb::end_job_with_error("allreduce-bench: " + std::string(e.what()) + " (see --help)", 2);
  }
  try {
    lb::check_options(options);
    lb::MpiCommunicator world(MPI_COMM_WORLD, 300.0);
    if (!options.model.empty()) {
      lb::model_mode(options, world);
      return 0;
    }
    const lb::SweepResult result = lb::sweep(options, world);
    if (result.wrong != 0) return 1;  // never calibrate from wrong results
    if (!options.auto_calibration_out.empty()) lb::write_auto_calibration(options, world, result);
    return 0;
  } catch (const lb::InputError& e) {
    return lb::end_job_with_error("allreduce-bench: " + std::string(e.what()), 2);
  } catch (const std::exception& e) {
    return lb::end_job_with_error("allreduce-bench: error: " + std::string(e.what()), 1);
  }
}
