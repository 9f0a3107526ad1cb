#include "runtime/core/profile_format.hpp"

#include "runtime/core/errors.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

const NumberRange kSeconds = NumberRange::at_least(0);

json layer_json(const ProfileLayer& l) {
  return {{"name", l.name},           {"kind", l.kind},
          {"params", l.params},       {"forward_flops", l.forward_flops},
          {"forward_s", l.forward_s}, {"backward_s", l.backward_s}};
}

json comm_json(const ProfileComm& c) {
  return {{"algorithm", c.algorithm},           {"fusion_bytes", c.fusion_bytes},
          {"fp16_gradients", c.fp16_gradients}, {"overlap", c.overlap},
          {"group_size", c.group_size},         {"buckets", c.buckets}};
}

json allreduce_json(const ProfileAllreduce& a) {
  return {{"algorithm", a.algorithm}, {"bytes", a.bytes}, {"ranks", a.ranks},
          {"median_s", a.median_s},   {"count", a.count}, {"median_cpu_s", a.median_cpu_s}};
}

// The array at `key` (required or not), each element read by `read_one`.
template <typename T, typename Read>
std::vector<T> read_array(ObjectReader& r, std::string_view key, bool required, Read read_one) {
  const json* list = r.take(key);
  if (list == nullptr) {
    if (required) throw SpecError(r.path_of(key), "missing (expected an array)");
    return {};
  }
  if (!list->is_array()) throw SpecError(r.path_of(key), "expected an array, got " + brief(*list));
  std::vector<T> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    out.push_back(read_one(ObjectReader((*list)[i], index_path(r.path_of(key), i))));
  }
  return out;
}

ProfileLayer read_layer(ObjectReader r) {
  ProfileLayer l;
  r.read("name", l.name);
  if (l.name.empty()) throw SpecError(r.path_of("name"), "missing (expected the layer's name)");
  r.read("kind", l.kind);
  r.read("params", l.params, IntRange::at_least(0));
  r.read("forward_flops", l.forward_flops, NumberRange::at_least(0));
  r.read("forward_s", l.forward_s, kSeconds);
  r.read("backward_s", l.backward_s, kSeconds);
  r.finish();
  return l;
}

ProfileAllreduce read_allreduce(ObjectReader r) {
  ProfileAllreduce a;
  r.read("algorithm", a.algorithm);
  r.read("bytes", a.bytes, IntRange::at_least(0));
  r.read("ranks", a.ranks, IntRange::at_least(1));
  r.read("median_s", a.median_s, kSeconds);
  r.read("count", a.count, IntRange::at_least(0));
  r.read("median_cpu_s", a.median_cpu_s, kSeconds);
  r.finish();
  return a;
}

void read_comm(ObjectReader r, ProfileComm& c) {
  r.read("algorithm", c.algorithm);
  r.read("fusion_bytes", c.fusion_bytes, IntRange::at_least(0));
  r.read("fp16_gradients", c.fp16_gradients);
  r.read("overlap", c.overlap);
  r.read("group_size", c.group_size, IntRange::at_least(0));
  r.read("buckets", c.buckets, IntRange::at_least(0));
  r.finish();
}

void read_header(ObjectReader& r, Profile& p) {
  std::string format;
  int version = 0;
  r.read("format", format);
  r.read("version", version);
  if (format != kProfileFormat || version != kProfileVersion) {
    throw SpecError(r.path_of("format"), std::string("expected \"format\": \"") + kProfileFormat +
                                             "\", \"version\": " + std::to_string(kProfileVersion));
  }
  r.read("model", p.model);
  if (p.model.empty()) throw SpecError(r.path_of("model"), "missing (expected the model's name)");
  r.read("device", p.device);
  r.read("device_name", p.device_name);
  r.read("precision", p.precision);
  r.read("optimizer", p.optimizer);
  r.read("threads", p.threads, IntRange::at_least(0));
  if (!r.take("per_rank_batch")) throw SpecError(r.path_of("per_rank_batch"), "missing");
  r.read("per_rank_batch", p.per_rank_batch, IntRange::at_least(1));
  r.read("ranks", p.ranks, IntRange::at_least(1));
  r.read("ranks_per_node", p.ranks_per_node, IntRange::between(0, p.ranks));
  r.read("node_cores", p.node_cores, IntRange::at_least(0));
  r.read("cpus_allowed", p.cpus_allowed, IntRange::at_least(0));
  r.read("steps", p.steps, IntRange::at_least(0));
}

