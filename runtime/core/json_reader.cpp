#include "runtime/core/json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <utility>

#include "runtime/core/errors.hpp"

namespace lb {
namespace {

using json = nlohmann::json;

std::string with_range(std::string_view what, const std::string& range) {
  return range.empty() ? std::string(what) : std::string(what) + " " + range;
}

const json& empty_object() {
  static const json kEmpty = json::object();
  return kEmpty;
}

// The root object has the empty path; messages still need something to name.
std::string display_path(const std::string& path) { return path.empty() ? "(top level)" : path; }

enum class IntegerFit { not_integer, fits, overflows };

// Converts a JSON integer (or an integral float such as 1e6) to T.
template <typename T>
IntegerFit to_integer(const json& value, T& out) {
  auto store = [&out](auto v) {
    if (!std::in_range<T>(v)) return IntegerFit::overflows;
    out = static_cast<T>(v);
    return IntegerFit::fits;
  };
  if (value.is_number_unsigned()) return store(value.get<std::uint64_t>());
  if (value.is_number_integer()) return store(value.get<std::int64_t>());
  if (!value.is_number_float()) return IntegerFit::not_integer;
  const double d = value.get<double>();
  if (!std::isfinite(d) || std::trunc(d) != d) return IntegerFit::not_integer;
  if (d < -0x1p63 || d >= 0x1p63) return IntegerFit::overflows;
  return store(static_cast<std::int64_t>(d));
}

// `range` narrowed to what T can hold, to explain an overflow.
template <typename T>
IntRange clamp_to_type(IntRange range) {
  constexpr T kMin = std::numeric_limits<T>::min();
  constexpr T kMax = std::numeric_limits<T>::max();
  if (std::in_range<std::int64_t>(kMin)) {
    range.min = std::max(range.min.value_or(kMin), static_cast<std::int64_t>(kMin));
  }
  if (std::in_range<std::int64_t>(kMax)) {
    range.max = std::min(range.max.value_or(kMax), static_cast<std::int64_t>(kMax));
  }
  return range;
}

template <typename T>
bool in_int_range(T value, const IntRange& range) {
  if (range.min && std::cmp_less(value, *range.min)) return false;
  if (range.max && std::cmp_greater(value, *range.max)) return false;
  return true;
}

std::string quoted_list(std::span<const std::string_view> items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += json(item).dump();
  }
  return out;
}

}  // namespace

bool NumberRange::contains(double value) const {
  if (std::isnan(value)) return false;
  if (low_ && (low_closed_ ? value < *low_ : value <= *low_)) return false;
  if (high_ && (high_closed_ ? value > *high_ : value >= *high_)) return false;
  return true;
}

std::string NumberRange::describe() const {
  if (low_ && high_) {
    return std::string("in ") + (low_closed_ ? "[" : "(") + format_number(*low_) + ", " +
           format_number(*high_) + (high_closed_ ? "]" : ")");
  }
  if (low_) return (low_closed_ ? ">= " : "> ") + format_number(*low_);
  if (high_) return (high_closed_ ? "<= " : "< ") + format_number(*high_);
  return "";
}

std::string IntRange::describe() const {
  if (min && max) return "in [" + std::to_string(*min) + ", " + std::to_string(*max) + "]";
  if (min) return ">= " + std::to_string(*min);
  if (max) return "<= " + std::to_string(*max);
  return "";
}

std::string format_number(double value) {
  if (std::trunc(value) == value && std::abs(value) < 1e15) {
    return std::to_string(static_cast<std::int64_t>(value));
  }
  return json(value).dump();  // shortest text that reads back as the same double
}

std::string join_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string index_path(std::string_view array_path, std::size_t index) {
  return std::string(array_path) + "[" + std::to_string(index) + "]";
}

std::string json_error_text(const nlohmann::json::exception& e) {
  std::string text = e.what();
  if (const std::size_t end = text.find("] "); text.starts_with("[") && end != std::string::npos) {
    text.erase(0, end + 2);
  }
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';  // messages are one line
  }
  return text;
}

std::string spec_error_detail(const std::exception& e) {
  const std::string text = e.what(), prefix = "spec error: ";
  return text.starts_with(prefix) ? text.substr(prefix.size()) : text;
}

