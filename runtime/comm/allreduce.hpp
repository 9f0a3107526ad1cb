#pragma once
// All-reduce algorithms over a Communicator, as the seed system uses them:
//   mpi          the library's MPI_Allreduce (baseline)
//   ring         reduce-scatter then all-gather around a ring, N-1 steps each
//   hierarchical reduce inside groups of comm.group_size ranks, ring
//                all-reduce among the group leaders, broadcast inside groups
//   torus2d      reduce-scatter along rows (groups), all-reduce along columns,
//                all-gather along rows (Mikami et al. 2018)
//   auto         chosen per buffer by its size (the seed's hybrid)
// (names, the auto rule and the group-size rules: runtime/core/comm_algorithm.hpp,
// shared with simulate-scaling, which also models algorithms lb-train does not run)
// Optionally the wire format is fp16 (comm.fp16_gradients): values are
// rounded to half on every hop and summed in fp32.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/comm/communicator.hpp"
#include "runtime/core/comm_algorithm.hpp"
#include "runtime/core/fusion_rule.hpp"
#include "runtime/core/spec.hpp"

namespace lb {

// Algorithm, its names and parse_algorithm: runtime/core/spec_choices.hpp;
// AutoRule and the rules for `auto`: runtime/core/comm_algorithm.hpp.
struct AllreduceConfig {
  AllreduceConfig(Algorithm a = Algorithm::ring, int group = 0, bool fp16 = false,
                  std::int64_t small_bytes = 64 << 10)
      : algorithm(a), group_size(group), fp16_wire(fp16), auto_small_bytes(small_bytes) {}

  Algorithm algorithm = Algorithm::ring;
  int group_size = 0;  // 0 = ranks per node
  bool fp16_wire = false;
  // automatic: buffers below this go to MPI_Allreduce (latency-bound), larger
  // ones to hierarchical when there are several groups, else ring.
  std::int64_t auto_small_bytes = 64 << 10;
  // automatic, when not empty: these measured rules instead (a calibration
  // file, valid only for the ranks and group size it was measured with).
  std::vector<AutoRule> auto_rules;
  int auto_ranks = 0, auto_group_size = 0;
  std::string auto_source;  // the file, for error messages
  // The file's measured all-reduce cost, for comm.fusion_bytes "auto".
  std::optional<AllreduceCost> measured_cost;
};

// Reads comm.auto_calibration when set (InputError if it is bad); refuses a
// simulator-only comm.algorithm (SpecError).
AllreduceConfig allreduce_config(const CommSpec& spec);

class Allreducer {
 public:
  // Collective: every rank of `world` constructs it with the same config.
  Allreducer(Communicator& world, AllreduceConfig config);
  ~Allreducer();

  // In-place sum over all ranks with `algorithm` (automatic resolves by size).
  void sum(std::span<float> data, Algorithm algorithm);
  void sum(std::span<float> data) { sum(data, config_.algorithm); }
  // The average: pre-scaled by 1/N before the sum, so an fp16 wire cannot overflow.
  void mean(std::span<float> data);

  Algorithm resolve(Algorithm a, std::size_t bytes) const;
  int group_size() const { return group_size_; }
  // What mean() multiplies by before the sum: 1/N.
  float mean_factor() const { return 1.0f / static_cast<float>(world_.size()); }
  const AllreduceConfig& config() const { return config_; }
  int ranks() const { return world_.size(); }
  // Whether every rank shares this rank's node (MPI_Comm_split_type SHARED).
  bool on_one_node() const { return world_.ranks_per_node() >= world_.size(); }

 private:
  void hierarchical(std::span<float> data);
  void torus2d(std::span<float> data);

  Communicator& world_;
  AllreduceConfig config_;
  int group_size_;
  std::unique_ptr<Communicator> group_;   // ranks of my group (a row)
  std::unique_ptr<Communicator> column_;  // the same local index in every group
};

// The ring building blocks, public for tests and for the NCCL backend's reuse.
// After ring_reduce_scatter, rank r holds the full sum of chunk r, where chunk
// i spans [size*i/n, size*(i+1)/n).
void ring_reduce_scatter(Communicator& c, std::span<float> data, bool fp16_wire);
void ring_all_gather(Communicator& c, std::span<float> data, bool fp16_wire);
void ring_allreduce(Communicator& c, std::span<float> data, bool fp16_wire);
std::span<float> ring_chunk(std::span<float> data, int index, int ranks);

}  // namespace lb
