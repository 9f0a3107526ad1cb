#include "runtime/backends/cuda/nccl_communicator.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {
namespace {

ncclComm_t join(Communicator& host) {
  ncclUniqueId id{};
  if (host.rank() == 0) LB_CUDA_CHECK(ncclGetUniqueId(&id));
  host.broadcast(std::as_writable_bytes(std::span(&id, 1)), 0);
  ncclComm_t comm = nullptr;
  LB_CUDA_CHECK(ncclCommInitRank(&comm, host.size(), id, host.rank()));
  return comm;
}

std::string seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

}  // namespace

int device_for_rank(const Communicator& host, int devices_per_node) {
  return host.rank() % host.ranks_per_node() % devices_per_node;
}

NcclCommunicator::NcclCommunicator(Communicator& host, double timeout_s)
    : host_(host),
      timeout_s_(timeout_s),
      rank_(host.rank()),
      size_(host.size()),
      comm_(join(host)) {}

NcclCommunicator::NcclCommunicator(std::unique_ptr<Communicator> owned_host, double timeout_s)
    : owned_host_(std::move(owned_host)),
      host_(*owned_host_),
      timeout_s_(timeout_s),
      rank_(host_.rank()),
      size_(host_.size()),
      comm_(join(host_)) {}

// Must not throw; an aborted communicator is already gone.
NcclCommunicator::~NcclCommunicator() {
  if (comm_ != nullptr) ncclCommDestroy(comm_);
}

void NcclCommunicator::wait(const Event& event, const char* what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s_);
  while (!event.done()) {
    ncclResult_t async = ncclSuccess;
    LB_CUDA_CHECK(ncclCommGetAsyncError(comm_, &async));
    if (async != ncclSuccess || Clock::now() > deadline) {
      // An aborted communicator releases the kernels that wait for the peer,
      // so the stream (and the process) can end.
      ncclCommAbort(comm_);
      comm_ = nullptr;
      throw CommError(what + (async != ncclSuccess
                                  ? std::string(": NCCL: ") + ncclGetErrorString(async)
                                  : " timed out after " + seconds(timeout_s_) +
                                        " s waiting for the other ranks"));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void NcclCommunicator::finish(const char* what) {
  done_.record(stream_.get());
  wait(done_, what);
}

void NcclCommunicator::sendrecv(std::span<const std::byte> send, int dest,
                                std::span<std::byte> recv, int src, const char* what) {
  LB_CUDA_CHECK(ncclGroupStart());
  LB_CUDA_CHECK(ncclSend(send.data(), send.size(), ncclUint8, dest, comm_, stream_.get()));
  LB_CUDA_CHECK(ncclRecv(recv.data(), recv.size(), ncclUint8, src, comm_, stream_.get()));
  LB_CUDA_CHECK(ncclGroupEnd());
  finish(what);
}

void NcclCommunicator::send(std::span<const std::byte> bytes, int dest, const char* what) {
  LB_CUDA_CHECK(ncclSend(bytes.data(), bytes.size(), ncclUint8, dest, comm_, stream_.get()));
  finish(what);
}

void NcclCommunicator::recv(std::span<std::byte> bytes, int src, const char* what) {
  LB_CUDA_CHECK(ncclRecv(bytes.data(), bytes.size(), ncclUint8, src, comm_, stream_.get()));
  finish(what);
}

void NcclCommunicator::native_allreduce_sum(std::span<float> data) {
  LB_CUDA_CHECK(ncclAllReduce(data.data(), data.data(), data.size(), ncclFloat32, ncclSum, comm_,
                              stream_.get()));
  finish("all-reduce");
}

void NcclCommunicator::broadcast(std::span<std::byte> bytes, int root) {
  LB_CUDA_CHECK(ncclBroadcast(bytes.data(), bytes.data(), bytes.size(), ncclUint8, root, comm_,
                              stream_.get()));
  finish("broadcast");
}

void NcclCommunicator::barrier() { host_.barrier(); }

std::unique_ptr<Communicator> NcclCommunicator::split(int color, int key) {
  return std::unique_ptr<Communicator>(new NcclCommunicator(host_.split(color, key), timeout_s_));
}

}  // namespace lb::cuda