// A list of seconds with one entry per rank, or absent.
void read_by_rank(ObjectReader& r, const char* key, int ranks, std::vector<double>& out) {
  r.read(key, out, kSeconds);
  if (!out.empty() && out.size() != std::size_t(ranks)) {
    throw SpecError(r.path_of(key), "has " + std::to_string(out.size()) + " entries for " +
                                        std::to_string(ranks) + " ranks (expected one per rank)");
  }
}

void read_phases(ObjectReader& r, Profile& p) {
  r.read("forward_s", p.forward_s, kSeconds);
  r.read("backward_s", p.backward_s, kSeconds);
  r.read("exposed_comm_s", p.exposed_comm_s, kSeconds);
  r.read("optimizer_s", p.optimizer_s, kSeconds);
  r.read("data_wait_s", p.data_wait_s, kSeconds);
  r.read("data_prepare_s", p.data_prepare_s, kSeconds);
  r.read("step_s", p.step_s, kSeconds);
  r.read("compute_cv", p.compute_cv, NumberRange::closed(0, 10));
  read_by_rank(r, "rank_compute_s", p.ranks, p.rank_compute_s);
  read_by_rank(r, "rank_exposed_comm_s", p.ranks, p.rank_exposed_comm_s);
}

Profile read_profile(const json& doc) {
  Profile p;
  ObjectReader r(doc, "");
  read_header(r, p);
  read_comm(r.child("comm"), p.comm);
  p.layers = read_array<ProfileLayer>(r, "layers", true, read_layer);
  const json* order = r.take("gradient_order");
  if (order != nullptr) {
    if (!order->is_array()) throw SpecError("gradient_order", "expected an array of layer names");
    for (const auto& name : *order) {
      if (!name.is_string())
        throw SpecError("gradient_order", "expected layer names, got " + brief(name));
      p.gradient_order.push_back(name.get<std::string>());
    }
  }
  read_phases(r, p);
  p.allreduce = read_array<ProfileAllreduce>(r, "allreduce", false, read_allreduce);
  r.finish();
  return p;
}

}  // namespace

json to_json(const Profile& p) {
  json layers = json::array(), reduces = json::array();
  for (const auto& l : p.layers) layers.push_back(layer_json(l));
  for (const auto& a : p.allreduce) reduces.push_back(allreduce_json(a));
  json doc{{"format", kProfileFormat},
           {"version", kProfileVersion},
           {"model", p.model},
           {"device", p.device},
           {"precision", p.precision},
           {"threads", p.threads},
           {"per_rank_batch", p.per_rank_batch},
           {"ranks", p.ranks},
           {"optimizer", p.optimizer},
           {"comm", comm_json(p.comm)},
           {"steps", p.steps},
           {"layers", layers},
           {"gradient_order", p.gradient_order},
           {"forward_s", p.forward_s},
           {"backward_s", p.backward_s},
           {"exposed_comm_s", p.exposed_comm_s},
           {"optimizer_s", p.optimizer_s},
           {"data_wait_s", p.data_wait_s},
           {"data_prepare_s", p.data_prepare_s},
           {"step_s", p.step_s},
           {"compute_cv", p.compute_cv},
           {"allreduce", reduces}};
  if (!p.device_name.empty()) doc["device_name"] = p.device_name;
  if (p.ranks_per_node > 0) doc["ranks_per_node"] = p.ranks_per_node;
  if (p.node_cores > 0) doc["node_cores"] = p.node_cores;
  if (p.cpus_allowed > 0) doc["cpus_allowed"] = p.cpus_allowed;
  if (!p.rank_compute_s.empty()) doc["rank_compute_s"] = p.rank_compute_s;
  if (!p.rank_exposed_comm_s.empty()) doc["rank_exposed_comm_s"] = p.rank_exposed_comm_s;
  return doc;
}

Profile profile_from_json(const json& doc, const std::string& file) {
  try {
    return read_profile(doc);
  } catch (const SpecError& e) {
    throw InputError("profile error: " + file + ": " + spec_error_detail(e));
  }
}

}  // namespace lb
