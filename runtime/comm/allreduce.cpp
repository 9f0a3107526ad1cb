#include "runtime/comm/allreduce.hpp"

#include <cstring>
#include <stdexcept>
#include <vector>

#include "runtime/core/auto_calibration.hpp"
#include "runtime/core/errors.hpp"
#include "runtime/core/half.hpp"

namespace lb {
namespace {

// One hop of a ring. With an fp16 wire the outgoing chunk is encoded into
// a staging buffer; in fp32 it is sent straight from the data. The incoming
// chunk lands in a staging buffer when it is to be added (reduce-scatter),
// and, in fp32, directly in place when it is final (all-gather): every copy
// saved is a pass over memory that 2 cores shared by 4 ranks cannot hide.
class WireHop {
 public:
  WireHop(Communicator& c, bool fp16) : c_(c), fp16_(fp16) {}

  // Receives `in_count` elements into the staging buffer, for add_into().
  void exchange(std::span<const float> out, int dest, std::size_t in_count, int src,
                const char* what) {
    in_.resize(in_count * (fp16_ ? sizeof(half_bits) : sizeof(float)));
    c_.sendrecv(wire(out), dest, in_, src, what);
  }

  void add_into(std::span<float> dst) {
    const float* in = decoded(dst.size());
    for (std::size_t i = 0; i < dst.size(); ++i) dst[i] += in[i];
  }

  // Receives the final values of `in` (which must not overlap `out`).
  void exchange_into(std::span<const float> out, int dest, std::span<float> in, int src,
                     const char* what) {
    if (!fp16_) return c_.sendrecv(std::as_bytes(out), dest, std::as_writable_bytes(in), src, what);
    exchange(out, dest, in.size(), src, what);
    from_half({reinterpret_cast<const half_bits*>(in_.data()), in.size()}, in);
  }

 private:
  const float* decoded(std::size_t count) {
    if (!fp16_) return reinterpret_cast<const float*>(in_.data());
    decoded_.resize(count);
    from_half({reinterpret_cast<const half_bits*>(in_.data()), count}, decoded_);
    return decoded_.data();
  }

  std::span<const std::byte> wire(std::span<const float> out) {
    if (!fp16_) return std::as_bytes(out);
    out_.resize(out.size() * sizeof(half_bits));
    to_half(out, {reinterpret_cast<half_bits*>(out_.data()), out.size()});
    return out_;
  }

  // Staging buffers outlive the hop: freshly allocated ones of many MiB
  // would be page-faulted in (and returned to the kernel by free) on every
  // all-reduce. thread_local because the communication thread and the
  // trainer's thread may each run collectives.
  Communicator& c_;
  bool fp16_;
  static thread_local std::vector<std::byte> out_, in_;
  static thread_local std::vector<float> decoded_;
};

thread_local std::vector<std::byte> WireHop::out_, WireHop::in_;
thread_local std::vector<float> WireHop::decoded_;

int wrap(int i, int n) { return ((i % n) + n) % n; }

std::span<std::byte> bytes_of(std::span<float> data) { return std::as_writable_bytes(data); }

}  // namespace

std::span<float> ring_chunk(std::span<float> data, int index, int ranks) {
  const auto size = static_cast<std::int64_t>(data.size());
  const std::int64_t begin = size * index / ranks, end = size * (index + 1) / ranks;
  return data.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin));
}

void ring_reduce_scatter(Communicator& c, std::span<float> data, bool fp16_wire) {
  const int n = c.size(), r = c.rank();
  if (n == 1) return;
  WireHop hop(c, fp16_wire);
  // Step s sends chunk r-s-1 and receives chunk r-s-2, so that after n-1
  // steps rank r holds the complete sum of chunk r.
  for (int s = 0; s < n - 1; ++s) {
    const auto out = ring_chunk(data, wrap(r - s - 1, n), n);
    const auto in = ring_chunk(data, wrap(r - s - 2, n), n);
    hop.exchange(out, wrap(r + 1, n), in.size(), wrap(r - 1, n), "ring reduce-scatter");
    hop.add_into(in);
  }
  // Every rank must end with identical values, so the owner keeps the
  // rounded value it is about to send.
  if (fp16_wire) round_to_half(ring_chunk(data, r, n));
}

