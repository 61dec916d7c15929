#include "letter/data/codes.h"

#include <set>

#include <nlohmann/json.hpp>

#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/json.h"
#include "letter/io/npy.h"

namespace letter {

int64_t ItemCodes::distinct() const { return codes.defined() ? collision_stats(codes).distinct : 0; }

nlohmann::json CollisionStats::to_json() const {
  return {{"items", items},
          {"distinct_tuples", distinct},
          {"colliding_groups", groups},
          {"items_in_collisions", items_in_groups},
          {"max_group", max_group},
          {"collision_rate", rate()}};
}

CollisionStats collision_stats(const torch::Tensor& codes) {
  LETTER_CHECK(codes.defined() && codes.dim() == 2 && !codes.is_floating_point(),
               "codes must be an (N, L) integer table, got ", codes.defined() ? codes.sizes() : torch::IntArrayRef{});
  CollisionStats s;
  s.items = codes.size(0);
  if (s.items == 0) return s;
  const auto counts = std::get<2>(torch::unique_dim(codes.to(torch::kCPU, torch::kInt64), 0, /*sorted=*/true,
                                                    /*return_inverse=*/false, /*return_counts=*/true));
  s.distinct = counts.size(0);
  const auto shared = counts.ge(2);
  s.groups = shared.sum().item<int64_t>();
  s.items_in_groups = counts.masked_select(shared).sum().item<int64_t>();
  s.max_group = counts.max().item<int64_t>();
  return s;
}

std::string code_token(int64_t level, int64_t code) {
  LETTER_CHECK(level >= 0 && level < 26, "code level ", level, " has no token letter (max 26 levels)");
  return "<" + std::string(1, static_cast<char>('a' + level)) + "_" + std::to_string(code) + ">";
}

std::pair<int64_t, int64_t> parse_code_token(const std::string& token, const std::string& where) {
  bool ok = token.size() >= 5 && token.front() == '<' && token.back() == '>' && token[2] == '_' &&
            token[1] >= 'a' && token[1] <= 'z';
  int64_t code = -1;
  if (ok) {
    std::string num = token.substr(3, token.size() - 4);
    ok = !num.empty() && num.size() <= 9 && num.find_first_not_of("0123456789") == std::string::npos;
    if (ok) code = std::stoll(num);
  }
  LETTER_CHECK(ok, where, ": malformed code token '", token, "' (expected like <a_12>)");
  return {token[1] - 'a', code};
}

namespace {
// level_sizes = max code + 1 per level, refusing codebooks beyond kMaxCodebookSize.
void set_level_sizes(ItemCodes& c, const std::string& path) {
  LETTER_CHECK(c.levels() <= kMaxCodeLevels, path, ": codes have ", c.levels(), " levels; at most ",
               kMaxCodeLevels, " are supported");
  auto mx = std::get<0>(c.codes.max(0)).add(1).contiguous();
  c.level_sizes.assign(mx.data_ptr<int64_t>(), mx.data_ptr<int64_t>() + mx.numel());
  for (size_t l = 0; l < c.level_sizes.size(); ++l)
    LETTER_CHECK(c.level_sizes[l] <= kMaxCodebookSize, path, ": level ", l + 1, " uses code ",
                 c.level_sizes[l] - 1, "; codebooks of at most ", kMaxCodebookSize,
                 " codes are supported (a typo in a code token?)");
}
}  // namespace

ItemCodes read_index_json(const std::string& path, const Dataset& ds) {
  nlohmann::json j = read_json_file(path, "codes");
  LETTER_CHECK(j.is_object(), path, ": expected {item: [\"<a_1>\", ...]}, got ", j.type_name());
  auto index = ds.item_index();
  const int64_t n = ds.num_items();
  int64_t levels = -1;
  std::vector<int64_t> table;
  std::vector<char> have(n, 0);
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto found = index.find(it.key());
    LETTER_CHECK(found != index.end(), path, ": item '", it.key(), "' is not in dataset ", ds.name,
                 " (", n, " items)");
    const auto& toks = it.value();
    LETTER_CHECK(toks.is_array() && !toks.empty(), path, ": item '", it.key(),
                 "' must map to a non-empty list of code tokens");
    if (levels < 0) {
      levels = static_cast<int64_t>(toks.size());
      table.assign(n * levels, -1);
    }
    LETTER_CHECK(static_cast<int64_t>(toks.size()) == levels, path, ": item '", it.key(), "' has ",
                 toks.size(), " codes, other items have ", levels);
    for (int64_t l = 0; l < levels; ++l) {
      LETTER_CHECK(toks[l].is_string(), path, ": item '", it.key(), "': code ", json_excerpt(toks[l]),
                   " is not a string token");
      auto [lev, code] = parse_code_token(toks[l].get<std::string>(), path + ": item '" + it.key() + "'");
      LETTER_CHECK(lev == l, path, ": item '", it.key(), "': token ", toks[l].get<std::string>(),
                   " at position ", l, " should use letter '", static_cast<char>('a' + l), "'");
      table[found->second * levels + l] = code;
    }
    have[found->second] = 1;
  }
  LETTER_CHECK(levels > 0, path, ": no codes");
  for (int64_t i = 0; i < n; ++i)
    LETTER_CHECK(have[i], path, ": item '", ds.item_ids[i], "' of dataset ", ds.name, " has no codes");
  ItemCodes out;
  out.codes = torch::from_blob(table.data(), {n, levels}, torch::kInt64).clone();
  set_level_sizes(out, path);
  return out;
}

