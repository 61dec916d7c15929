#include "letter/rec/recommender.h"

#include <algorithm>
#include <cmath>
#include <istream>
#include <ostream>

#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/eval/metrics.h"
#include "letter/rec/data.h"

namespace letter::rec {

// ---- model ------------------------------------------------------------------------------

RecNetImpl::RecNetImpl(Arch a, const T5Options& o, const torch::Tensor& codes) : arch(a) {
  T5Options opt = o;
  opt.item_tokens = a == Arch::kCausalT5 ? codes.size(1) : 0;
  if (a == Arch::kDecoder)
    lm = register_module("lm", DecoderLM(opt));
  else
    t5 = register_module("t5", T5(opt));
  item_codes = register_buffer("item_codes", codes.to(torch::kInt64).clone());
}

GenerativeModel& RecNetImpl::generator() {
  if (lm) return *lm;
  return *t5;
}

const T5Options& RecNetImpl::options() const { return lm ? lm->options() : t5->options(); }

std::vector<torch::Tensor> RecNetImpl::decay_parameters(bool decay) {
  if (lm) return decay_group(*lm, decay);
  return decay_group(*t5, decay);
}

std::pair<torch::Tensor, torch::Tensor> RecNetImpl::training_logits(const RecBatch& b) {
  const int64_t L = item_codes.size(1);
  switch (arch) {
    case Arch::kT5:
      return {t5->forward(b.input, b.mask, b.dec_input), b.labels};
    case Arch::kCausalT5: {
      auto h = t5->decode_all_positions(b.dec_input, t5->encode(b.input, b.mask), b.mask);  // (B, R (L+1), D)
      return {t5->logits(h).view({-1, L + 1, t5->options().vocab_size}), b.labels.view({-1, L + 1})};
    }
    case Arch::kDecoder: {
      auto logits = lm->logits(lm->forward(b.input, b.mask));  // (B, R L, V)
      return {logits.view({-1, L, lm->options().vocab_size}), b.labels.view({-1, L})};
    }
  }
  LETTER_FAIL("internal: unknown architecture");
}

double RecNetImpl::forward_flops(const RecBatch& b) const {
  const double B = static_cast<double>(b.input.size(0)), S = static_cast<double>(b.input.size(1));
  if (lm) return B * lm->forward_flops(S);
  return B * t5->forward_flops(S, static_cast<double>(b.dec_input.size(1)));
}

nlohmann::json model_json(Arch arch, const T5Options& o) {
  return {{"arch", arch_name(arch)},
          {"vocab_size", o.vocab_size}, {"d_model", o.d_model},
          {"d_kv", o.d_kv},             {"heads", o.heads},
          {"d_ff", o.d_ff},             {"encoder_layers", o.encoder_layers},
          {"decoder_layers", o.decoder_layers}, {"rel_buckets", o.rel_buckets},
          {"rel_max_distance", o.rel_max_distance}, {"dropout", o.dropout}};
}

namespace {

T5Options t5_from_json(const nlohmann::json& j, const std::string& path) {
  T5Options o;
  try {
    o.vocab_size = j.at("vocab_size").get<int64_t>();
    o.d_model = j.at("d_model").get<int64_t>();
    o.d_kv = j.at("d_kv").get<int64_t>();
    o.heads = j.at("heads").get<int64_t>();
    o.d_ff = j.at("d_ff").get<int64_t>();
    o.encoder_layers = j.at("encoder_layers").get<int64_t>();
    o.decoder_layers = j.at("decoder_layers").get<int64_t>();
    o.rel_buckets = j.at("rel_buckets").get<int64_t>();
    o.rel_max_distance = j.at("rel_max_distance").get<int64_t>();
    o.dropout = j.at("dropout").get<double>();
  } catch (const nlohmann::json::exception& e) {
    LETTER_FAIL("checkpoint ", path, " has no valid model description: ", e.what());
  }
  return o;
}

}  // namespace

Recommender::Recommender(const RecommenderOptions& opt, const ItemCodes& codes, const torch::Device& dev,
                         uint64_t seed)
    : options(opt), softmax(parse_softmax(opt.softmax)), device(dev), vocab(codes.codes) {
  torch::manual_seed(derive_seed(seed, "rec.init"));
  net = RecNet(parse_arch(opt.arch), T5Options::from(opt, vocab.size()), vocab.codes());
  net->to(device);
  table = PrefixTable(vocab, device);
}

Recommender Recommender::load(const std::string& path, const torch::Device& dev, CheckpointHeader* header) {
  CheckpointHeader h = read_checkpoint_header(path);
  LETTER_CHECK(h.format == kModelFormat || h.format == kStateFormat, "checkpoint ", path, " holds '", h.format,
               "', not a recommender: pass the recommender.pt written by 'letter train-recommender'");
  LETTER_CHECK(h.state.contains("model") && h.state.contains("num_items") && h.state.contains("levels"),
               "checkpoint ", path, " lacks the model description: re-run 'letter train-recommender'");
  T5Options o = t5_from_json(h.state["model"], path);
  const Arch arch = parse_arch(h.state["model"].value("arch", std::string("t5")));
  const int64_t n = h.state["num_items"].get<int64_t>(), L = h.state["levels"].get<int64_t>();
  Recommender r;
  r.device = dev;
  r.net = RecNet(arch, o, torch::zeros({n, L}, torch::kInt64));
  load_checkpoint(path, *r.net, nullptr, h.format, kFormatVersion);
  r.vocab = CodeVocab(r.net->item_codes);
  LETTER_CHECK(r.vocab.size() == o.vocab_size, "checkpoint ", path, ": the stored codes give ", r.vocab.size(),
               " tokens but the model has ", o.vocab_size, " (corrupt file?)");
  r.net->to(dev);
  r.table = PrefixTable(r.vocab, dev);
  r.softmax = parse_softmax(h.state.value("softmax", std::string("all")));
  r.options.softmax = h.state.value("softmax", std::string("all"));
  r.options.beam_scores = h.state.value("beam_scores", std::string("renormalized"));
  r.options.arch = arch_name(arch);
  if (header) *header = h;
  return r;
}

void Recommender::save(const std::string& path, const nlohmann::json& config, const nlohmann::json& state) const {
  CheckpointHeader h;
  h.format = kModelFormat;
  h.version = kFormatVersion;
  h.config = config;
  h.state = state;
  h.state["model"] = model_json(net->arch, net->options());
  h.state["num_items"] = vocab.num_items();
  h.state["levels"] = vocab.levels();
  h.state["softmax"] = options.softmax;
  h.state["beam_scores"] = options.beam_scores;
  save_checkpoint(path, *net, nullptr, h);
}

BeamSearchOptions Recommender::search_options(int64_t beam) const {
  BeamSearchOptions b;
  b.beam = beam;
  b.renormalize = options.beam_scores != "hf";
  b.softmax = softmax;
  return b;
}

// ---- ranking ------------------------------------------------------------------------------

Ranking rank_samples(Recommender& rec, const Dataset& ds, const std::vector<Sample>& samples,
                     int64_t max_history, const RankOptions& opt) {
  Timer timer;
  torch::NoGradGuard no_grad;
  const bool was_training = rec.net->is_training();
  rec.net->eval();
  const int64_t U = static_cast<int64_t>(samples.size());
  Ranking out;
  out.item_ranks = torch::full({U}, -1, torch::kInt64);
  out.tuple_ranks = torch::full({U}, -1, torch::kInt64);
  if (opt.keep_top) out.top.resize(U);
  auto ir = out.item_ranks.accessor<int64_t, 1>();
  auto tr = out.tuple_ranks.accessor<int64_t, 1>();
  auto item_tuple = rec.table.item_tuple().accessor<int64_t, 1>();
  BeamSearchOptions bo = rec.search_options(opt.beam);
  bo.renormalize = opt.renormalize;
  // On the CPU, batches run concurrently, one single-threaded batch per thread (the
  // small decoder steps do not scale on a multithreaded BLAS); each writes its own rows.
  const auto batches = sorted_batches(samples, max_history, opt.batch_size);
  for_each_parallel(static_cast<int64_t>(batches.size()), rec.device.is_cpu(), [&](int64_t bi) {
    const auto& idx = batches[bi];
    RecBatch b = make_rec_batch(ds, rec.vocab, samples, idx, max_history, rec.layout()).to(rec.device);
    BeamResult r = beam_search(rec.net->generator(), rec.vocab, rec.table, b.input, b.mask, bo);
    std::vector<std::vector<int64_t>> exclude;
    if (opt.exclude_history) {
      for (int64_t i : idx) {
        const auto& seq = ds.sequences[samples[i].user];
        std::vector<int64_t> h(seq.begin(), seq.begin() + samples[i].pos);
        std::sort(h.begin(), h.end());
        exclude.push_back(std::move(h));
      }
    }
    auto items = expand_items(r, rec.table, opt.top_k, opt.exclude_history ? &exclude : nullptr);
    auto tuples = r.tuples.to(torch::kCPU).contiguous();
    auto ta = tuples.accessor<int64_t, 2>();
    for (size_t row = 0; row < idx.size(); ++row) {
      const int64_t i = idx[row];
      const int64_t target = ds.sequences[samples[i].user][samples[i].pos];
      for (size_t p = 0; p < items[row].size(); ++p)
        if (items[row][p].item == target) {
          ir[i] = static_cast<int64_t>(p);
          break;
        }
      for (int64_t w = 0; w < tuples.size(1); ++w)
        if (ta[row][w] == item_tuple[target]) {
          tr[i] = w;
          break;
        }
      if (opt.keep_top) out.top[i] = std::move(items[row]);
    }
  });
  if (was_training) rec.net->train();
  out.seconds = timer.seconds();
  return out;
}

torch::Tensor train_popularity(const Dataset& ds) {
  auto pop = torch::zeros({ds.num_items()}, torch::kInt64);
  auto p = pop.accessor<int64_t, 1>();
  for (const auto& s : ds.sequences)
    for (size_t j = 0; j + 2 < s.size(); ++j) ++p[s[j]];
  return pop;
}

double coverage_at(const std::vector<std::vector<ScoredItem>>& top, int64_t k, int64_t num_items) {
  std::vector<char> seen(num_items, 0);
  int64_t distinct = 0;
  for (const auto& list : top)
    for (int64_t j = 0; j < std::min<int64_t>(k, static_cast<int64_t>(list.size())); ++j)
      if (!seen[list[j].item]) {
        seen[list[j].item] = 1;
        ++distinct;
      }
  return num_items > 0 ? static_cast<double>(distinct) / num_items : 0.0;
}

double popular_share_at(const std::vector<std::vector<ScoredItem>>& top, int64_t k,
                        const torch::Tensor& popularity, double fraction) {
  const int64_t n = popularity.size(0);
  auto pop = popularity.to(torch::kCPU, torch::kInt64).contiguous();
  auto pa = pop.accessor<int64_t, 1>();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return pa[a] > pa[b]; });
  const int64_t head = static_cast<int64_t>(std::ceil(fraction * n));
  std::vector<char> popular(n, 0);
  for (int64_t r = 0; r < head; ++r) popular[order[r]] = 1;
  int64_t total = 0, in_head = 0;
  for (const auto& list : top)
    for (int64_t j = 0; j < std::min<int64_t>(k, static_cast<int64_t>(list.size())); ++j) {
      ++total;
      in_head += popular[list[j].item];
    }
  return total > 0 ? static_cast<double>(in_head) / total : 0.0;
}

