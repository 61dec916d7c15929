// Options reflection: every options struct lists its fields once, in a `visit` member,
// and that single list drives JSON reading (unknown keys are errors), JSON writing,
// `--set a.b=value` overrides, range validation and the documentation table.
//
//   enum class Shape { kRound, kSquare };
//   LETTER_ENUM(Shape, {Shape::kRound, "round"}, {Shape::kSquare, "square"})
//
//   struct FooOptions {
//     int64_t size = 8;             ///< number of things
//     Shape shape = Shape::kRound;  ///< read and written as "round" | "square"
//     template <class V> void visit(V& v) {
//       v.field("size", size, "number of things", range(1, 1024));
//       v.field("shape", shape, "the things' shape");
//     }
//   };
//
// Supported field types: bool, int64_t, double, std::string, std::vector of the last three,
// and enums declared with LETTER_ENUM (their value names are the allowed strings; a mode is
// parsed once, here, and the code below compares enum values). Sections nest with
// v.section("name", sub_options). The generic operations on any such struct live in
// common/reflect.h; each module owns its options struct (letter/<module>/options.h).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "letter/common/error.h"

namespace letter {

/// Constraint on a field: an inclusive numeric range (applies to each element of a vector)
/// and/or a set of allowed string values.
struct Check {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  ///< empty = any string
  bool non_empty = false;            ///< vectors/strings must not be empty
};

/// lo <= value <= hi.
inline Check range(double lo, double hi) {
  Check c;
  c.lo = lo;
  c.hi = hi;
  return c;
}
/// value >= lo.
inline Check at_least(double lo) { return range(lo, std::numeric_limits<double>::infinity()); }
/// value is one of `choices`.
inline Check one_of(std::vector<std::string> choices) {
  Check c;
  c.choices = std::move(choices);
  return c;
}
/// Non-empty vector whose elements lie in [lo, hi].
inline Check non_empty_range(double lo, double hi) {
  Check c = range(lo, hi);
  c.non_empty = true;
  return c;
}

/// Levenshtein distance, used to suggest the nearest valid key.
size_t edit_distance(const std::string& a, const std::string& b);
/// The candidate closest to `key` by edit distance ("" when `candidates` is empty).
std::string nearest(const std::string& key, const std::vector<std::string>& candidates);

/// Declares the value names of enum E (in E's namespace, after its definition):
///   LETTER_ENUM(Arch, {Arch::kT5, "t5"}, {Arch::kDecoder, "decoder"})
/// The first name of a value is the one written; enum_name / parse_enum use the table.
#define LETTER_ENUM(E, ...)                                                       \
  inline const std::vector<std::pair<E, const char*>>& letter_enum_table(E) {    \
    static const std::vector<std::pair<E, const char*>> table = {__VA_ARGS__};  \
    return table;                                                                 \
  }

/// Whether T is an enum declared with LETTER_ENUM.
template <class T, class = void>
struct is_named_enum : std::false_type {};
template <class T>
struct is_named_enum<T, std::void_t<decltype(letter_enum_table(std::declval<T>()))>> : std::true_type {};

/// The name of an enum value ("t5").
template <class E>
std::string enum_name(E e) {
  for (const auto& [v, name] : letter_enum_table(e))
    if (v == e) return name;
  return "?";
}

/// Every name of enum E, in declaration order.
template <class E>
std::vector<std::string> enum_choices() {
  std::vector<std::string> out;
  for (const auto& p : letter_enum_table(E{})) out.emplace_back(p.second);
  return out;
}

/// The value named `s`; throws UsageError naming `where`, the choices and the nearest one.
template <class E>
E parse_enum(const std::string& s, const std::string& where) {
  for (const auto& [v, name] : letter_enum_table(E{}))
    if (s == name) return v;
  const auto choices = enum_choices<E>();
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i) list += (i ? "|" : "") + choices[i];
  throw UsageError(detail::concat(where, " = '", s, "' is not one of ", list, "; did you mean '",
                                  nearest(s, choices), "'?"));
}

namespace detail {

/// One row of the documentation table.
struct FieldDoc {
  std::string path;   ///< "tokenizer.alpha"
  std::string type;   ///< "int", "float", "bool", "string", "list<int>", ...
  nlohmann::json default_value;
  std::string doc;
  std::string constraint;  ///< human-readable Check
};

}  // namespace detail
}  // namespace letter