void write_index_json(const std::string& path, const torch::Tensor& codes, const Dataset& ds) {
  LETTER_CHECK(codes.dim() == 2 && codes.scalar_type() == torch::kInt64, "codes must be (N, L) int64, got ",
               codes.sizes(), " ", codes.scalar_type());
  LETTER_CHECK(codes.size(0) == ds.num_items(), "codes have ", codes.size(0), " rows, dataset ",
               ds.name, " has ", ds.num_items(), " items");
  auto c = codes.cpu().contiguous();
  auto a = c.accessor<int64_t, 2>();
  std::string text = "{";
  for (int64_t i = 0; i < c.size(0); ++i) {
    text += i ? ", " : "";
    text += dump_json(nlohmann::json(ds.item_ids[i])) + ": [";
    for (int64_t l = 0; l < c.size(1); ++l) {
      text += l ? ", \"" : "\"";
      text += code_token(l, a[i][l]) + "\"";
    }
    text += "]";
  }
  text += "}";
  write_text_atomic(path, text);
}

ItemCodes load_item_codes(const std::string& path, const Dataset& ds) {
  LETTER_USAGE_CHECK(!path.empty(), "no item codes given: set recommender.codes to an index.json or codes.npy");
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  ItemCodes out;
  if (ends_with(".npy")) {
    torch::Tensor t = io::read_npy(path);
    LETTER_CHECK(t.dim() == 2, path, ": codes must be a 2-d (items, levels) array, got shape ", t.sizes());
    LETTER_CHECK(!t.is_floating_point() && t.scalar_type() != torch::kBool, path,
                 ": codes must be an integer array, got ", t.scalar_type());
    LETTER_CHECK(t.size(0) == ds.num_items(), path, ": codes have ", t.size(0), " rows, dataset ",
                 ds.name, " has ", ds.num_items(), " items");
    LETTER_CHECK(t.size(1) >= 1, path, ": codes have no levels");
    out.codes = t.to(torch::kInt64).contiguous();
    LETTER_CHECK(out.codes.min().item<int64_t>() >= 0, path, ": codes must be >= 0, found ",
                 out.codes.min().item<int64_t>());
    set_level_sizes(out, path);
  } else {
    out = read_index_json(path, ds);
  }
  return out;
}

}  // namespace letter
