// Generic operations on any options struct with a visit() list (common/options.h): strict
// JSON reading (unknown keys and wrong types are errors naming the key and the nearest
// valid one), JSON writing, `--set a.b=value` overrides parsed by the field's type, range
// and choice validation, and the documentation table of `letter config --list`.
//
// These know nothing about the modules: the CLI's Config (src/cli/config.h) assembles
// every module's options into sections and calls them on the whole.
#pragma once

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "letter/common/error.h"
#include "letter/common/options.h"

namespace letter {
namespace detail {

using nlohmann::json;

std::string join_path(const std::string& prefix, const std::string& name);
/// A JSON value cut to 60 characters for messages.
std::string short_json(const json& j);
/// "[lo, hi]", "a|b|c", ", non-empty", ... for messages and the documentation table.
std::string describe_check(const Check& c);

// Scalar conversions from JSON, strict about types; `where` names the key in messages.
void read_value(const json& j, bool& out, const std::string& where);
void read_value(const json& j, int64_t& out, const std::string& where);
void read_value(const json& j, double& out, const std::string& where);
void read_value(const json& j, std::string& out, const std::string& where);
template <class E, std::enable_if_t<is_named_enum<E>::value, int> = 0>
void read_value(const json& j, E& out, const std::string& where) {
  std::string s;
  read_value(j, s, where);
  out = parse_enum<E>(s, where);
}
template <class T>
void read_value(const json& j, std::vector<T>& out, const std::string& where) {
  LETTER_USAGE_CHECK(j.is_array(), where, ": expected a list, got ", short_json(j));
  std::vector<T> v(j.size());
  for (size_t i = 0; i < j.size(); ++i) read_value(j[i], v[i], concat(where, "[", i, "]"));
  out = std::move(v);
}

// --set values: parsed according to the field's type (lists as JSON or comma-separated).
void parse_set(const std::string& s, bool& out, const std::string& where);
void parse_set(const std::string& s, int64_t& out, const std::string& where);
void parse_set(const std::string& s, double& out, const std::string& where);
void parse_set(const std::string& s, std::string& out, const std::string& where);
template <class E, std::enable_if_t<is_named_enum<E>::value, int> = 0>
void parse_set(const std::string& s, E& out, const std::string& where) {
  out = parse_enum<E>(s, where);
}
/// Splits a --set list value: "[...]" as JSON (elements returned dumped), else by commas.
std::vector<std::string> split_set_list(const std::string& s, const std::string& where, bool* json_list);
template <class T>
void parse_set(const std::string& s, std::vector<T>& out, const std::string& where) {
  bool is_json = false;
  const auto parts = split_set_list(s, where, &is_json);
  if (is_json) {
    read_value(json::parse(s), out, where);
    return;
  }
  std::vector<T> v;
  for (const auto& item : parts) {
    T x{};
    parse_set(item, x, concat(where, "[", v.size(), "]"));
    v.push_back(std::move(x));
  }
  out = std::move(v);
}

// Validation of one value against its Check; `where` = "config key.path".
void check_value(bool, const Check&, const std::string&);
void check_value(int64_t x, const Check& c, const std::string& where);
void check_value(double x, const Check& c, const std::string& where);
void check_value(const std::string& s, const Check& c, const std::string& where);
template <class E, std::enable_if_t<is_named_enum<E>::value, int> = 0>
void check_value(E, const Check&, const std::string&) {}  // parse_enum admitted it
template <class T>
void check_value(const std::vector<T>& v, const Check& c, const std::string& where) {
  LETTER_USAGE_CHECK(!c.non_empty || !v.empty(), where, " must not be empty");
  for (size_t i = 0; i < v.size(); ++i) check_value(v[i], c, concat(where, "[", i, "]"));
}

// JSON of a value (enums by name).
template <class T>
json value_json(const T& v) {
  if constexpr (is_named_enum<T>::value)
    return enum_name(v);
  else
    return v;
}

// Type names and constraints for the documentation table.
template <class T>
std::string type_name() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_same_v<T, int64_t>) return "int";
  else if constexpr (std::is_same_v<T, double>) return "float";
  else if constexpr (std::is_same_v<T, std::string> || is_named_enum<T>::value) return "string";
  else return "list<" + type_name<typename T::value_type>() + ">";
}
template <class T>
Check effective_check(const Check& c) {
  if constexpr (is_named_enum<T>::value) {
    Check e = c;
    e.choices = enum_choices<T>();
    return e;
  } else {
    return c;
  }
}

// ---- visitors ------------------------------------------------------------------------------

class JsonReader {
 public:
  JsonReader(const json& j, std::string prefix, std::string source)
      : j_(j), prefix_(std::move(prefix)), source_(std::move(source)) {
    LETTER_USAGE_CHECK(j_.is_object(), source_, ": ", prefix_.empty() ? "the config" : prefix_,
                       " must be a JSON object, got ", short_json(j_));
  }
  template <class T>
  void field(const std::string& name, T& ref, const char*, const Check& = {}) {
    known_.push_back(name);
    auto it = j_.find(name);
    if (it != j_.end()) read_value(*it, ref, source_ + ": " + join_path(prefix_, name));
  }
  template <class S>
  void section(const std::string& name, S& sub) {
    known_.push_back(name);
    auto it = j_.find(name);
    if (it == j_.end()) return;
    JsonReader r(*it, join_path(prefix_, name), source_);
    sub.visit(r);
    r.finish();
  }
  /// Throws on keys that no field or section claimed ("_comment" keys are notes).
  void finish() const;