nlohmann::json evaluate_recommender(Recommender& rec, const Dataset& ds, const Config& cfg) {
  LETTER_CHECK(ds.num_items() == rec.num_items(), "the model was trained on ", rec.num_items(),
               " items, dataset ", ds.name, " has ", ds.num_items(), ": evaluate it on the same dataset");
  const auto& ev = cfg.eval;
  Split split = leave_one_out(ds, cfg.data.max_history);
  const auto& samples = split_part(split, ev.split);
  LETTER_CHECK(!samples.empty(), "no ", ev.split, " samples in dataset ", ds.name);
  const int64_t max_k = *std::max_element(ev.ks.begin(), ev.ks.end());
  if (ev.beam < max_k)
    spdlog::warn("eval.beam = {} is below the largest cut-off {}: Recall@{} counts only {} tuples; raise eval.beam",
                 ev.beam, max_k, max_k, ev.beam);
  RankOptions ro;
  ro.beam = ev.beam;
  ro.top_k = std::max<int64_t>(max_k, 10);
  ro.batch_size = ev.batch_size;
  ro.renormalize = cfg.recommender.beam_scores != "hf";
  ro.exclude_history = ev.exclude_history;
  ro.keep_top = true;
  spdlog::info("evaluate: {} {} users, beam {}, scores {}, softmax {}", samples.size(), ev.split, ev.beam,
               cfg.recommender.beam_scores, rec.options.softmax);
  Ranking r = rank_samples(rec, ds, samples, cfg.data.max_history, ro);
  const uint64_t seed = derive_seed(static_cast<uint64_t>(cfg.seed), "eval.bootstrap");
  nlohmann::json out;
  out["split"] = ev.split;
  out["dataset"] = ds.name;
  out["users"] = static_cast<int64_t>(samples.size());
  out["beam"] = ev.beam;
  out["beam_scores"] = cfg.recommender.beam_scores;
  out["softmax"] = rec.options.softmax;
  out["exclude_history"] = ev.exclude_history;
  out["metrics"] = ranking_metrics(r.item_ranks, ev.ks, ev.bootstrap, seed);
  out["tuple_level"] = ranking_metrics(r.tuple_ranks, ev.ks);
  auto pop = train_popularity(ds);
  out["coverage@10"] = coverage_at(r.top, 10, ds.num_items());
  out["popular10_share@10"] = popular_share_at(r.top, 10, pop, 0.1);
  // Popularity baseline: every user gets the same ranking by training interactions.
  {
    std::vector<int64_t> tgt;
    for (const auto& s : samples) tgt.push_back(ds.sequences[s.user][s.pos]);
    auto targets = torch::tensor(tgt, torch::kInt64);
    auto scores = pop.to(torch::kFloat32).unsqueeze(0);
    std::vector<torch::Tensor> ranks;
    const int64_t chunk = 1024;
    for (int64_t i = 0; i < targets.size(0); i += chunk) {
      auto t = targets.narrow(0, i, std::min(chunk, targets.size(0) - i));
      ranks.push_back(target_ranks(scores.expand({t.size(0), scores.size(1)}), t));
    }
    out["baseline_popularity"] = ranking_metrics(torch::cat(ranks), ev.ks);
  }
  nlohmann::json coll = collision_report(rec.vocab.codes());
  int64_t shared_targets = 0;
  {
    const auto& off = rec.table.tuple_offsets();
    auto it = rec.table.item_tuple().accessor<int64_t, 1>();
    for (const auto& s : samples) {
      const int64_t t = it[ds.sequences[s.user][s.pos]];
      shared_targets += (off[t + 1] - off[t]) > 1;
    }
  }
  coll["targets_on_shared_tuples"] = shared_targets;
  coll["rule"] =
      "a generated tuple shared by m items expands to those m items in ascending item id with the "
      "tuple's score; metrics count only the target item itself (tuple_level: LETTER's string match)";
  out["collisions"] = coll;
  out["seconds"] = r.seconds;
  out["users_per_s"] = r.seconds > 0 ? samples.size() / r.seconds : 0.0;
  return out;
}

