// Options reflection: every options struct lists its fields once, in a `visit` member,
// and that single list drives JSON reading (unknown keys are errors), JSON writing,
// `--set a.b=value` overrides, range validation and the documentation table.
//
//   struct FooOptions {
//     int64_t size = 8;  ///< number of things
//     template <class V> void visit(V& v) {
//       v.field("size", size, "number of things", range(1, 1024));
//     }
//   };
//
// Supported field types: bool, int64_t, double, std::string and std::vector of the last
// three. Sections nest with v.section("name", sub_options).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
