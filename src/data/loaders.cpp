// Loaders for the three interaction formats (LETTER/LC-Rec JSON, RecBole atomic files,
// CSV/TSV), format detection, and the LETTER JSON writer.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/common/json.h"
#include "letter/common/fs.h"
#include "letter/data/dataset.h"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace letter {

int64_t Dataset::num_interactions() const {
  int64_t n = 0;
  for (const auto& s : sequences) n += static_cast<int64_t>(s.size());
  return n;
}

bool Dataset::has_text() const {
  for (const auto& t : items)
    if (!t.empty()) return true;
  return false;
}

std::unordered_map<std::string, int64_t> Dataset::item_index() const {
  std::unordered_map<std::string, int64_t> m;
  m.reserve(item_ids.size());
  for (size_t i = 0; i < item_ids.size(); ++i) m.emplace(item_ids[i], static_cast<int64_t>(i));
  return m;
}

std::unordered_map<std::string, int64_t> Dataset::user_index() const {
  std::unordered_map<std::string, int64_t> m;
  m.reserve(user_ids.size());
  for (size_t i = 0; i < user_ids.size(); ++i) m.emplace(user_ids[i], static_cast<int64_t>(i));
  return m;
}

void Dataset::check_consistent() const {
  LETTER_CHECK(user_ids.size() == sequences.size(), "dataset ", name, ": ", user_ids.size(),
               " user ids for ", sequences.size(), " sequences");
  LETTER_CHECK(items.empty() || items.size() == item_ids.size(), "dataset ", name, ": ",
               items.size(), " item texts for ", item_ids.size(), " items");
  const int64_t n = num_items();
  for (size_t u = 0; u < sequences.size(); ++u) {
    LETTER_CHECK(!sequences[u].empty(), "dataset ", name, ": user '", user_ids[u],
                 "' has no interactions");
    for (int64_t i : sequences[u])
      LETTER_CHECK(i >= 0 && i < n, "dataset ", name, ": user '", user_ids[u], "' has item ", i,
                   " outside 0..", n - 1);
  }
}

