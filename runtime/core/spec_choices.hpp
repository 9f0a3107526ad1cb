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

// comm.algorithm: the all-reduce algorithm (runtime/comm/allreduce.hpp
// describes each; the simulator models the same ones). `automatic` is the
// spec's "auto": chosen per bucket by its size.
enum class Algorithm { mpi, ring, hierarchical, torus2d, automatic };
constexpr ChoiceTable<Algorithm, 5> choices(Algorithm) {
  return {{{Algorithm::mpi, "mpi"},
           {Algorithm::ring, "ring"},
           {Algorithm::hierarchical, "hierarchical"},
           {Algorithm::torus2d, "torus2d"},
           {Algorithm::automatic, "auto"}}};
}
// An algorithm named outside a spec (a profile, a calibration file): throws
// SpecError naming comm.algorithm for an unknown name.
Algorithm parse_algorithm(const std::string& name);

// cluster.nic_per: one network interface per node or per GPU.
enum class NicPer { node, gpu };
constexpr ChoiceTable<NicPer, 2> choices(NicPer) {
  return {{{NicPer::node, "node"}, {NicPer::gpu, "gpu"}}};
}

// cluster.topology; `single_switch` is the spec's "switch".
enum class Topology { single_switch, fat_tree, torus };
constexpr ChoiceTable<Topology, 3> choices(Topology) {
  return {{{Topology::single_switch, "switch"},
           {Topology::fat_tree, "fat_tree"},
           {Topology::torus, "torus"}}};
}

}  // namespace lb
