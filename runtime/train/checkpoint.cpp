#include "runtime/train/checkpoint.hpp"

#include <cstring>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"
#include "runtime/core/json_reader.hpp"

namespace lb {
namespace {

constexpr char kMagic[8] = {'L', 'B', 'C', 'K', 'P', 'T', 0, 0};
constexpr std::size_t kDigestBytes = 32;

template <class T>
void append_pod(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

class Reader {  // bounds-checked cursor over the file body
 public:
  Reader(std::string_view bytes, const std::filesystem::path& file) : bytes_(bytes), file_(file) {}
  std::string_view take(std::size_t n) {
    if (n > bytes_.size() - pos_) throw CheckpointError(file_.string(), "truncated");
    auto out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  template <class T>
  T pod() {
    T value;
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
    return value;
  }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::filesystem::path file_;
  std::size_t pos_ = 0;
};

struct Header {
  std::int64_t step = -1;
  nlohmann::json meta;
  nlohmann::json tensors;  // [{"name": ..., "numel": ...}], checked as it is read
};

// A checkpoint that passes its checksum may still have been written by
// hand, so every field is checked before use.
Header parse_header(std::string_view text, const std::string& where) {
  Header h;
  nlohmann::json doc;
  try {
    doc = parse_json(text);
  } catch (const JsonTextError& e) {
    throw CheckpointError(where, std::string("header: invalid JSON: ") + e.what());
  }
  try {
    ObjectReader r(doc, "header");
    r.read("step", h.step, IntRange::at_least(0));
    const nlohmann::json* meta = r.take("meta");
    const nlohmann::json* tensors = r.take("tensors");
    r.finish();
    if (h.step < 0 || meta == nullptr || tensors == nullptr) {
      throw SpecError("header", "expected the keys step, meta and tensors");
    }
    if (!meta->is_object())
      throw SpecError("header.meta", "expected an object, got " + brief(*meta));
    if (!tensors->is_array()) {
      throw SpecError("header.tensors", "expected an array, got " + brief(*tensors));
    }
    h.meta = *meta;
    h.tensors = *tensors;
  } catch (const SpecError& e) {
    throw CheckpointError(where, e.path() + ": " + e.message());
  }
  return h;
}

// Entry `index` of the header's tensor list: {"name", "numel", optional
// "shape" whose product is numel}.
StoredTensor stored_tensor(const nlohmann::json& listed, std::size_t index,
                           const std::string& where) {
  const std::string at = "header.tensors[" + std::to_string(index) + "]";
  const auto bad = [&](const std::string& what) {
    return CheckpointError(where, at + ": " + what);
  };
  if (!listed.is_object()) throw bad("expected an object, got " + brief(listed));
  const auto name = listed.find("name");
  const auto numel = listed.find("numel");
  if (name == listed.end() || !name->is_string()) throw bad("expected a string name");
  if (numel == listed.end() || !numel->is_number_unsigned())
    throw bad("expected an unsigned numel");
  StoredTensor t{name->get<std::string>(), numel->get<std::size_t>(), {}};
  if (const auto shape = listed.find("shape"); shape != listed.end()) {
    std::uint64_t product = 1;
    for (const auto& extent : shape->is_array() ? *shape : nlohmann::json::array({nullptr})) {
      if (!extent.is_number_unsigned() || extent.get<std::uint64_t>() > t.numel)
        throw bad("bad shape " + brief(*shape));
      product *= extent.get<std::uint64_t>();
      if (product > t.numel && t.numel > 0)
        throw bad("shape " + brief(*shape) + " does not hold numel values");
      t.shape.push_back(extent.get<std::int64_t>());
    }
    if (product != t.numel) throw bad("shape " + brief(*shape) + " does not hold numel values");
  }
  return t;
}

}  // namespace

std::string checkpoint_digest(std::string_view body) {
  return hex_to_bytes(sha256_hex(std::as_bytes(std::span(body.data(), body.size()))));
}

void save_checkpoint(const std::filesystem::path& file, std::int64_t step,
                     const nlohmann::json& meta, const std::vector<NamedSpan>& tensors) {
  // `{}` in a caller's code is JSON null: it stands for no meta at all.
  const nlohmann::json meta_object = meta.is_null() ? nlohmann::json::object() : meta;
  nlohmann::json header{
      {"step", step}, {"meta", meta_object}, {"tensors", nlohmann::json::array()}};
  for (const auto& t : tensors) {
    nlohmann::json entry{{"name", t.name}, {"numel", t.data.size()}};
    if (!t.shape.empty()) entry["shape"] = t.shape;
    header["tensors"].push_back(entry);
  }
  const std::string header_text = header.dump();
  std::string out(kMagic, sizeof(kMagic));
  append_pod(out, kCheckpointVersion);
  append_pod(out, std::uint32_t{0});
  append_pod(out, static_cast<std::uint64_t>(header_text.size()));
  out += header_text;
  for (const auto& t : tensors)
    out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size_bytes());
  out += checkpoint_digest(out);
  write_file_atomically(file, out);
}

CheckpointContents read_checkpoint(const std::filesystem::path& file) {
  CheckpointContents c;
  c.bytes_ = read_file(file);
  const std::string& bytes = c.bytes_;
  const std::string where = file.string();
  if (bytes.size() < sizeof(kMagic) + kDigestBytes || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    throw CheckpointError(where, "not a largebatch checkpoint (bad magic)");
  }
  const std::string_view body(bytes.data(), bytes.size() - kDigestBytes);
  if (checkpoint_digest(body) != bytes.substr(body.size()))
    throw CheckpointError(where, "checksum mismatch");
  Reader r(body, file);
  r.take(sizeof(kMagic));
  if (const auto v = r.pod<std::uint32_t>(); v != kCheckpointVersion) {
    throw CheckpointError(where, "version " + std::to_string(v) + " (expected " +
                                     std::to_string(kCheckpointVersion) + ")");
  }
  r.pod<std::uint32_t>();
  const std::uint64_t header_bytes = r.pod<std::uint64_t>();
  const Header header = parse_header(r.take(header_bytes), where);
  c.step = header.step;
  c.meta = header.meta;
  for (std::size_t i = 0; i < header.tensors.size(); ++i) {
    StoredTensor t = stored_tensor(header.tensors[i], i, where);
    if (t.numel > body.size() / sizeof(float)) throw CheckpointError(where, "truncated");
    c.offsets_.push_back(std::size_t(r.take(t.numel * sizeof(float)).data() - bytes.data()));
    c.tensors.push_back(std::move(t));
  }
  if (!r.at_end()) throw CheckpointError(where, "trailing bytes");
  return c;
}

void CheckpointContents::copy(std::size_t index, std::span<float> out) const {
  std::memcpy(out.data(), bytes_.data() + offsets_.at(index),
              tensors.at(index).numel * sizeof(float));
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& file,
                                 const std::vector<NamedSpan>& tensors) {
  const CheckpointContents c = read_checkpoint(file);
  if (c.tensors.size() != tensors.size())
    throw CheckpointError(file.string(), "holds a different model");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (c.tensors[i].name != tensors[i].name || c.tensors[i].numel != tensors[i].data.size()) {
      throw CheckpointError(file.string(),
                            "tensor " + tensors[i].name + " does not match the model");
    }
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) c.copy(i, tensors[i].data);
  return {c.step, c.meta};
}

}  // namespace lb