void ring_all_gather(Communicator& c, std::span<float> data, bool fp16_wire) {
  const int n = c.size(), r = c.rank();
  if (n == 1) return;
  WireHop hop(c, fp16_wire);
  for (int s = 0; s < n - 1; ++s) {
    const auto out = ring_chunk(data, wrap(r - s, n), n);
    const auto in = ring_chunk(data, wrap(r - s - 1, n), n);
    hop.exchange_into(out, wrap(r + 1, n), in, wrap(r - 1, n), "ring all-gather");
  }
}

void ring_allreduce(Communicator& c, std::span<float> data, bool fp16_wire) {
  ring_reduce_scatter(c, data, fp16_wire);
  ring_all_gather(c, data, fp16_wire);
}

AllreduceConfig allreduce_config(const CommSpec& spec) {
  AllreduceConfig c;
  c.algorithm = spec.algorithm;
  require_runtime_algorithm(c.algorithm);
  c.group_size = spec.group_size;
  c.fp16_wire = spec.fp16_gradients;
  c.auto_small_bytes = spec.auto_small_bytes;
  if (!spec.auto_calibration.empty()) {
    const AutoCalibration measured = load_auto_calibration(spec.auto_calibration);
    c.auto_rules = measured.rules;
    c.auto_ranks = measured.ranks;
    c.auto_group_size = measured.group_size;
    c.auto_source = spec.auto_calibration;
    c.measured_cost = measured.measured_cost;
  }
  return c;
}

Allreducer::Allreducer(Communicator& world, AllreduceConfig config)
    : world_(world), config_(config) {
  const int n = world_.size();
  group_size_ = resolve_group_size(config_.group_size, world_.ranks_per_node(), n);
  require_runtime_algorithm(config_.algorithm);
  check_group_size(config_.algorithm, n, group_size_);
  if (!config_.auto_rules.empty()) {
    require_auto_calibration_fits(config_.auto_source,
                                  {config_.auto_ranks, config_.auto_group_size}, n, group_size_);
  }
  const int r = world_.rank();
  group_ = world_.split(r / group_size_, r);
  column_ = world_.split(r % group_size_, r);
}

Allreducer::~Allreducer() = default;

Algorithm Allreducer::resolve(Algorithm a, std::size_t bytes) const {
  if (a != Algorithm::automatic) return a;
  if (!config_.auto_rules.empty()) return rule_for(config_.auto_rules, std::int64_t(bytes));
  return default_auto_choice(static_cast<std::int64_t>(bytes), config_.auto_small_bytes,
                             group_size_, world_.size());
}

void Allreducer::sum(std::span<float> data, Algorithm algorithm) {
  if (world_.size() == 1 || data.empty()) return;
  switch (resolve(algorithm, data.size_bytes())) {
    case Algorithm::mpi:
      return world_.native_allreduce_sum(data);
    case Algorithm::ring:
      return ring_allreduce(world_, data, config_.fp16_wire);
    case Algorithm::hierarchical:
      return hierarchical(data);
    case Algorithm::torus2d:
      return torus2d(data);
    case Algorithm::automatic:
      break;
    default:  // simulator-only algorithms: refused by the constructor
      throw std::logic_error("Allreducer: " + to_string(algorithm) + " is simulator-only");
  }
}

void Allreducer::mean(std::span<float> data) {
  const float factor = mean_factor();
  for (float& v : data) v *= factor;
  sum(data);
}

// Reduce to the group leader (reduce-scatter in the group, chunks gathered at
// the leader), ring all-reduce among the leaders, broadcast in the group.
void Allreducer::hierarchical(std::span<float> data) {
  Communicator& g = *group_;
  const int m = g.size(), l = g.rank();
  ring_reduce_scatter(g, data, config_.fp16_wire);
  if (l != 0) {
    g.send(bytes_of(ring_chunk(data, l, m)), 0, "hierarchical gather");
  } else {
    for (int i = 1; i < m; ++i) g.recv(bytes_of(ring_chunk(data, i, m)), i, "hierarchical gather");
    ring_allreduce(*column_, data, config_.fp16_wire);
  }
  g.broadcast(bytes_of(data), 0);
}

void Allreducer::torus2d(std::span<float> data) {
  Communicator& row = *group_;
  ring_reduce_scatter(row, data, config_.fp16_wire);
  ring_allreduce(*column_, ring_chunk(data, row.rank(), row.size()), config_.fp16_wire);
  ring_all_gather(row, data, config_.fp16_wire);
}

}  // namespace lb
