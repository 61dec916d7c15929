// The non-template half of common/reflect.h: scalar conversions, --set parsing, checks,
// and the error messages with their "did you mean" suggestions.
#include "letter/common/reflect.h"
#include "letter/common/json.h"

#include <cmath>
#include <sstream>

namespace letter {

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
  // A candidate that the key extends at a word boundary ("eval.beam" for "eval.beam_size")
  // is what the user meant more often than the closest spelling ("eval.batch_size").
  std::string best;
  for (const auto& c : candidates)
    if (c.size() < key.size() && key.compare(0, c.size(), c) == 0 && key[c.size()] == '_' &&
        c.size() > best.size())
      best = c;
  if (!best.empty()) return best;
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

namespace detail {

std::string join_path(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string short_json(const json& j) { return json_excerpt(j); }

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
  throw UsageError(concat(where, ": expected an integer, got ", short_json(j)));
}

void read_value(const json& j, double& out, const std::string& where) {
  LETTER_USAGE_CHECK(j.is_number(), where, ": expected a number, got ", short_json(j));
  out = j.get<double>();
}

void read_value(const json& j, std::string& out, const std::string& where) {
  LETTER_USAGE_CHECK(j.is_string(), where, ": expected a string, got ", short_json(j));
  out = j.get<std::string>();
}

namespace {
json parse_set_value_json(const std::string& s) {
  check_json_depth(s, "--set value", /*usage=*/true);
  try {
    return json::parse(s);
  } catch (const json::exception&) {
    return json(s);  // bare word: a string
  }
}
}  // namespace

void parse_set(const std::string& s, bool& out, const std::string& where) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") {
    out = true;
  } else if (s == "false" || s == "0" || s == "no" || s == "off") {
    out = false;
  } else {
    throw UsageError(concat(where, ": expected true or false, got '", s, "'"));
  }
}
void parse_set(const std::string& s, int64_t& out, const std::string& where) {
  read_value(parse_set_value_json(s), out, where);
}
void parse_set(const std::string& s, double& out, const std::string& where) {
  read_value(parse_set_value_json(s), out, where);
}
void parse_set(const std::string& s, std::string& out, const std::string&) { out = s; }

std::vector<std::string> split_set_list(const std::string& s, const std::string& where, bool* json_list) {
  *json_list = false;
  if (s.empty()) return {};
  if (s.front() == '[') {
    check_json_depth(s, where, /*usage=*/true);
    try {
      const json parsed = json::parse(s);
      (void)parsed;
    } catch (const json::exception&) {
      throw UsageError(concat(where, ": cannot parse list '", s, "'"));
    }
    *json_list = true;
    return {};
  }
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) parts.push_back(item);
  return parts;
}

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

namespace {
void check_number(double x, const Check& c, const std::string& where) {
  LETTER_USAGE_CHECK(std::isfinite(x), where, " = ", x, " is not finite");
  LETTER_USAGE_CHECK(x >= c.lo && x <= c.hi, where, " = ", x, " is out of range ", describe_check(c));
}
}  // namespace

void check_value(int64_t x, const Check& c, const std::string& where) { check_number(static_cast<double>(x), c, where); }
void check_value(double x, const Check& c, const std::string& where) { check_number(x, c, where); }
void check_value(const std::string& s, const Check& c, const std::string& where) {
  if (!c.choices.empty()) {
    bool ok = std::find(c.choices.begin(), c.choices.end(), s) != c.choices.end();
    LETTER_USAGE_CHECK(ok, where, " = '", s, "' is not one of ", describe_check(c), "; did you mean '",
                       nearest(s, c.choices), "'?");
  }
  LETTER_USAGE_CHECK(!c.non_empty || !s.empty(), where, " must not be empty");
}

void JsonReader::finish() const {
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '_') continue;  // "_comment" keys are notes
    if (std::find(known_.begin(), known_.end(), it.key()) == known_.end()) {
      throw UsageError(concat(source_, ": unknown key '", join_path(prefix_, it.key()), "'; did you mean '",
                              join_path(prefix_, nearest(it.key(), known_)), "'?"));
    }
  }
}

void Setter::finish() const {
  if (done) return;
  throw UsageError(concat("--set: unknown key '", full_, "'; did you mean '",
                          join_path(prefix_, nearest(path_[0], known_)), "'?"));
}

std::pair<std::vector<std::string>, std::string> split_assignment(const std::string& assignment, std::string* key) {
  auto eq = assignment.find('=');
  LETTER_USAGE_CHECK(eq != std::string::npos && eq > 0, "--set expects key.path=value, got '", assignment, "'");
  // Config values end up in JSON files (config.json, summaries), which must be UTF-8.
  std::string shown = assignment;
  const int64_t invalid = replace_invalid_utf8(shown);
  LETTER_USAGE_CHECK(invalid == 0, "--set '", shown, "' is not valid UTF-8 (", invalid,
                     " invalid byte sequence(s), shown as U+FFFD)");
  *key = assignment.substr(0, eq);
  std::vector<std::string> path;
  std::stringstream ss(*key);
  std::string part;
  while (std::getline(ss, part, '.')) {
    LETTER_USAGE_CHECK(!part.empty(), "--set: malformed key '", *key, "'");
    path.push_back(part);
  }
  LETTER_USAGE_CHECK(!path.empty(), "--set: malformed key '", *key, "'");
  return {path, assignment.substr(eq + 1)};
}

}  // namespace detail
}  // namespace letter
