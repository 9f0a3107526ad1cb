#include "simulator/profile.hpp"

#include <nlohmann/json.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"

namespace lb::sim {
namespace {

using json = nlohmann::json;

// Reads doc[key] as T, or `fallback` when absent; a wrong type is an error.
template <typename T>
T field(const json& doc, const char* key, const std::string& where, T fallback) {
  if (!doc.contains(key)) return fallback;
  try {
    return doc.at(key).get<T>();
  } catch (const json::exception&) {
    throw InputError("profile error: " + where + "." + key + ": wrong type, got " +
                     doc.at(key).dump());
  }
}

template <typename T>
T required(const json& doc, const char* key, const std::string& where) {
  if (!doc.contains(key)) throw InputError("profile error: " + where + ": missing \"" + key + "\"");
  return field<T>(doc, key, where, T{});
}

void read_layers(const json& doc, RuntimeProfile& p) {
  const std::string where = p.file + ": layers";
  if (!doc.contains("layers") || !doc["layers"].is_array()) {
    throw InputError("profile error: " + where + ": expected an array");
  }
  for (std::size_t i = 0; i < doc["layers"].size(); ++i) {
    const json& row = doc["layers"][i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!row.is_object()) throw InputError("profile error: " + at + ": expected an object");
    p.layers.push_back(
        {required<std::string>(row, "name", at), field<std::string>(row, "kind", at, ""),
         field<std::int64_t>(row, "params", at, 0), required<double>(row, "forward_s", at),
         required<double>(row, "backward_s", at)});
  }
}

void read_comm(const json& doc, RuntimeProfile& p) {
  const std::string at = p.file + ": comm";
  if (doc.contains("comm")) {
    const json& c = doc["comm"];
    p.comm_algorithm = field<std::string>(c, "algorithm", at, p.comm_algorithm);
    p.fusion_bytes = field<std::int64_t>(c, "fusion_bytes", at, 0);
    p.fp16_gradients = field<bool>(c, "fp16_gradients", at, false);
    p.overlap = field<bool>(c, "overlap", at, true);
    p.exposed_comm_s = field<double>(c, "exposed_s", at, 0);
  }
  p.exposed_comm_s = field<double>(doc, "exposed_comm_s", p.file, p.exposed_comm_s);
  for (const json& row : doc.value("allreduce", json::array())) {
    p.allreduce.push_back({required<std::string>(row, "algorithm", p.file + ": allreduce"),
                           required<std::int64_t>(row, "bytes", p.file + ": allreduce"),
                           required<int>(row, "ranks", p.file + ": allreduce"),
                           required<double>(row, "median_s", p.file + ": allreduce")});
  }
}

}  // namespace

RuntimeProfile load_profile(const std::filesystem::path& path) {
  std::error_code ec;
  const auto file = std::filesystem::is_directory(path, ec) ? path / "profile.json" : path;
  RuntimeProfile p;
  p.file = file.string();
  const json doc = json::parse(read_file(file), nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw InputError("profile error: " + p.file + ": not a JSON object");
  if (doc.value("format", "") != "largebatch-profile" || doc.value("version", 0) != 1) {
    throw InputError("profile error: " + p.file +
                     ": expected \"format\": \"largebatch-profile\", \"version\": 1");
  }
  p.model = required<std::string>(doc, "model", p.file);
  p.device = field<std::string>(doc, "device", p.file, "");
  p.precision = field<std::string>(doc, "precision", p.file, "fp32");
  p.per_rank_batch = required<std::int64_t>(doc, "per_rank_batch", p.file);
  if (p.per_rank_batch < 1)
    throw InputError("profile error: " + p.file + ".per_rank_batch: expected >= 1");
  p.ranks = field<int>(doc, "ranks", p.file, 1);
  read_layers(doc, p);
  p.forward_s = field<double>(doc, "forward_s", p.file, 0);
  p.backward_s = field<double>(doc, "backward_s", p.file, 0);
  p.optimizer_s = field<double>(doc, "optimizer_s", p.file, 0);
  p.data_wait_s = field<double>(doc, "data_wait_s", p.file, 0);
  p.step_s = field<double>(doc, "step_s", p.file, 0);
  p.compute_cv = field<double>(doc, "compute_cv", p.file, 0);
  read_comm(doc, p);
  return p;
}

}  // namespace lb::sim
