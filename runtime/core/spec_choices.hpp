#pragma once
// The spec's enumerated choices (experiments/SPEC.md), each an enum with the
// one table of its names (see choice.hpp). parse_spec turns the JSON strings
// into these once; everything after it switches on the enum. The runtime,
// the simulator and hparam-sweep all include this header, so the comm
// algorithm, for one, has one definition in all three.
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/core/choice.hpp"
#include "runtime/core/precision.hpp"

namespace lb {

template <class E, std::size_t N>
using ChoiceTable = std::array<std::pair<E, std::string_view>, N>;

// device: where the model runs.
enum class DeviceKind { cpu, cuda };
constexpr ChoiceTable<DeviceKind, 2> choices(DeviceKind) {
  return {{{DeviceKind::cpu, "cpu"}, {DeviceKind::cuda, "cuda"}}};
}

// data.dataset: the IDX files and synthetic images are held in memory;
// imagefolder and shards are JPEGs read image by image.
enum class Dataset { fashion_mnist, synthetic, imagefolder, shards };
constexpr ChoiceTable<Dataset, 4> choices(Dataset) {
  return {{{Dataset::fashion_mnist, "fashion_mnist"},
           {Dataset::synthetic, "synthetic"},
           {Dataset::imagefolder, "imagefolder"},
           {Dataset::shards, "shards"}}};
}

// train.conv_algorithm: how the CPU layers compute convolutions
// (runtime/nn/cpu_settings.hpp says what each does).
enum class ConvAlgorithm { direct, winograd, automatic };
constexpr ChoiceTable<ConvAlgorithm, 3> choices(ConvAlgorithm) {
  return {{{ConvAlgorithm::direct, "direct"},
           {ConvAlgorithm::winograd, "winograd"},
           {ConvAlgorithm::automatic, "auto"}}};
}

// train.loss_scale.mode; `fixed` is the spec's "static".
enum class LossScaleMode { dynamic, fixed, none };
constexpr ChoiceTable<LossScaleMode, 3> choices(LossScaleMode) {
  return {{{LossScaleMode::dynamic, "dynamic"},
           {LossScaleMode::fixed, "static"},
           {LossScaleMode::none, "none"}}};
}

// optimizer.lr.decay
enum class LrDecay { poly, cosine, step, none };
constexpr ChoiceTable<LrDecay, 4> choices(LrDecay) {
  return {{{LrDecay::poly, "poly"},
           {LrDecay::cosine, "cosine"},
           {LrDecay::step, "step"},
           {LrDecay::none, "none"}}};
}

// optimizer.name
enum class OptimizerKind { sgd, lars };
constexpr ChoiceTable<OptimizerKind, 2> choices(OptimizerKind) {
  return {{{OptimizerKind::sgd, "sgd"}, {OptimizerKind::lars, "lars"}}};
}

// comm.algorithm: the all-reduce algorithm (runtime/core/comm_algorithm.hpp
// describes each and says which lb-train runs; the simulator models them
// all). `automatic` is the spec's "auto": chosen per bucket by its size.
enum class Algorithm {
  mpi,
  ring,
  hierarchical,
  torus2d,
  automatic,
  halving_doubling,
  nccl_ring,
  nccl_tree,
  nccl
};
constexpr ChoiceTable<Algorithm, 9> choices(Algorithm) {
  return {{{Algorithm::mpi, "mpi"},
           {Algorithm::ring, "ring"},
           {Algorithm::hierarchical, "hierarchical"},
           {Algorithm::torus2d, "torus2d"},
           {Algorithm::automatic, "auto"},
           {Algorithm::halving_doubling, "halving_doubling"},
           {Algorithm::nccl_ring, "nccl_ring"},
           {Algorithm::nccl_tree, "nccl_tree"},
           {Algorithm::nccl, "nccl"}}};
}
// An algorithm named outside a spec (a profile, a calibration file): throws
// SpecError naming comm.algorithm for an unknown name.
Algorithm parse_algorithm(const std::string& name);

// cluster.nic_path: whether a GPU's network traffic crosses its intra-node
// link to reach the NIC (`intra`, PCIe switches shared with peers) or not
// (`direct`, GPUDirect RDMA through a NIC on the GPU's own switch).
enum class NicPath { intra, direct };
constexpr ChoiceTable<NicPath, 2> choices(NicPath) {
  return {{{NicPath::intra, "intra"}, {NicPath::direct, "direct"}}};
}

// cluster.topology; `single_switch` is the spec's "switch".
enum class Topology { single_switch, fat_tree, rail_fat_tree, torus };
constexpr ChoiceTable<Topology, 4> choices(Topology) {
  return {{{Topology::single_switch, "switch"},
           {Topology::fat_tree, "fat_tree"},
           {Topology::rail_fat_tree, "rail_fat_tree"},
           {Topology::torus, "torus"}}};
}

}  // namespace lb
