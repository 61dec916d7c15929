// Config reflection visitors: JSON reader (strict), JSON writer, --set applier, validator
// and documentation lister, all driven by the options structs' visit() lists.
#include "letter/common/config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "letter/common/error.h"
#include "letter/common/fs.h"

namespace letter {

using nlohmann::json;

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = edit_distance(key, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

namespace {

template <class T>
struct TypeName;
template <>
struct TypeName<bool> {
  static constexpr const char* value = "bool";
};
template <>
struct TypeName<int64_t> {
  static constexpr const char* value = "int";
};
template <>
struct TypeName<double> {
  static constexpr const char* value = "float";
};
template <>
struct TypeName<std::string> {
  static constexpr const char* value = "string";
};
template <class T>
struct TypeName<std::vector<T>> {
  static std::string str() { return std::string("list<") + TypeName<T>::value + ">"; }
};

template <class T>
std::string type_name() {
  if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<double>> ||
                std::is_same_v<T, std::vector<std::string>>)
    return TypeName<T>::str();
  else
    return TypeName<T>::value;
}

std::string join_path(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string short_json(const json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// ---- scalar conversion from JSON, strict about types ----
void read_value(const json& j, bool& out, const std::string& where) {
  LETTER_USAGE_CHECK(j.is_boolean(), where, ": expected true or false, got ", short_json(j));
  out = j.get<bool>();
}
void read_value(const json& j, int64_t& out, const std::string& where) {
  if (j.is_number_integer()) {
    out = j.get<int64_t>();
    return;
  }
  if (j.is_number_float()) {
    double d = j.get<double>();
    LETTER_USAGE_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18, where,
                       ": expected an integer, got ", short_json(j));
    out = static_cast<int64_t>(d);
    return;
  }
  throw UsageError(detail::concat(where, ": expected an integer, got ", short_json(j)));
}
void read_value(const json& j, double& out, const std::string& where) {
  LETTER_USAGE_CHECK(j.is_number(), where, ": expected a number, got ", short_json(j));
  out = j.get<double>();
}
void read_value(const json& j, std::string& out, const std::string& where) {
  LETTER_USAGE_CHECK(j.is_string(), where, ": expected a string, got ", short_json(j));
  out = j.get<std::string>();
}
template <class T>
void read_value(const json& j, std::vector<T>& out, const std::string& where) {
  LETTER_USAGE_CHECK(j.is_array(), where, ": expected a list, got ", short_json(j));
  std::vector<T> v(j.size());
  for (size_t i = 0; i < j.size(); ++i)
    read_value(j[i], v[i], detail::concat(where, "[", i, "]"));
  out = std::move(v);
}

// ---- parse a --set value string according to the field type ----
json parse_set_value_json(const std::string& s) {
  try {
    return json::parse(s);
  } catch (const json::exception&) {
    return json(s);  // bare word: a string
  }
}
void parse_set(const std::string& s, bool& out, const std::string& where) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") {
    out = true;
  } else if (s == "false" || s == "0" || s == "no" || s == "off") {
    out = false;
  } else {
    throw UsageError(detail::concat(where, ": expected true or false, got '", s, "'"));
  }
}
void parse_set(const std::string& s, int64_t& out, const std::string& where) {
  read_value(parse_set_value_json(s), out, where);
}
void parse_set(const std::string& s, double& out, const std::string& where) {
  read_value(parse_set_value_json(s), out, where);
}
void parse_set(const std::string& s, std::string& out, const std::string&) { out = s; }
template <class T>
void parse_set(const std::string& s, std::vector<T>& out, const std::string& where) {
  std::string t = s;
  if (t.empty()) {
    out.clear();
    return;
  }
  if (t.front() == '[') {
    json j;
    try {
      j = json::parse(t);
    } catch (const json::exception&) {
      throw UsageError(detail::concat(where, ": cannot parse list '", s, "'"));
    }
    read_value(j, out, where);
    return;
  }
  // comma-separated
  std::vector<T> v;
  std::stringstream ss(t);
  std::string item;
  while (std::getline(ss, item, ',')) {
    T x{};
    parse_set(item, x, detail::concat(where, "[", v.size(), "]"));
    v.push_back(std::move(x));
  }
  out = std::move(v);
}

// ---- validation ----
std::string describe_check(const Check& c) {
  std::ostringstream os;
  if (!c.choices.empty()) {
    for (size_t i = 0; i < c.choices.size(); ++i) os << (i ? "|" : "") << c.choices[i];
  } else if (std::isfinite(c.lo) || std::isfinite(c.hi)) {
    if (std::isfinite(c.lo) && std::isfinite(c.hi))
      os << "[" << c.lo << ", " << c.hi << "]";
    else if (std::isfinite(c.lo))
      os << ">= " << c.lo;
    else
      os << "<= " << c.hi;
  }
  if (c.non_empty) os << (os.tellp() > 0 ? ", " : "") << "non-empty";
  return os.str();
}
void check_value(bool, const Check&, const std::string&) {}
void check_number(double x, const Check& c, const std::string& where) {
  LETTER_USAGE_CHECK(std::isfinite(x), where, " = ", x, " is not finite");
  LETTER_USAGE_CHECK(x >= c.lo && x <= c.hi, where, " = ", x, " is out of range ",
                     describe_check(c));
}
void check_value(int64_t x, const Check& c, const std::string& where) {
  check_number(static_cast<double>(x), c, where);
}
void check_value(double x, const Check& c, const std::string& where) { check_number(x, c, where); }
void check_value(const std::string& s, const Check& c, const std::string& where) {
  if (!c.choices.empty()) {
    bool ok = std::find(c.choices.begin(), c.choices.end(), s) != c.choices.end();
    LETTER_USAGE_CHECK(ok, where, " = '", s, "' is not one of ", describe_check(c),
                       "; did you mean '", nearest(s, c.choices), "'?");
  }
  LETTER_USAGE_CHECK(!c.non_empty || !s.empty(), where, " must not be empty");
}
template <class T>
void check_value(const std::vector<T>& v, const Check& c, const std::string& where) {
  LETTER_USAGE_CHECK(!c.non_empty || !v.empty(), where, " must not be empty");
  for (size_t i = 0; i < v.size(); ++i) check_value(v[i], c, detail::concat(where, "[", i, "]"));
}

// ---- visitors ----
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
  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!it.key().empty() && it.key()[0] == '_') continue;  // "_comment" keys are notes
      if (std::find(known_.begin(), known_.end(), it.key()) == known_.end()) {
        throw UsageError(detail::concat(source_, ": unknown key '", join_path(prefix_, it.key()),
                                        "'; did you mean '",
                                        join_path(prefix_, nearest(it.key(), known_)), "'?"));
      }
    }
  }

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
    out[name] = ref;
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
  Setter(std::vector<std::string> path, std::string value, std::string full)
      : path_(std::move(path)), value_(std::move(value)), full_(std::move(full)) {}
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
      Setter s(std::vector<std::string>(path_.begin() + 1, path_.end()), value_, full_);
      s.prefix_ = join_path(prefix_, name);
      sub.visit(s);
      s.finish();
      done = true;
    }
  }
  void finish() const {
    if (done) return;
    throw UsageError(detail::concat("--set: unknown key '", full_, "'; did you mean '",
                                    join_path(prefix_, nearest(path_[0], known_)), "'?"));
  }
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
  explicit Describer(std::vector<detail::FieldDoc>& out, std::string prefix = "")
      : out_(out), prefix_(std::move(prefix)) {}
  template <class T>
  void field(const std::string& name, T& ref, const char* doc, const Check& check = {}) {
    out_.push_back({join_path(prefix_, name), type_name<T>(), json(ref), doc, describe_check(check)});
  }
  template <class S>
  void section(const std::string& name, S& sub) {
    Describer d(out_, join_path(prefix_, name));
    sub.visit(d);
  }

 private:
  std::vector<detail::FieldDoc>& out_;
  std::string prefix_;
};

}  // namespace

