#pragma once
// A group of ranks that can exchange bytes. The all-reduce algorithms in
// allreduce.hpp are written against this interface only, so the MPI backend
// (now) and an NCCL backend (later) share them.
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

namespace lb {

// A collective did not complete: a peer is stalled, gone, or MPI failed.
class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How a rank blocked in a collective waits for its peers, set per calling
// thread. With more busy threads than cores the two callers want opposite
// things: the communication thread that overlaps all-reduces with backward
// should sleep between polls, leaving the cores to the compute threads (and
// to the peers it waits for); a collective on the trainer's own thread (or in
// allreduce-bench) has nothing else to run and should only yield, for latency.
// Measured with 4 ranks on 2 cores (bench/results/2026-11-25-1841-comm.md,
// 2026-12-01-2057-comm.md): sleeping everywhere cost
// ring and hierarchical 10-36 % of their bus bandwidth, yielding everywhere
// left 50 % of resnet20's all-reduce time exposed.
enum class WaitPolicy { yield, sleep };
void set_thread_wait_policy(WaitPolicy policy);  // default: yield
WaitPolicy thread_wait_policy();

// Where the spans a communicator sends and receives must live. The host
// algorithms of allreduce.hpp read and add buffers on the CPU, so they need
// host memory; NCCL's communicator (runtime/backends/cuda) takes device memory.
enum class MemorySpace { host, device };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual MemorySpace memory_space() const { return MemorySpace::host; }
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks sharing this rank's node (MPI_Comm_split_type SHARED), at least 1.
  virtual int ranks_per_node() const = 0;

  // Sends `send` to rank `dest` while receiving `recv` from rank `src`.
  // `what` names the operation in a timeout message.
  virtual void sendrecv(std::span<const std::byte> send, int dest, std::span<std::byte> recv,
                        int src, const char* what) = 0;
  virtual void send(std::span<const std::byte> bytes, int dest, const char* what) = 0;
  virtual void recv(std::span<std::byte> bytes, int src, const char* what) = 0;
  // The library's own all-reduce (MPI_Allreduce), the baseline algorithm.
  virtual void native_allreduce_sum(std::span<float> data) = 0;
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ranks with the same color form a sub-communicator, ordered by key.
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;
};

}  // namespace lb
