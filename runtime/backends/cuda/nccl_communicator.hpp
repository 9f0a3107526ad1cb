#pragma once
// The NCCL backend of the Communicator interface. Its spans are DEVICE
// memory (the interface's blocking, byte-span calls carry over unchanged;
// only the memory space differs), so it must not be handed to the host
// algorithms of comm/allreduce.hpp, which read buffers on the CPU: the
// NCCL versions of those algorithms are in nccl_allreducer.hpp.
//
// Bootstrap: rank 0 creates the NCCL unique id and broadcasts it over the
// host communicator (MPI); every rank joins on its current CUDA device. The
// blocking calls enqueue on this communicator's own stream and wait for it
// with the comm.timeout_s deadline: a stalled peer becomes a CommError
// naming the operation, and the NCCL communicator is aborted, instead of a
// hang.
#include <nccl.h>

#include <memory>

#include "runtime/backends/cuda/event.hpp"
#include "runtime/backends/cuda/stream.hpp"
#include "runtime/comm/communicator.hpp"

namespace lb::cuda {

class NcclCommunicator final : public Communicator {
 public:
  // Collective over `host` (every rank of it calls this). `host` must
  // outlive this communicator.
  NcclCommunicator(Communicator& host, double timeout_s);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  MemorySpace memory_space() const override { return MemorySpace::device; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int ranks_per_node() const override { return host_.ranks_per_node(); }
  void sendrecv(std::span<const std::byte> send, int dest, std::span<std::byte> recv, int src,
                const char* what) override;
  void send(std::span<const std::byte> bytes, int dest, const char* what) override;
  void recv(std::span<std::byte> bytes, int src, const char* what) override;
  // ncclAllReduce: NCCL's own choice of ring or tree is the baseline here.
  void native_allreduce_sum(std::span<float> data) override;
  void broadcast(std::span<std::byte> bytes, int root) override;
  void barrier() override;  // of the processes, over the host communicator
  // A new NCCL communicator over host.split(color, key), owning that split.
  std::unique_ptr<Communicator> split(int color, int key) override;

  ncclComm_t get() const { return comm_; }
  cudaStream_t stream() const { return stream_.get(); }
  // Blocks until `event` has completed, at most timeout_s; on expiry or an
  // asynchronous NCCL error aborts the communicator and throws CommError
  // naming `what`. For the stream-ordered collectives of NcclAllreducer.
  void wait(const Event& event, const char* what);

 private:
  NcclCommunicator(std::unique_ptr<Communicator> owned_host, double timeout_s);
  void finish(const char* what);  // waits for everything enqueued on stream_

  std::unique_ptr<Communicator> owned_host_;  // set for communicators made by split()
  Communicator& host_;
  double timeout_s_;
  int rank_, size_;
  ncclComm_t comm_ = nullptr;
  Stream stream_;
  Event done_;
};

// The device this rank should drive: its index on its node, assuming ranks
// fill nodes in order (mpirun's default --map-by slot, and the grouping
// comm/allreduce.hpp assumes), modulo the devices the node has.
int device_for_rank(const Communicator& host, int devices_per_node);

}  // namespace lb::cuda