Config Config::from_json(const json& j, const std::string& source) {
  Config c;
  JsonReader r(j, "", source);
  c.visit(r);
  r.finish();
  return c;
}

Config Config::load(const std::string& path) {
  std::string text = read_text_file(path, "config");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw UsageError(detail::concat(path, ": malformed JSON: ", e.what()));
  }
  return from_json(j, path);
}

json Config::to_json() const {
  Config copy = *this;
  JsonWriter w;
  copy.visit(w);
  return w.out;
}

void Config::set(const std::string& assignment) {
  auto eq = assignment.find('=');
  LETTER_USAGE_CHECK(eq != std::string::npos && eq > 0, "--set expects key.path=value, got '",
                     assignment, "'");
  std::string key = assignment.substr(0, eq);
  std::string value = assignment.substr(eq + 1);
  std::vector<std::string> path;
  std::stringstream ss(key);
  std::string part;
  while (std::getline(ss, part, '.')) {
    LETTER_USAGE_CHECK(!part.empty(), "--set: malformed key '", key, "'");
    path.push_back(part);
  }
  Setter s(path, value, key);
  visit(s);
  s.finish();
}

void Config::validate() const {
  Config copy = *this;
  Validator v;
  copy.visit(v);
  // Cross-field checks.
  LETTER_USAGE_CHECK(device == "auto" || device == "cpu" || device == "cuda" ||
                         device.rfind("cuda:", 0) == 0,
                     "config device = '", device, "' must be auto, cpu, cuda or cuda:N");
  LETTER_USAGE_CHECK(cf.hidden % cf.heads == 0, "config cf.hidden = ", cf.hidden,
                     " must be divisible by cf.heads = ", cf.heads);
  LETTER_USAGE_CHECK(!cf.freeze_items || !cf.init_items.empty(),
                     "config cf.freeze_items = true needs cf.init_items (the vectors to keep fixed)");
  LETTER_USAGE_CHECK(static_cast<int64_t>(tokenizer.sk_epsilons.size()) == tokenizer.levels,
                     "config tokenizer.sk_epsilons has ", tokenizer.sk_epsilons.size(),
                     " entries but tokenizer.levels = ", tokenizer.levels,
                     "; give one epsilon per level");
  LETTER_USAGE_CHECK(tokenizer.clusters <= tokenizer.codebook_size, "config tokenizer.clusters = ",
                     tokenizer.clusters, " must not exceed tokenizer.codebook_size = ",
                     tokenizer.codebook_size);
  for (double eps : tokenizer.sk_epsilons)
    LETTER_USAGE_CHECK(eps == 0.0 || eps >= 0.0015, "config tokenizer.sk_epsilons entry ", eps,
                       " is too small: exp(1/eps) overflows float64; use 0 (argmin) or >= 0.0015");
}

std::vector<detail::FieldDoc> Config::describe() {
  std::vector<detail::FieldDoc> out;
  Config c;
  Describer d(out);
  c.visit(d);
  return out;
}

}  // namespace letter
