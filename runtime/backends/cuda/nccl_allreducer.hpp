#pragma once
// The all-reduce algorithms of comm/allreduce.hpp on NCCL, over device
// buffers, stream-ordered: a bucket's all-reduce waits on the device for the
// event that marks its gradients ready on the producing (backward) stream,
// runs on the communication stream, and records `done` for the consumer
// (the optimizer's stream) to wait on. The host never blocks.
//   ring          ncclAllReduce over all ranks (NCCL picks ring or tree)
//   hierarchical  ncclReduce to each group's first rank, ncclAllReduce
//                 among those leaders, ncclBroadcast within the group
//   torus2d       ncclReduceScatter within the group (a row), ncclAllReduce
//                 of each rank's chunk along its column, ncclAllGather in the row
//   mpi, auto     as ring: on device memory NCCL is the native library, and
//                 it chooses its own algorithm by size
// Groups are comm.group_size consecutive ranks (0 = ranks per node), as on
// the CPU. mean() scales by 1/N in the first reduction (an NCCL pre-multiply
// op), as the CPU pre-scales, so an fp16 wire cannot overflow. fp16 data is
// all-reduced as fp16 (comm.fp16_gradients).
#include <nccl.h>

#include <memory>
#include <span>

#include "runtime/backends/cuda/event.hpp"
#include "runtime/backends/cuda/nccl_communicator.hpp"
#include "runtime/comm/allreduce.hpp"
#include "runtime/core/half.hpp"

namespace lb::cuda {

class NcclAllreducer {
 public:
  // Collective: every rank of `world` constructs it with the same config.
  NcclAllreducer(NcclCommunicator& world, AllreduceConfig config);
  ~NcclAllreducer();
  NcclAllreducer(const NcclAllreducer&) = delete;
  NcclAllreducer& operator=(const NcclAllreducer&) = delete;

  // Sum (or mean) of `data` over all ranks, in place: enqueued after `ready`
  // on the communication stream; `done` is recorded after it.
  void sum(std::span<float> data, const Event& ready, Event& done);
  void sum(std::span<half_bits> data, const Event& ready, Event& done);
  void mean(std::span<float> data, const Event& ready, Event& done);
  void mean(std::span<half_bits> data, const Event& ready, Event& done);

  int group_size() const { return group_size_; }
  const AllreduceConfig& config() const { return config_; }
  cudaStream_t stream() const { return world_.stream(); }

 private:
  struct Buffer {  // the data of one call, whatever its element type
    void* data;
    std::size_t count;
    ncclDataType_t type;
    bool mean;
  };
  void run(const Buffer& buffer, const Event& ready, Event& done);
  void hierarchical(const Buffer& buffer);
  void torus2d(const Buffer& buffer);
  // The reduction op of a stage: the 1/N pre-multiply for the first stage of
  // a mean, else the plain sum.
  ncclRedOp_t op(ncclComm_t comm, const Buffer& buffer, bool first_stage) const;

  NcclCommunicator& world_;
  AllreduceConfig config_;
  int group_size_;
  std::unique_ptr<Communicator> group_;   // NcclCommunicator of my group (a row)
  std::unique_ptr<Communicator> column_;  // the same index in every group
  struct MeanOps;
  std::unique_ptr<MeanOps> mean_ops_;
};

}  // namespace lb::cuda