namespace {

// replace: a string from the command line may not be valid UTF-8, and an
// error message must never throw.
std::string dump_scalar(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Appends value.dump()'s text to `out` until `out` is longer than `limit`.
// Every level of nesting adds a character, so the recursion is at most
// `limit` deep whatever the value's depth.
void render_until(const json& value, std::string& out, std::size_t limit) {
  if (!value.is_structured()) {
    out += dump_scalar(value);
    return;
  }
  out += value.is_object() ? '{' : '[';
  bool first = true;
  for (auto it = value.begin(); it != value.end() && out.size() <= limit; ++it) {
    if (!first) out += ',';
    first = false;
    if (value.is_object()) out += dump_scalar(json(it.key())) + ":";
    render_until(it.value(), out, limit);
  }
  if (out.size() <= limit) out += value.is_object() ? '}' : ']';
}

}  // namespace

std::string brief(const nlohmann::json& value) {
  constexpr std::size_t kMaxChars = 60;
  std::string text;
  render_until(value, text, kMaxChars);
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars - 3) + "...";
  return text;
}

namespace {

// parse_json's checks, as nlohmann's parser callback: it sees every object
// and array start and end, every key and every value, in document order, so
// it can track where in the document the parser is.
class StrictChecks {
 public:
  explicit StrictChecks(int max_depth) : max_depth_(max_depth) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (levels_.size() >= std::size_t(std::max(max_depth_, 0))) {
          std::string at = display_path(path());
          if (at.size() > 60) at = at.substr(0, 57) + "...";
          throw JsonTextError("nested deeper than " + std::to_string(max_depth_) + " levels at " +
                              at);
        }
        levels_.push_back({event == json::parse_event_t::object_start, {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        Level& level = levels_.back();
        level.key = parsed.get<std::string>();
        if (!level.keys.insert(level.key).second) throw JsonTextError("duplicate key " + path());
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        levels_.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  }

 private:
  struct Level {
    bool object;
    std::set<std::string> keys;  // objects: the keys seen so far
    std::string key;             // objects: the current key
    std::size_t index;           // arrays: the current element
  };

  void element_done() {
    if (!levels_.empty() && !levels_.back().object) ++levels_.back().index;
  }

  // The JSON path of the element being parsed, "" at the top level.
  std::string path() const {
    std::string out;
    for (const Level& level : levels_) {
      out = level.object ? join_path(out, level.key) : index_path(out, level.index);
    }
    return out;
  }

  int max_depth_;
  std::vector<Level> levels_;
};

// nlohmann's what() reads "[json.exception.parse_error.101] parse error at
// line 1, column 5: ..."; the bracketed id means nothing to a user.
std::string one_line(const json::exception& e) {
  std::string text = e.what();
  if (const std::size_t end = text.find("] "); text.starts_with("[") && end != std::string::npos) {
    text.erase(0, end + 2);
  }
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace

nlohmann::json parse_json(std::string_view text, int max_depth) {
  try {
    return json::parse(text.begin(), text.end(), StrictChecks(max_depth));
  } catch (const json::exception& e) {  // syntax errors, and numbers beyond a double (406)
    throw JsonTextError(one_line(e));
  }
}

nlohmann::json read_json_file(const std::filesystem::path& file, std::string_view kind) {
  const std::string where = std::string(kind) + " error: " + file.string();
  std::error_code ec;
  std::ifstream in(file, std::ios::binary);
  if (!in || std::filesystem::is_directory(file, ec)) throw InputError(where + ": cannot open");
  // Bounded, so that a path such as /dev/zero fails instead of filling memory.
  constexpr std::size_t kMaxBytes = std::size_t(64) << 20;
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, std::size_t(in.gcount()));
    if (text.size() > kMaxBytes) throw InputError(where + ": larger than 64 MiB");
  }
  if (in.bad()) throw InputError(where + ": cannot read");
  try {
    return parse_json(text);
  } catch (const JsonTextError& e) {
    throw InputError(where + ": invalid JSON: " + e.what());
  }
}

ObjectReader::ObjectReader(const nlohmann::json& object, std::string path)
    : object_(&object), path_(std::move(path)) {
  if (!object.is_object()) {
    throw SpecError(display_path(path_), "expected an object, got " + brief(object));
  }
}

const nlohmann::json* ObjectReader::take(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  const auto it = object_->find(key);
  return it == object_->end() ? nullptr : &*it;
}

void ObjectReader::read(std::string_view key, double& out, const NumberRange& range) {
  const json* value = take(key);
  if (value == nullptr) return;
  if (!value->is_number() || !range.contains(value->get<double>())) {
    throw SpecError(path_of(key), "expected " + with_range("a number", range.describe()) +
                                      ", got " + brief(*value));
  }
  out = value->get<double>();
}

template <typename T>
void ObjectReader::read_integer(std::string_view key, T& out, const IntRange& range) {
  const json* value = take(key);
  if (value == nullptr) return;
  T parsed{};
  const IntegerFit fit = to_integer(*value, parsed);
  if (fit == IntegerFit::fits && in_int_range(parsed, range)) {
    out = parsed;
    return;
  }
  const IntRange shown = fit == IntegerFit::overflows ? clamp_to_type<T>(range) : range;
  throw SpecError(path_of(key), "expected " + with_range("an integer", shown.describe()) +
                                    ", got " + brief(*value));
}

void ObjectReader::read(std::string_view key, int& out, const IntRange& range) {
  read_integer(key, out, range);
}

void ObjectReader::read(std::string_view key, std::int64_t& out, const IntRange& range) {
  read_integer(key, out, range);
}

void ObjectReader::read(std::string_view key, std::uint64_t& out, const IntRange& range) {
  read_integer(key, out, range);
}

void ObjectReader::read(std::string_view key, bool& out) {
  const json* value = take(key);
  if (value == nullptr) return;
  if (!value->is_boolean()) {
    throw SpecError(path_of(key), "expected true or false, got " + brief(*value));
  }
  out = value->get<bool>();
}

void ObjectReader::read(std::string_view key, std::string& out) {
  const json* value = take(key);
  if (value == nullptr) return;
  if (!value->is_string()) {
    throw SpecError(path_of(key), "expected a string, got " + brief(*value));
  }
  out = value->get<std::string>();
}

void ObjectReader::read_choice(std::string_view key, std::string& out,
                               std::initializer_list<std::string_view> choices) {
  read_choice(key, out, std::span<const std::string_view>(choices.begin(), choices.size()));
}

void ObjectReader::read_choice(std::string_view key, std::string& out,
                               std::span<const std::string_view> choices) {
  const json* value = take(key);
  if (value == nullptr) return;
  if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    if (std::find(choices.begin(), choices.end(), text) != choices.end()) {
      out = text;
      return;
    }
  }
  throw SpecError(path_of(key),
                  "expected one of " + quoted_list(choices) + ", got " + brief(*value));
}

void ObjectReader::read(std::string_view key, std::vector<double>& out,
                        const NumberRange& element_range) {
  const json* value = take(key);
  if (value == nullptr) return;
  if (!value->is_array()) {
    throw SpecError(path_of(key), "expected an array of numbers, got " + brief(*value));
  }
  std::vector<double> parsed;
  parsed.reserve(value->size());
  for (std::size_t i = 0; i < value->size(); ++i) {
    const json& element = (*value)[i];
    if (!element.is_number() || !element_range.contains(element.get<double>())) {
      throw SpecError(index_path(path_of(key), i),
                      "expected " + with_range("a number", element_range.describe()) + ", got " +
                          brief(element));
    }
    parsed.push_back(element.get<double>());
  }
  out = std::move(parsed);
}

ObjectReader ObjectReader::child(std::string_view key) {
  const json* value = take(key);
  return ObjectReader(value == nullptr ? empty_object() : *value, path_of(key));
}

void ObjectReader::finish() const {
  for (const auto& [key, value] : object_->items()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string expected;
    for (const std::string& name : known_) expected += (expected.empty() ? "" : ", ") + name;
    throw SpecError(path_of(key), expected.empty()
                                      ? "unknown key (no keys are accepted here)"
                                      : "unknown key (expected one of: " + expected + ")");
  }
}

}  // namespace lb
