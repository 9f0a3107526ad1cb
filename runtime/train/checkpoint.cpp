#include "runtime/train/checkpoint.hpp"

#include <cstring>

#include "runtime/core/errors.hpp"
#include "runtime/core/files.hpp"

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

std::string digest_of(std::string_view bytes) {
  return hex_to_bytes(sha256_hex(std::as_bytes(std::span(bytes.data(), bytes.size()))));
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

}  // namespace

void save_checkpoint(const std::filesystem::path& file, std::int64_t step,
                     const nlohmann::json& meta, const std::vector<NamedSpan>& tensors) {
  nlohmann::json header{{"step", step}, {"meta", meta}, {"tensors", nlohmann::json::array()}};
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
  for (const auto& t : tensors) out.append(reinterpret_cast<const char*>(t.data.data()), t.data.size_bytes());
  out += digest_of(out);
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
  if (digest_of(body) != bytes.substr(body.size())) throw CheckpointError(where, "checksum mismatch");
  Reader r(body, file);
  r.take(sizeof(kMagic));
  if (const auto v = r.pod<std::uint32_t>(); v != kCheckpointVersion) {
    throw CheckpointError(where, "version " + std::to_string(v) + " (expected " +
                                     std::to_string(kCheckpointVersion) + ")");
  }
  r.pod<std::uint32_t>();
  try {
    const auto header = nlohmann::json::parse(r.take(r.pod<std::uint64_t>()));
    for (const auto& listed : header.at("tensors")) {
      StoredTensor t{listed.at("name"), listed.at("numel"), listed.value("shape", Shape{})};
      if (t.numel > body.size() / sizeof(float)) throw CheckpointError(where, "truncated");
      c.offsets_.push_back(std::size_t(r.take(t.numel * sizeof(float)).data() - bytes.data()));
      c.tensors.push_back(std::move(t));
    }
    c.step = header.at("step").get<std::int64_t>();
    c.meta = header.at("meta");
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(where, std::string("bad header: ") + e.what());
  }
  if (!r.at_end()) throw CheckpointError(where, "trailing bytes");
  return c;
}

void CheckpointContents::copy(std::size_t index, std::span<float> out) const {
  std::memcpy(out.data(), bytes_.data() + offsets_.at(index), tensors.at(index).numel * sizeof(float));
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& file,
                                 const std::vector<NamedSpan>& tensors) {
  const CheckpointContents c = read_checkpoint(file);
  if (c.tensors.size() != tensors.size()) throw CheckpointError(file.string(), "holds a different model");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (c.tensors[i].name != tensors[i].name || c.tensors[i].numel != tensors[i].data.size()) {
      throw CheckpointError(file.string(), "tensor " + tensors[i].name + " does not match the model");
    }
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) c.copy(i, tensors[i].data);
  return {c.step, c.meta};
}

}  // namespace lb