 private:
  const json& j_;
  std::string prefix_, source_;
  std::vector<std::string> known_;
};

class JsonWriter {
 public:
  json out = json::object();
  template <class T>
  void field(const std::string& name, T& ref, const char*, const Check& = {}) {
    out[name] = value_json(ref);
  }
  template <class S>
  void section(const std::string& name, S& sub) {
    JsonWriter w;
    sub.visit(w);
    out[name] = std::move(w.out);
  }
};

class Setter {
 public:
  Setter(std::vector<std::string> path, std::string value, std::string full, std::string prefix = "")
      : path_(std::move(path)), value_(std::move(value)), full_(std::move(full)), prefix_(std::move(prefix)) {}
  template <class T>
  void field(const std::string& name, T& ref, const char*, const Check& = {}) {
    known_.push_back(name);
    if (path_.size() == 1 && path_[0] == name) {
      parse_set(value_, ref, "--set " + full_);
      done = true;
    }
  }
  template <class S>
  void section(const std::string& name, S& sub) {
    known_.push_back(name);
    if (path_.size() > 1 && path_[0] == name) {
      Setter s(std::vector<std::string>(path_.begin() + 1, path_.end()), value_, full_, join_path(prefix_, name));
      sub.visit(s);
      s.finish();
      done = true;
    }
  }
  /// Throws when no field matched the key (naming the nearest one).
  void finish() const;
  bool done = false;

 private:
  std::vector<std::string> path_;
  std::string value_, full_, prefix_;
  std::vector<std::string> known_;
};

class Validator {
 public:
  explicit Validator(std::string prefix = "") : prefix_(std::move(prefix)) {}
  template <class T>
  void field(const std::string& name, T& ref, const char*, const Check& check = {}) {
    check_value(ref, check, "config " + join_path(prefix_, name));
  }
  template <class S>
  void section(const std::string& name, S& sub) {
    Validator v(join_path(prefix_, name));
    sub.visit(v);
  }

 private:
  std::string prefix_;
};

class Describer {
 public:
  explicit Describer(std::vector<FieldDoc>& out, std::string prefix = "") : out_(out), prefix_(std::move(prefix)) {}
  template <class T>
  void field(const std::string& name, T& ref, const char* doc, const Check& check = {}) {
    out_.push_back({join_path(prefix_, name), type_name<T>(), value_json(ref), doc,
                    describe_check(effective_check<T>(check))});
  }
  template <class S>
  void section(const std::string& name, S& sub) {
    Describer d(out_, join_path(prefix_, name));
    sub.visit(d);
  }

 private:
  std::vector<FieldDoc>& out_;
  std::string prefix_;
};

/// Splits "a.b.c=value" into the key path and the value; throws on a malformed assignment.
std::pair<std::vector<std::string>, std::string> split_assignment(const std::string& assignment,
                                                                  std::string* key);

}  // namespace detail

/// Reads `j` (a JSON object) into `opt` on top of its current values. Unknown keys and
/// wrong types throw UsageError naming `source` and the key path.
template <class T>
void read_options(const nlohmann::json& j, T& opt, const std::string& source) {
  detail::JsonReader r(j, "", source);
  opt.visit(r);
  r.finish();
}

/// Every field of `opt` as JSON (enums by name).
template <class T>
nlohmann::json options_to_json(const T& opt) {
  T copy = opt;
  detail::JsonWriter w;
  copy.visit(w);
  return w.out;
}

/// Applies one `key.path=value` override to `opt`; throws UsageError on unknown keys and
/// values that do not parse as the field's type.
template <class T>
void set_option(T& opt, const std::string& assignment) {
  std::string key;
  auto [path, value] = detail::split_assignment(assignment, &key);
  detail::Setter s(path, value, key);
  opt.visit(s);
  s.finish();
}

/// Range and choice checks of every field; throws UsageError naming the key.
template <class T>
void check_options(const T& opt) {
  T copy = opt;
  detail::Validator v;
  copy.visit(v);
}

/// Applies a preset to `opt`: every key of `values` (a JSON object of field names and values,
/// read like a config section) replaces that field, except the keys in `keep` (fields the
/// user set explicitly, which keep their value). Returns the keys whose value changed, in
/// key order.
template <class T>
std::vector<std::string> apply_preset_values(T& opt, const nlohmann::json& values, const std::vector<std::string>& keep,
                                             const std::string& source) {
  nlohmann::json take = nlohmann::json::object();
  for (auto it = values.begin(); it != values.end(); ++it)
    if (std::find(keep.begin(), keep.end(), it.key()) == keep.end()) take[it.key()] = it.value();
  const nlohmann::json before = options_to_json(opt);
  read_options(take, opt, source);
  const nlohmann::json after = options_to_json(opt);
  std::vector<std::string> changed;
  for (auto it = take.begin(); it != take.end(); ++it)
    if (before[it.key()] != after[it.key()]) changed.push_back(it.key());
  return changed;
}

/// Every field with type, default, constraint and doc (`letter config --list`).
template <class T>
std::vector<detail::FieldDoc> describe_options() {
  std::vector<detail::FieldDoc> out;
  T defaults;
  detail::Describer d(out);
  defaults.visit(d);
  return out;
}

}  // namespace letter
