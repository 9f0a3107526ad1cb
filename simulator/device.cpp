#include "simulator/device.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb::sim {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string known_devices(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text.empty() ? "none (no profiles in " + dir.string() + ")" : text;
}

MeasuredThroughput read_measured(ObjectReader r) {
  MeasuredThroughput m;
  r.read("model", m.model);
  r.read_choice("precision", m.precision, {"fp32", "fp16"});
  r.read("images_per_s", m.images_per_s, NumberRange::greater(0));
  r.read("per_gpu_batch", m.per_gpu_batch, NumberRange::greater(0));
  r.finish();
  return m;
}

DeviceProfile parse_device(const nlohmann::json& doc, const std::string& file) {
  DeviceProfile d;
  ObjectReader r(doc, file);
  r.read("name", d.name);
  r.read("fp32_tflops", d.fp32_tflops, NumberRange::greater(0));
  r.read("fp16_tflops", d.fp16_tflops, NumberRange::greater(0));
  r.read("memory_gbps", d.memory_gbps, NumberRange::greater(0));
  r.read("efficiency", d.efficiency, NumberRange::open_closed(0, 1));
  if (const auto* list = r.take("measured")) {
    if (!list->is_array()) throw SpecError(r.path_of("measured"), "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i) {
      d.measured.push_back(
          read_measured(ObjectReader((*list)[i], index_path(r.path_of("measured"), i))));
    }
  }
  r.take("notes");
  r.finish();
  return d;
}

}  // namespace

std::filesystem::path default_devices_dir() { return LB_DEVICES_DIR; }

DeviceProfile load_device(const std::filesystem::path& dir, const std::string& name) {
  const auto file = dir / (lower(name) + ".json");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw SpecError("cluster.gpu", "unknown GPU \"" + name + "\"; known: " + known_devices(dir));
  }
  const auto doc = nlohmann::json::parse(read_file(file), nullptr, false);
  if (doc.is_discarded()) throw InputError("device error: " + file.string() + ": invalid JSON");
  return parse_device(doc, file.string());
}

}  // namespace lb::sim