// ---- JSON Lines ---------------------------------------------------------------------------

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
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    r.error = std::string("malformed JSON: ") + e.what();
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
      r.error = "\"k\" must be an integer in [1, 1000], got " + j["k"].dump();
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
      r.error = "unknown user id " + j["user"].dump();
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
      r.error = "unknown item id " + v.dump();
      r.history.clear();
      return;
    }
    r.history.push_back(it->second);
  }
  r.query = {{"items", list}};
}

}  // namespace

RecommendStats recommend_jsonl(Recommender& rec, const Dataset& ds, const Config& cfg, std::istream& in,
                               std::ostream& out, int64_t k) {
  LETTER_CHECK(ds.num_items() == rec.num_items(), "the model was trained on ", rec.num_items(),
               " items, dataset ", ds.name, " has ", ds.num_items());
  LETTER_USAGE_CHECK(k >= 1, "top-k must be >= 1, got ", k);
  auto users = ds.user_index();
  auto items = ds.item_index();
  RecommendStats stats;
  const int64_t chunk = std::max<int64_t>(1, cfg.eval.batch_size);
  const int64_t max_history = cfg.data.max_history;
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
    int64_t beam = cfg.eval.beam;
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
      bo.renormalize = cfg.recommender.beam_scores != "hf";
      BeamResult r = beam_search(rec.net->generator(), rec.vocab, rec.table, b.input, b.mask, bo);
      std::vector<std::vector<int64_t>> exclude;
      for (auto h : histories) {
        std::sort(h.begin(), h.end());
        exclude.push_back(std::move(h));
      }
      lists = expand_items(r, rec.table, beam, cfg.eval.exclude_history ? &exclude : nullptr);
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
      out << o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    out.flush();
  }
  return stats;
}

}  // namespace letter::rec
