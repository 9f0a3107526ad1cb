#pragma once
// A strict reader for JSON configuration objects (the experiment spec, the
// simulator's cluster section, sweep files). One ObjectReader walks one JSON
// object: typed getters validate a key's type and range and leave the default
// in place when the key is absent; finish() rejects every key nobody asked
// for, so a typo never silently falls back to a default. Every problem is a
// SpecError naming the JSON path, e.g. "optimizer.lr.step_epochs[2]".
//
// parse_json() and read_json_file() are the one way the project reads JSON
// text that a user can hand it (specs, sweep files, --set values, checkpoint
// headers, calibration files): strict about duplicate keys, depth and number
// range, with one-line errors.
#include <cstdint>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/choice.hpp"

namespace lb {

// A set of allowed real numbers: an interval whose ends may be open, closed
// or absent. describe() gives the text after "expected a number ".
class NumberRange {
 public:
  static NumberRange any() { return {}; }
  static NumberRange greater(double low) { return {low, false, std::nullopt, false}; }
  static NumberRange at_least(double low) { return {low, true, std::nullopt, false}; }
  static NumberRange closed(double low, double high) { return {low, true, high, true}; }
  static NumberRange closed_open(double low, double high) { return {low, true, high, false}; }
  static NumberRange open(double low, double high) { return {low, false, high, false}; }
  static NumberRange open_closed(double low, double high) { return {low, false, high, true}; }

  bool contains(double value) const;
  std::string describe() const;  // "> 0", "in [0, 1)", "" when unbounded

 private:
  NumberRange() = default;
  NumberRange(std::optional<double> low, bool low_closed, std::optional<double> high,
              bool high_closed)
      : low_(low), high_(high), low_closed_(low_closed), high_closed_(high_closed) {}

  std::optional<double> low_, high_;
  bool low_closed_ = true, high_closed_ = true;
};

// A closed set of allowed integers; the target type's limits apply on top.
struct IntRange {
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;

  static IntRange any() { return {}; }
  static IntRange at_least(std::int64_t low) { return {low, std::nullopt}; }
  static IntRange between(std::int64_t low, std::int64_t high) { return {low, high}; }
  std::string describe() const;  // ">= 1", "in [0, 10]", "" when unbounded
};

// JSON path helpers: "a" + "b" -> "a.b" (the root path is ""), "a" + 2 -> "a[2]".
std::string join_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view array_path, std::size_t index);

// A number as a user would type it: "0", "0.5", "16777216".
std::string format_number(double value);

// nlohmann's message ("[json.exception.parse_error.101] parse error at line
// 1, column 5: ...") without its bracketed id, on one line.
std::string json_error_text(const nlohmann::json::exception& e);

// A SpecError's "PATH: what" without its "spec error: " prefix, for readers
// of other files that report "<kind> error: FILE: PATH: what".
std::string spec_error_detail(const std::exception& e);

// One-line rendering of a JSON value for "got ..." in messages; long values
// are cut. Renders at most ~60 characters' worth of the value, so it is cheap
// and safe on any value, however large or deep.
std::string brief(const nlohmann::json& value);

// The deepest nesting of arrays and objects parse_json accepts: far beyond
// any file of this project (specs nest 4 levels), and shallow enough that
// code walking a value recursively (copying, dumping, comparing) can never
// exhaust the stack.
inline constexpr int kMaxJsonDepth = 256;

// Text that parse_json rejects; what() is one line, e.g. "parse error at
// line 3, column 14: syntax error ...", "duplicate key train.epochs",
// "number overflow parsing '1e400'".
class JsonTextError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses JSON text strictly: nlohmann::json::parse, but a key repeated in an
// object (which nlohmann resolves silently, last wins), nesting deeper than
// `max_depth` and numbers beyond a double's range are errors. Throws
// JsonTextError.
nlohmann::json parse_json(std::string_view text, int max_depth = kMaxJsonDepth);

// Reads and parses a JSON file with parse_json. Throws InputError
// "<kind> error: FILE: cannot open" or "<kind> error: FILE: invalid JSON: ...".
nlohmann::json read_json_file(const std::filesystem::path& file, std::string_view kind);

class ObjectReader {
 public:
  // `object` must outlive the reader. `path` is the object's JSON path, "" for
  // the document root. Throws SpecError unless `object` is a JSON object.
  ObjectReader(const nlohmann::json& object, std::string path);

  // Each getter registers `key` as known and, when present, validates it and
  // overwrites `out`; when absent, `out` keeps its default.
  void read(std::string_view key, double& out, const NumberRange& range = NumberRange::any());
  void read(std::string_view key, int& out, const IntRange& range = IntRange::any());
  void read(std::string_view key, std::int64_t& out, const IntRange& range = IntRange::any());
  void read(std::string_view key, std::uint64_t& out, const IntRange& range = IntRange::any());
  void read(std::string_view key, bool& out);
  void read(std::string_view key, std::string& out);
  // A string that must be one of `choices`.
  void read_choice(std::string_view key, std::string& out,
                   std::initializer_list<std::string_view> choices);
  void read_choice(std::string_view key, std::string& out,
                   std::span<const std::string_view> choices);
  // A string naming one value of the enum E (choice.hpp), stored as that value.
  template <NamedChoice E>
  void read_choice(std::string_view key, E& out) {
    const std::vector<std::string_view> names = choice_names<E>();
    std::string name(choice_name(out));
    read_choice(key, name, std::span<const std::string_view>(names));
    out = *parse_choice<E>(name);
  }
  // An array of numbers, every element in `element_range`.
  void read(std::string_view key, std::vector<double>& out,
            const NumberRange& element_range = NumberRange::any());

  // A nested object; a reader over an empty object when the key is absent.
  // The caller must call finish() on it too.
  ObjectReader child(std::string_view key);

  // Registers `key` and returns its raw value, or nullptr when absent: the
  // escape hatch for values the typed getters do not cover.
  const nlohmann::json* take(std::string_view key);

  // Throws SpecError for the first key that no getter asked for, listing the
  // keys that are accepted here.
  void finish() const;

  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const { return join_path(path_, key); }

 private:
  template <typename T>
  void read_integer(std::string_view key, T& out, const IntRange& range);

  const nlohmann::json* object_;
  std::string path_;
  std::vector<std::string> known_;  // in the order asked, for the unknown-key message
};

}  // namespace lb
