#pragma once
// Enumerations that are read from text by name (the spec's choices). Each
// such enum E declares next to it `constexpr auto choices(E)`, returning an
// array of {value, name} pairs, found by argument-dependent lookup; these
// helpers read that one table in both directions, so that a name is written
// exactly once.
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace lb {

template <class E>
concept NamedChoice = std::is_enum_v<E> && requires(E e) {
  choices(e);
};

// The name of `value` ("?" for a value outside the table).
template <NamedChoice E>
constexpr std::string_view choice_name(E value) {
  for (const auto& [v, name] : choices(E{})) {
    if (v == value) return name;
  }
  return "?";
}

template <NamedChoice E>
std::string to_string(E value) {
  return std::string(choice_name(value));
}

// The value named `name`, or nothing when no value has that name.
template <NamedChoice E>
constexpr std::optional<E> parse_choice(std::string_view name) {
  for (const auto& [v, n] : choices(E{})) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// Every name, in the table's order (the order the docs list them in).
template <NamedChoice E>
std::vector<std::string_view> choice_names() {
  std::vector<std::string_view> names;
  for (const auto& entry : choices(E{})) names.push_back(entry.second);
  return names;
}

}  // namespace lb
