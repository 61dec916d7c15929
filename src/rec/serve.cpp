#include "letter/rec/serve.h"

#include <algorithm>
#include <istream>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "letter/common/error.h"
#include "letter/common/json.h"
#include "letter/common/torch_compat.h"
#include "letter/rec/beam_search.h"
#include "letter/rec/data.h"

namespace letter::rec {

namespace {

struct Request {
  int64_t line = 0;
  nlohmann::json id;      // echoed when present
  nlohmann::json query;   // {"user": ..} or {"items": [..]}
  std::vector<int64_t> history;
  int64_t k = 10;
  std::string error;
};

std::string raw_id(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return "";
}

void parse_request(Request& r, const std::string& text, int64_t default_k,
                   const std::unordered_map<std::string, int64_t>& users,
                   const std::unordered_map<std::string, int64_t>& items, const Dataset& ds) {
  nlohmann::json j;
  try {
    j = parse_json(text, "request");
  } catch (const Error& e) {
    r.error = e.what();
    return;
  }
  if (!j.is_object()) {
    r.error = "expected a JSON object with \"user\" or \"items\", got " + std::string(j.type_name());
    return;
  }
  if (j.contains("id")) r.id = j["id"];
  r.k = default_k;
  if (j.contains("k")) {
    if (!j["k"].is_number_integer() || j["k"].get<int64_t>() < 1 || j["k"].get<int64_t>() > 1000) {
      r.error = "\"k\" must be an integer in [1, 1000], got " + json_excerpt(j["k"]);
      return;
    }
    r.k = j["k"].get<int64_t>();
  }
  const bool has_user = j.contains("user"), has_items = j.contains("items");
  if (has_user == has_items) {
    r.error = "give exactly one of \"user\" (a user id) or \"items\" (a list of item ids)";
    return;
  }
  if (has_user) {
    std::string u = raw_id(j["user"]);
    auto it = users.find(u);
    if (u.empty() || it == users.end()) {
      r.error = "unknown user id " + json_excerpt(j["user"]);
      return;
    }
    r.query = {{"user", j["user"]}};
    r.history = ds.sequences[it->second];
    return;
  }
  const auto& list = j["items"];
  if (!list.is_array() || list.empty()) {
    r.error = "\"items\" must be a non-empty list of item ids";
    return;
  }
  for (const auto& v : list) {
    std::string raw = raw_id(v);
    auto it = items.find(raw);
    if (raw.empty() || it == items.end()) {
      r.error = "unknown item id " + json_excerpt(v);
      r.history.clear();
      return;
    }
    r.history.push_back(it->second);
  }
  r.query = {{"items", list}};
}

}  // namespace

RecommendStats recommend_jsonl(Recommender& rec, const Dataset& ds, const ServeOptions& opt, std::istream& in,
                               std::ostream& out) {
  const int64_t k = opt.k;
  LETTER_CHECK(ds.num_items() == rec.num_items(), "the model was trained on ", rec.num_items(),
               " items, dataset ", ds.name, " has ", ds.num_items());
  LETTER_USAGE_CHECK(k >= 1, "top-k must be >= 1, got ", k);
  auto users = ds.user_index();
  auto items = ds.item_index();
  RecommendStats stats;
  const int64_t chunk = std::max<int64_t>(1, opt.batch_size);
  const int64_t max_history = opt.max_history;
  torch::NoGradGuard no_grad;
  rec.net->eval();
  std::string line;
  bool eof = false;
  while (!eof) {
    std::vector<Request> reqs;
    while (static_cast<int64_t>(reqs.size()) < chunk) {
      if (!std::getline(in, line)) {
        eof = true;
        break;
      }
      ++stats.lines;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
      Request r;
      r.line = stats.lines;
      parse_request(r, line, k, users, items, ds);
      reqs.push_back(std::move(r));
    }
    std::vector<std::vector<int64_t>> histories;
    std::vector<size_t> which;
    int64_t beam = opt.beam;
    for (size_t i = 0; i < reqs.size(); ++i)
      if (reqs[i].error.empty()) {
        histories.push_back(reqs[i].history);
        which.push_back(i);
        beam = std::max(beam, reqs[i].k);
      }
    std::vector<std::vector<ScoredItem>> lists;
    if (!histories.empty()) {
      RecBatch b = make_history_batch(rec.vocab, histories, max_history, rec.layout()).to(rec.device);
      BeamSearchOptions bo = rec.search_options(beam);
      bo.renormalize = opt.beam_scores != BeamScores::kHf;
      compat::Autocast autocast(rec.device, opt.bf16 && compat::fast_bf16(rec.device));
      BeamResult r = beam_search(rec.net->generator(), rec.vocab, rec.table, b.input, b.mask, bo);
      std::vector<std::vector<int64_t>> exclude;
      for (auto h : histories) {
        std::sort(h.begin(), h.end());
        exclude.push_back(std::move(h));
      }
      lists = expand_items(r, rec.table, beam, opt.exclude_history ? &exclude : nullptr);
    }
    size_t next = 0;
    for (size_t i = 0; i < reqs.size(); ++i) {
      const Request& r = reqs[i];
      nlohmann::json o = nlohmann::json::object();
      if (!r.error.empty()) {
        o["line"] = r.line;
        if (!r.id.is_null()) o["id"] = r.id;
        o["error"] = r.error;
        ++stats.errors;
      } else {
        if (!r.id.is_null()) o["id"] = r.id;
        o.update(r.query);
        nlohmann::json recs = nlohmann::json::array();
        const auto& list = lists[next++];
        for (int64_t j = 0; j < std::min<int64_t>(r.k, static_cast<int64_t>(list.size())); ++j) {
          nlohmann::json e = {{"item", ds.item_ids[list[j].item]}};
          if (static_cast<size_t>(list[j].item) < ds.items.size()) {
            auto t = ds.items[list[j].item].find("title");
            if (t != ds.items[list[j].item].end()) e["title"] = t->second;
          }
          e["score"] = list[j].score;
          recs.push_back(std::move(e));
        }
        o["recommendations"] = std::move(recs);
        ++stats.ok;
      }
      out << dump_json(o) << "\n";
    }
    out.flush();
  }
  return stats;
}

}  // namespace letter::rec