namespace {

// A LETTER file may leave ids unused (items without interactions); this many, or as many as
// are used, whichever is larger.
constexpr int64_t kMaxUnusedItemIds = 1000000;

// ------------------------------------------------------------------------------------------
// Helpers

bool is_integer_string(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// The text of one item field: a string, null (no text) or a list of those (joined with
// spaces, algorithms.md a.2; Amazon's category paths are nested lists). Numbers, booleans
// and objects are refused: turning them into text silently would embed "12" or "true".
std::string text_of(const ordered_json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  LETTER_CHECK(v.is_array(), where, " must be a string, null or a list of strings, got ",
               json_excerpt(v), " (", v.type_name(), ")");
  std::string out;
  for (const auto& e : v) {
    std::string t = text_of(e, where);
    if (t.empty()) continue;
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

// Parses a JSON object file keeping key order and rejecting duplicate top-level keys.
ordered_json parse_object_file(const std::string& path, const std::string& what) {
  std::string text = read_text_file(path, what);
  if (what == "items") {
    const int64_t replaced = replace_invalid_utf8(text);
    if (replaced > 0)
      spdlog::warn("{}: {} invalid UTF-8 byte sequences replaced by U+FFFD", path, replaced);
  }
  std::unordered_set<std::string> seen;
  std::string duplicate;
  auto cb = [&](int depth, ordered_json::parse_event_t event, ordered_json& parsed) {
    if (depth == 1 && event == ordered_json::parse_event_t::key) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  ordered_json j = parse_json<ordered_json>(text, path, false, cb);
  LETTER_CHECK(j.is_object(), path, ": expected a JSON object {id: ...}, got ",
               j.type_name());
  LETTER_CHECK(duplicate.empty(), path, ": key '", duplicate,
               "' appears more than once (duplicate ", what == "interactions" ? "user" : "item",
               ")");
  return j;
}

// Splits one delimited line; supports double-quoted fields with "" escapes (RFC 4180).
std::vector<std::string> split_line(const std::string& line, char delim) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"' && cur.empty()) {
      quoted = true;
    } else if (c == delim) {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(std::move(cur));
  for (auto& f : out) {  // trim spaces around unquoted fields
    size_t b = f.find_first_not_of(" \r");
    size_t e = f.find_last_not_of(" \r");
    f = (b == std::string::npos) ? std::string() : f.substr(b, e - b + 1);
  }
  return out;
}

std::vector<std::string> read_lines(const std::string& path, const std::string& what) {
  std::string text = read_text_file(path, what);
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 byte-order mark (Excel writes one)
  std::vector<std::string> lines;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

double parse_timestamp(const std::string& s, const std::string& where) {
  try {
    size_t used = 0;
    double t = std::stod(s, &used);
    if (used == s.size() && std::isfinite(t)) return t;
  } catch (const std::exception&) {
  }
  LETTER_FAIL(where, ": timestamp '", s, "' is not a number (expected unix time)");
}

// Accumulates (user, item, time) rows with string ids, then builds the dataset.
struct RowCollector {
  std::unordered_map<std::string, int64_t> user_of, item_of;
  std::vector<std::string> users, items;
  // per user: (time, row number, item)
  std::vector<std::vector<std::tuple<double, int64_t, int64_t>>> rows;
  int64_t row_count = 0;

  int64_t item(const std::string& raw) {
    auto [it, inserted] = item_of.emplace(raw, static_cast<int64_t>(items.size()));
    if (inserted) items.push_back(raw);
    return it->second;
  }
  void add(const std::string& u, const std::string& i, double t) {
    auto [it, inserted] = user_of.emplace(u, static_cast<int64_t>(users.size()));
    if (inserted) {
      users.push_back(u);
      rows.emplace_back();
    }
    rows[it->second].emplace_back(t, row_count++, item(i));
  }

  // Orders each user's rows by time (when timestamps exist), reporting or refusing disorder.
  void build(Dataset& ds, bool has_time, const DataOptions& opt, const std::string& path,
             LoadReport& rep) {
    ds.user_ids = users;
    ds.item_ids = items;
    ds.sequences.resize(users.size());
    std::string first_unsorted;
    for (size_t u = 0; u < users.size(); ++u) {
      auto& r = rows[u];
      if (has_time) {
        bool sorted = std::is_sorted(r.begin(), r.end(), [](const auto& a, const auto& b) {
          return std::get<0>(a) < std::get<0>(b);
        });
        if (!sorted) {
          if (first_unsorted.empty()) first_unsorted = users[u];
          LETTER_CHECK(opt.unsorted != Unsorted::kError, path, ": rows of user '", users[u],
                       "' are not in timestamp order (set data.unsorted = \"sort\" to sort them)");
          std::stable_sort(r.begin(), r.end(), [](const auto& a, const auto& b) {
            return std::get<0>(a) < std::get<0>(b);
          });
          ++rep.users_reordered;
        }
      }
      ds.sequences[u].reserve(r.size());
      for (const auto& row : r) ds.sequences[u].push_back(std::get<2>(row));
    }
    if (rep.users_reordered > 0) {
      rep.warnings.push_back(detail::concat(path, ": rows of ", rep.users_reordered,
                                            " users were out of timestamp order (first: '",
                                            first_unsorted, "'); sorted them by time"));
    }
  }
};

// ------------------------------------------------------------------------------------------
// LETTER / LC-Rec JSON

void load_letter(const std::string& dir, const std::string& name, const std::string& inter_path,
                 Dataset& ds, LoadReport& rep) {
  rep.format = "letter";
  rep.files.push_back(inter_path);
  ordered_json inter = parse_object_file(inter_path, "interactions");
  LETTER_CHECK(!inter.empty(), inter_path, ": no users");

  // Item catalog (optional).
  std::string item_path = join(dir, name + ".item.json");
  ordered_json item_json;
  bool has_items = path_exists(item_path);
  int64_t max_item_key = -1;
  if (has_items) {
    rep.files.push_back(item_path);
    item_json = parse_object_file(item_path, "items");
    for (auto it = item_json.begin(); it != item_json.end(); ++it) {
      LETTER_CHECK(is_integer_string(it.key()) && std::stoll(it.key()) >= 0, item_path,
                   ": item key '", it.key(), "' is not a non-negative integer id");
      LETTER_CHECK(it.value().is_object(), item_path, ": item '", it.key(),
                   "' must map to an object of text fields, got ", it.value().type_name());
      max_item_key = std::max<int64_t>(max_item_key, std::stoll(it.key()));
    }
  }

  // Users in numeric order when all keys are integers (LETTER), else in file order.
  std::vector<std::pair<std::string, const ordered_json*>> users;
  users.reserve(inter.size());
  bool numeric = true;
  for (auto it = inter.begin(); it != inter.end(); ++it) {
    users.emplace_back(it.key(), &it.value());
    numeric = numeric && is_integer_string(it.key());
  }
  if (numeric) {
    std::stable_sort(users.begin(), users.end(), [](const auto& a, const auto& b) {
      return std::stoll(a.first) < std::stoll(b.first);
    });
  }

  int64_t max_item = -1;
  ds.sequences.reserve(users.size());
  for (const auto& [uid, seq] : users) {
    LETTER_CHECK(seq->is_array(), inter_path, ": user '", uid,
                 "' must map to a list of item ids, got ", seq->type_name());
    LETTER_CHECK(!seq->empty(), inter_path, ": user '", uid,
                 "' has no interactions (remove the user or add items)");
    std::vector<int64_t> items;
    items.reserve(seq->size());
    for (const auto& v : *seq) {
      int64_t id = -1;
      if (v.is_number_integer()) {
        id = v.get<int64_t>();
      } else if (v.is_string() && is_integer_string(v.get<std::string>())) {
        id = std::stoll(v.get<std::string>());
      } else {
        LETTER_FAIL(inter_path, ": user '", uid, "': item ", json_excerpt(v),
                    " is not an integer item id");
      }
      LETTER_CHECK(id >= 0, inter_path, ": user '", uid, "': negative item id ", id);
      if (has_items) {
        LETTER_CHECK(item_json.contains(std::to_string(id)), inter_path, ": user '", uid,
                     "': unknown item id ", id, " (not in ", item_path, ", which has ",
                     item_json.size(), " items)");
      }
      max_item = std::max(max_item, id);
      items.push_back(id);
    }
    ds.user_ids.push_back(uid);
    ds.sequences.push_back(std::move(items));
  }

  const int64_t n = std::max(max_item, max_item_key) + 1;
  if (n > kMaxUnusedItemIds) {
    // Ids index arrays of size n: refuse sparse ids before allocating for them (below the
    // limit every id range is accepted, so usual datasets skip the count).
    std::unordered_set<int64_t> used;
    for (const auto& s : ds.sequences) used.insert(s.begin(), s.end());
    for (auto it = item_json.begin(); has_items && it != item_json.end(); ++it) used.insert(std::stoll(it.key()));
    const int64_t distinct = static_cast<int64_t>(used.size());
    LETTER_CHECK(n - distinct <= std::max<int64_t>(kMaxUnusedItemIds, distinct), inter_path, ": item ids run up to ",
                 n - 1, " but only ", distinct, " distinct ids are used; LETTER files number items 0..N-1 (for "
                 "other ids use a CSV or RecBole file, which are renumbered)");
  }
  ds.item_ids.resize(n);
  for (int64_t i = 0; i < n; ++i) ds.item_ids[i] = std::to_string(i);
  if (has_items) {
    ds.items.assign(n, ItemText{});
    for (auto it = item_json.begin(); it != item_json.end(); ++it) {
      ItemText t;
      for (auto f = it.value().begin(); f != it.value().end(); ++f)
        t[f.key()] = text_of(f.value(), detail::concat(item_path, ": item '", it.key(), "' field '", f.key(), "'"));
      ds.items[std::stoll(it.key())] = std::move(t);
    }
  }
  // Items without interactions (gaps in the id space) are kept so ids stay LETTER's; the
  // k-core filter removes them when it is on.
  std::vector<char> seen(n, 0);
  for (const auto& s : ds.sequences)
    for (int64_t i : s) seen[i] = 1;
  int64_t unseen = n - std::count(seen.begin(), seen.end(), 1);
  if (unseen > 0)
    rep.warnings.push_back(detail::concat(inter_path, ": ", unseen, " of ", n,
                                          " item ids have no interactions"));
}

// ------------------------------------------------------------------------------------------
// RecBole atomic files: <name>.inter with typed header "user_id:token\titem_id:token\t...".

int64_t find_column(const std::vector<std::string>& header, std::initializer_list<const char*> names) {
  for (size_t c = 0; c < header.size(); ++c) {
    std::string h = header[c].substr(0, header[c].find(':'));
    std::transform(h.begin(), h.end(), h.begin(), ::tolower);
    for (const char* n : names)
      if (h == n) return static_cast<int64_t>(c);
  }
  return -1;
}

void load_recbole(const std::string& dir, const std::string& name, const std::string& inter_path,
                  const DataOptions& opt, Dataset& ds, LoadReport& rep) {
  rep.format = "recbole";
  rep.files.push_back(inter_path);
  auto lines = read_lines(inter_path, "interactions");
  LETTER_CHECK(!lines.empty(), inter_path, ": empty file");
  auto header = split_line(lines[0], '\t');
  int64_t cu = find_column(header, {"user_id", "user", "uid"});
  int64_t ci = find_column(header, {"item_id", "item", "iid"});
  int64_t ct = find_column(header, {"timestamp", "time", "ts"});
  LETTER_CHECK(cu >= 0 && ci >= 0, inter_path,
               ": RecBole header must name user_id and item_id columns (e.g. "
               "'user_id:token<TAB>item_id:token<TAB>timestamp:float'), got '", lines[0], "'");
  RowCollector rc;
  for (size_t l = 1; l < lines.size(); ++l) {
    if (lines[l].empty()) continue;
    auto f = split_line(lines[l], '\t');
    std::string where = detail::concat(inter_path, ":", l + 1);
    LETTER_CHECK(static_cast<int64_t>(f.size()) > std::max({cu, ci, ct}), where, ": expected ",
                 header.size(), " tab-separated fields, got ", f.size());
    LETTER_CHECK(!f[cu].empty() && !f[ci].empty(), where, ": empty user or item id");
    rc.add(f[cu], f[ci], ct >= 0 ? parse_timestamp(f[ct], where) : 0.0);
  }
  LETTER_CHECK(rc.row_count > 0, inter_path, ": no interactions");
  rc.build(ds, ct >= 0, opt, inter_path, rep);

  std::string item_path = join(dir, name + ".item");
  if (path_exists(item_path)) {
    rep.files.push_back(item_path);
    auto il = read_lines(item_path, "items");
    LETTER_CHECK(!il.empty(), item_path, ": empty file");
    auto ih = split_line(il[0], '\t');
    int64_t cid = find_column(ih, {"item_id", "item", "iid"});
    LETTER_CHECK(cid >= 0, item_path, ": header must name an item_id column, got '", il[0], "'");
    auto index = ds.item_index();
    ds.items.assign(ds.item_ids.size(), ItemText{});
    int64_t unknown = 0;
    for (size_t l = 1; l < il.size(); ++l) {
      if (il[l].empty()) continue;
      auto f = split_line(il[l], '\t');
      if (static_cast<int64_t>(f.size()) <= cid) continue;
      auto it = index.find(f[cid]);
      if (it == index.end()) {
        ++unknown;  // catalog entries without interactions are common in RecBole dumps
        continue;
      }
      ItemText t;
      for (size_t c = 0; c < ih.size() && c < f.size(); ++c) {
        if (static_cast<int64_t>(c) == cid || f[c].empty()) continue;
        t[ih[c].substr(0, ih[c].find(':'))] = f[c];
      }
      ds.items[it->second] = std::move(t);
    }
    if (unknown > 0)
      rep.warnings.push_back(detail::concat(item_path, ": ", unknown,
                                            " catalog rows name items without interactions"));
  }
}

// ------------------------------------------------------------------------------------------
// CSV / TSV: user,item[,timestamp] with an optional header row.

void load_csv(const std::string& path, const DataOptions& opt, Dataset& ds, LoadReport& rep) {
  rep.format = "csv";
  rep.files.push_back(path);
  auto lines = read_lines(path, "interactions");
  size_t first = 0;
  while (first < lines.size() && lines[first].empty()) ++first;
  LETTER_CHECK(first < lines.size(), path, ": empty file");
  std::string ext = fs::path(path).extension().string();
  char delim = ',';
  if (ext == ".tsv" || ext == ".tab") {
    delim = '\t';
  } else if (ext != ".csv") {
    const std::string& l = lines[first];
    size_t tabs = std::count(l.begin(), l.end(), '\t'), commas = std::count(l.begin(), l.end(), ',');
    delim = tabs > commas ? '\t' : (commas > 0 ? ',' : (l.find(';') != std::string::npos ? ';' : ' '));
  }
  auto head = split_line(lines[first], delim);
  int64_t cu = 0, ci = 1, ct = head.size() >= 3 ? 2 : -1;
  int64_t hu = find_column(head, {"user", "user_id", "userid", "uid", "reviewerid"});
  int64_t hi = find_column(head, {"item", "item_id", "itemid", "iid", "asin", "movieid"});
  size_t start = first;
  if (hu >= 0 || hi >= 0) {
    LETTER_CHECK(hu >= 0 && hi >= 0, path, ": header '", lines[first],
                 "' must name both a user and an item column");
    cu = hu;
    ci = hi;
    ct = find_column(head, {"timestamp", "time", "ts", "unix_time", "unixreviewtime", "date"});
    start = first + 1;
  }
  LETTER_CHECK(head.size() >= 2, path, ":", first + 1, ": expected user", delim == '\t' ? "<TAB>" : std::string(1, delim),
               "item[", delim == '\t' ? "<TAB>" : std::string(1, delim), "timestamp], got '", lines[first], "'");
  RowCollector rc;
  for (size_t l = start; l < lines.size(); ++l) {
    if (lines[l].empty()) continue;
    auto f = split_line(lines[l], delim);
    std::string where = detail::concat(path, ":", l + 1);
    LETTER_CHECK(static_cast<int64_t>(f.size()) > std::max({cu, ci, ct}), where,
                 ": expected at least ", std::max({cu, ci, ct}) + 1, " fields, got ", f.size(),
                 " in '", lines[l], "'");
    LETTER_CHECK(!f[cu].empty() && !f[ci].empty(), where, ": empty user or item id");
    rc.add(f[cu], f[ci], ct >= 0 ? parse_timestamp(f[ct], where) : 0.0);
  }
  LETTER_CHECK(rc.row_count > 0, path, ": no interactions");
  rc.build(ds, ct >= 0, opt, path, rep);
}

void drop_repeats(Dataset& ds, LoadReport& rep) {
  for (auto& s : ds.sequences) {
    std::unordered_set<int64_t> seen;
    std::vector<int64_t> out;
    out.reserve(s.size());
    for (int64_t i : s) {
      if (seen.insert(i).second)
        out.push_back(i);
      else
        ++rep.repeats_dropped;
    }
    s = std::move(out);
  }
}

}  // namespace

Dataset load_dataset(const DataOptions& opt, LoadReport* report) {
  LETTER_USAGE_CHECK(!opt.path.empty(),
                     "no dataset given: set data.path in the config or pass --data PATH");
  LoadReport local;
  LoadReport& rep = report ? *report : local;
  std::error_code ec;
  LETTER_CHECK(fs::exists(opt.path, ec), "dataset not found: ", opt.path);

  Dataset ds;
  DataFormat format = opt.format;
  if (fs::is_directory(opt.path, ec)) {
    std::string dir = opt.path;
    std::string name = opt.name;
    if (name.empty()) name = fs::path(dir).lexically_normal().filename().string();
    if (name.empty() || name == ".") name = fs::path(dir).lexically_normal().parent_path().filename().string();
    if (opt.name.empty() && !path_exists(join(dir, name + ".inter.json")) &&
        !path_exists(join(dir, name + ".inter"))) {
      // The folder holds one dataset under another prefix: use it.
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string f = e.path().filename().string();
        for (const std::string suf : {".inter.json", ".inter"}) {
          if (f.size() > suf.size() && f.compare(f.size() - suf.size(), suf.size(), suf) == 0) {
            std::string prefix = f.substr(0, f.size() - suf.size());
            if (std::find(found.begin(), found.end(), prefix) == found.end()) found.push_back(prefix);
          }
        }
      }
      if (found.size() == 1) name = found[0];
    }
    ds.name = name;
    std::string letter_path = join(dir, name + ".inter.json");
    std::string recbole_path = join(dir, name + ".inter");
    if (format == DataFormat::kAuto) {
      if (path_exists(letter_path))
        format = DataFormat::kLetter;
      else if (path_exists(recbole_path))
        format = DataFormat::kRecBole;
      else
        LETTER_FAIL("no interaction file in ", dir, ": expected ", name, ".inter.json (LETTER) or ",
                    name, ".inter (RecBole); set data.name if the prefix differs from the folder name");
    }
    if (format == DataFormat::kLetter)
      load_letter(dir, name, letter_path, ds, rep);
    else if (format == DataFormat::kRecBole)
      load_recbole(dir, name, recbole_path, opt, ds, rep);
    else
      LETTER_FAIL("data.format = csv needs data.path to be a .csv/.tsv file, got folder ", dir);
  } else {
    std::string p = opt.path;
    std::string fname = fs::path(p).filename().string();
    auto ends_with = [&](const std::string& suf) {
      return fname.size() >= suf.size() && fname.compare(fname.size() - suf.size(), suf.size(), suf) == 0;
    };
    if (format == DataFormat::kAuto) {
      if (ends_with(".inter.json"))
        format = DataFormat::kLetter;
      else if (ends_with(".inter"))
        format = DataFormat::kRecBole;
      else
        format = DataFormat::kCsv;
    }
    std::string dir = fs::path(p).parent_path().string();
    if (format == DataFormat::kLetter) {
      LETTER_CHECK(ends_with(".inter.json"), "data.format = letter expects a folder or a "
                   "<name>.inter.json file, got ", p);
      ds.name = opt.name.empty() ? fname.substr(0, fname.size() - 11) : opt.name;
      load_letter(dir, ds.name, p, ds, rep);
    } else if (format == DataFormat::kRecBole) {
      ds.name = opt.name.empty() ? fs::path(p).stem().string() : opt.name;
      load_recbole(dir, ds.name, p, opt, ds, rep);
    } else {
      ds.name = opt.name.empty() ? fs::path(p).stem().string() : opt.name;
      load_csv(p, opt, ds, rep);
    }
  }

  if (!opt.keep_repeats) drop_repeats(ds, rep);
  ds.check_consistent();
  rep.kcore = kcore_filter(ds, opt.kcore);
  LETTER_CHECK(ds.num_users() > 0 && ds.num_items() > 0, "dataset ", ds.name, " is empty after the ",
               opt.kcore, "-core filter; lower data.kcore");
  for (const auto& w : rep.warnings) spdlog::warn("{}", w);
  for (size_t r = 0; r < rep.kcore.size(); ++r) {
    spdlog::info("{}-core round {}: removed {} users, {} items, {} interactions", opt.kcore, r + 1,
                 rep.kcore[r].users_removed, rep.kcore[r].items_removed,
                 rep.kcore[r].interactions_removed);
  }
  spdlog::info("loaded {} ({}): {} users, {} items, {} interactions", ds.name, rep.format,
               ds.num_users(), ds.num_items(), ds.num_interactions());
  return ds;
}

// ------------------------------------------------------------------------------------------
// Writers

void write_id_maps(const Dataset& ds, const std::string& dir, const std::string& prefix) {
  auto write_map = [&](const std::string& file, const std::vector<std::string>& ids) {
    std::string text;
    for (size_t i = 0; i < ids.size(); ++i) text += ids[i] + "\t" + std::to_string(i) + "\n";
    write_text_atomic(join(dir, prefix + file), text);
  };
  write_map("user2id", ds.user_ids);
  write_map("item2id", ds.item_ids);
}

void write_letter_format(const Dataset& ds, const std::string& dir) {
  ensure_dir(dir);
  // Same layout as Python's json.dumps(obj, indent=4): lists one element per line.
  std::string text = "{";
  for (size_t u = 0; u < ds.sequences.size(); ++u) {
    text += u ? ",\n    \"" : "\n    \"";
    text += std::to_string(u) + "\": [";
    const auto& s = ds.sequences[u];
    for (size_t k = 0; k < s.size(); ++k) {
      text += k ? ",\n        " : "\n        ";
      text += std::to_string(s[k]);
    }
    text += s.empty() ? "]" : "\n    ]";
  }
  text += ds.sequences.empty() ? "}" : "\n}";
  write_text_atomic(join(dir, ds.name + ".inter.json"), text);
  if (ds.has_text()) {
    ordered_json items = ordered_json::object();
    for (size_t i = 0; i < ds.items.size(); ++i) {
      ordered_json t = ordered_json::object();
      for (const auto& [k, v] : ds.items[i]) t[k] = v;
      items[std::to_string(i)] = std::move(t);
    }
    write_text_atomic(join(dir, ds.name + ".item.json"),
                      dump_json(items, 1));
  }
  write_id_maps(ds, dir, ds.name + ".");
}

}  // namespace letter
