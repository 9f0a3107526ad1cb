#include "runtime/backends/cuda/nccl_allreducer.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "runtime/backends/cuda/cuda_error.hpp"
#include "runtime/core/errors.hpp"

namespace lb::cuda {

// 1/N pre-multiply ops (one per communicator and element type: NCCL ops
// belong to a communicator) for the first stage of a mean.
struct NcclAllreducer::MeanOps {
  ncclComm_t world, group;
  ncclRedOp_t world_float, world_half, group_float, group_half;
};

namespace {

ncclRedOp_t pre_multiply(ncclComm_t comm, ncclDataType_t type, int ranks) {
  float scale = 1.0f / static_cast<float>(ranks);
  half_bits half_scale = float_to_half(scale);  // NCCL takes the scalar in the data's type
  ncclRedOp_t op{};
  void* scalar = type == ncclFloat16 ? static_cast<void*>(&half_scale) : static_cast<void*>(&scale);
  LB_CUDA_CHECK(ncclRedOpCreatePreMulSum(&op, scalar, type, ncclScalarHostImmediate, comm));
  return op;
}

std::size_t element_bytes(ncclDataType_t type) { return type == ncclFloat16 ? 2 : 4; }

void* at(void* data, std::size_t element, ncclDataType_t type) {
  return static_cast<std::byte*>(data) + element * element_bytes(type);
}

ncclComm_t nccl_of(const std::unique_ptr<Communicator>& c) {
  return static_cast<const NcclCommunicator&>(*c).get();
}

}  // namespace

NcclAllreducer::NcclAllreducer(NcclCommunicator& world, AllreduceConfig config)
    : world_(world), config_(std::move(config)) {
  const int n = world_.size(), r = world_.rank();
  group_size_ = resolve_group_size(config_.group_size, world_.ranks_per_node(), n);
  require_runtime_algorithm(config_.algorithm);
  check_group_size(config_.algorithm, n, group_size_);
  group_ = world_.split(r / group_size_, r);
  column_ = world_.split(r % group_size_, r);
  const ncclComm_t g = nccl_of(group_);
  mean_ops_ = std::make_unique<MeanOps>(
      MeanOps{world_.get(), g, pre_multiply(world_.get(), ncclFloat32, n),
              pre_multiply(world_.get(), ncclFloat16, n), pre_multiply(g, ncclFloat32, n),
              pre_multiply(g, ncclFloat16, n)});
}

NcclAllreducer::~NcclAllreducer() {
  const MeanOps& m = *mean_ops_;
  ncclRedOpDestroy(m.world_float, m.world);  // must not throw
  ncclRedOpDestroy(m.world_half, m.world);
  ncclRedOpDestroy(m.group_float, m.group);
  ncclRedOpDestroy(m.group_half, m.group);
}

void NcclAllreducer::sum(std::span<float> data, const Event& ready, Event& done) {
  run({data.data(), data.size(), ncclFloat32, false}, ready, done);
}
void NcclAllreducer::sum(std::span<half_bits> data, const Event& ready, Event& done) {
  run({data.data(), data.size(), ncclFloat16, false}, ready, done);
}
void NcclAllreducer::mean(std::span<float> data, const Event& ready, Event& done) {
  run({data.data(), data.size(), ncclFloat32, true}, ready, done);
}
void NcclAllreducer::mean(std::span<half_bits> data, const Event& ready, Event& done) {
  run({data.data(), data.size(), ncclFloat16, true}, ready, done);
}

ncclRedOp_t NcclAllreducer::op(ncclComm_t comm, const Buffer& b, bool first_stage) const {
  if (!b.mean || !first_stage) return ncclSum;
  const bool half = b.type == ncclFloat16;
  if (comm == mean_ops_->world) return half ? mean_ops_->world_half : mean_ops_->world_float;
  return half ? mean_ops_->group_half : mean_ops_->group_float;
}

void NcclAllreducer::run(const Buffer& b, const Event& ready, Event& done) {
  const cudaStream_t s = world_.stream();
  LB_CUDA_CHECK(cudaStreamWaitEvent(s, ready.get(), 0));
  if (world_.size() > 1 && b.count > 0) {
    switch (config_.algorithm) {
      case Algorithm::hierarchical:
        hierarchical(b);
        break;
      case Algorithm::torus2d:
        torus2d(b);
        break;
      case Algorithm::mpi:
      case Algorithm::ring:
      case Algorithm::automatic:
        LB_CUDA_CHECK(ncclAllReduce(b.data, b.data, b.count, b.type, op(world_.get(), b, true),
                                    world_.get(), s));
        break;
      default:  // simulator-only algorithms: refused by the constructor
        throw std::logic_error("NcclAllreducer: " + to_string(config_.algorithm) +
                               " is simulator-only");
    }
  }
  done.record(s);
}

void NcclAllreducer::hierarchical(const Buffer& b) {
  const cudaStream_t s = world_.stream();
  const ncclComm_t g = nccl_of(group_);
  LB_CUDA_CHECK(ncclReduce(b.data, b.data, b.count, b.type, op(g, b, true), 0, g, s));
  if (group_->rank() == 0) {  // the leaders' column: every group's first rank
    LB_CUDA_CHECK(ncclAllReduce(b.data, b.data, b.count, b.type, ncclSum, nccl_of(column_), s));
  }
  LB_CUDA_CHECK(ncclBroadcast(b.data, b.data, b.count, b.type, 0, g, s));
}

// NCCL's reduce-scatter and all-gather take equal chunks: the count's
// multiple of the group size goes around the torus, the few elements left
// over are all-reduced over all ranks.
void NcclAllreducer::torus2d(const Buffer& b) {
  const cudaStream_t s = world_.stream();
  const ncclComm_t g = nccl_of(group_);
  const auto m = static_cast<std::size_t>(group_->size());
  const std::size_t chunk = b.count / m, whole = chunk * m;
  const auto me = static_cast<std::size_t>(group_->rank());
  if (chunk > 0) {
    void* mine = at(b.data, me * chunk, b.type);  // in place, as NCCL defines it
    LB_CUDA_CHECK(ncclReduceScatter(b.data, mine, chunk, b.type, op(g, b, true), g, s));
    LB_CUDA_CHECK(ncclAllReduce(mine, mine, chunk, b.type, ncclSum, nccl_of(column_), s));
    LB_CUDA_CHECK(ncclAllGather(mine, b.data, chunk, b.type, g, s));
  }
  if (whole < b.count) {
    void* rest = at(b.data, whole, b.type);
    LB_CUDA_CHECK(ncclAllReduce(rest, rest, b.count - whole, b.type, op(world_.get(), b, true),
                                world_.get(), s));
  }
}

}  // namespace lb::cuda
