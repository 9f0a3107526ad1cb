#include "runtime/core/json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
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

std::string quoted_list(const std::vector<std::string_view>& items) {
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

std::string brief(const nlohmann::json& value) {
  constexpr std::size_t kMaxChars = 60;
  // replace: a string from the command line may not be valid UTF-8, and an
  // error message must never throw.
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars - 3) + "...";
  return text;
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
  read_choice(key, out, std::vector<std::string_view>(choices));
}

void ObjectReader::read_choice(std::string_view key, std::string& out,
                               const std::vector<std::string_view>& choices) {
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
