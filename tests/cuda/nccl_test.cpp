// The NCCL communicator and all-reducer on one rank (one GPU): bootstrap
// through the host communicator, every algorithm's NCCL calls, the
// stream-ordered event flow and the blocking interface. Several ranks need
// several GPUs and mpirun; see runtime/backends/cuda/README.md.
#include <gtest/gtest.h>

#include "runtime/backends/cuda/event.hpp"
#include "runtime/backends/cuda/nccl_allreducer.hpp"
#include "runtime/backends/cuda/nccl_communicator.hpp"
#include "tests/cuda/gpu_test.hpp"

namespace lb::cuda {
namespace {

// A host communicator of one rank: broadcasts and splits are trivial.
class SoloCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int ranks_per_node() const override { return 1; }
  void sendrecv(std::span<const std::byte>, int, std::span<std::byte>, int, const char*) override {
    throw std::logic_error("SoloCommunicator: no peer to exchange with");
  }
  void send(std::span<const std::byte>, int, const char*) override {
    throw std::logic_error("SoloCommunicator: no peer to send to");
  }
  void recv(std::span<std::byte>, int, const char*) override {
    throw std::logic_error("SoloCommunicator: no peer to receive from");
  }
  void native_allreduce_sum(std::span<float>) override {}
  void broadcast(std::span<std::byte>, int) override {}
  void barrier() override {}
  std::unique_ptr<Communicator> split(int, int) override {
    return std::make_unique<SoloCommunicator>();
  }
};

class Nccl : public test::GpuTest {
 protected:
  SoloCommunicator host_;
};

TEST_F(Nccl, EveryAlgorithmLeavesOneRanksDataAsItIs) {
  NcclCommunicator world(host_, 60.0);
  EXPECT_EQ(world.size(), 1);
  const std::vector<float> values = test::normal_values(100001, 21);
  for (Algorithm a : {Algorithm::ring, Algorithm::hierarchical, Algorithm::torus2d, Algorithm::mpi,
                      Algorithm::automatic}) {
    SCOPED_TRACE(to_string(a));
    NcclAllreducer reducer(world, AllreduceConfig(a));
    DeviceBuffer<float> data = upload(values);
    Event ready, done;
    ready.record(stream());
    reducer.mean(data.span(), ready, done);
    stream_->wait(done);  // the consumer waits on the device, not the host
    EXPECT_EQ(download(data), values);
  }
}

TEST_F(Nccl, BlockingInterfaceWorksOnDeviceMemory) {
  NcclCommunicator world(host_, 60.0);
  const std::vector<float> values = test::normal_values(1000, 22);
  DeviceBuffer<float> data = upload(values);
  stream_->synchronize();  // the communicator's stream does not wait for ours
  world.native_allreduce_sum(data.span());
  world.broadcast(std::as_writable_bytes(data.span()), 0);
  EXPECT_EQ(download(data), values);
  const std::unique_ptr<Communicator> sub = world.split(0, 0);
  EXPECT_EQ(sub->size(), 1);
}

TEST_F(Nccl, HalfDataIsReducedAsHalf) {
  NcclCommunicator world(host_, 60.0);
  NcclAllreducer reducer(world, AllreduceConfig(Algorithm::ring));
  std::vector<half_bits> values(5000);
  lb::to_half(test::normal_values(values.size(), 23), values);
  DeviceBuffer<half_bits> data = upload(values);
  Event ready, done;
  ready.record(stream());
  reducer.sum(data.span(), ready, done);
  stream_->wait(done);
  EXPECT_EQ(download(data), values);
}

TEST(NcclDevice, RanksFillTheirNodesDevicesInOrder) {
  // No GPU needed: the mapping from rank to device is arithmetic.
  SoloCommunicator host;
  EXPECT_EQ(device_for_rank(host, 8), 0);
}

}  // namespace
}  // namespace lb::cuda
