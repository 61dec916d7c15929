#include "letter/eval/generative.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/common/torch_compat.h"
#include "letter/data/codes.h"
#include "letter/eval/metrics.h"
#include "letter/rec/beam_search.h"
#include "letter/rec/data.h"

namespace letter {

Ranking rank_samples(rec::Recommender& model, const Dataset& ds, const std::vector<Sample>& samples,
                     int64_t max_history, const RankOptions& opt) {
  Timer timer;
  torch::NoGradGuard no_grad;
  const bool was_training = model.net->is_training();
  model.net->eval();
  const int64_t U = static_cast<int64_t>(samples.size());
  Ranking out;
  out.item_ranks = torch::full({U}, -1, torch::kInt64);
  out.tuple_ranks = torch::full({U}, -1, torch::kInt64);
  if (opt.keep_top) out.top.resize(U);
  auto ir = out.item_ranks.accessor<int64_t, 1>();
  auto tr = out.tuple_ranks.accessor<int64_t, 1>();
  auto item_tuple = model.table.item_tuple().accessor<int64_t, 1>();
  rec::BeamSearchOptions bo = model.search_options(opt.beam);
  const bool bf16 = opt.bf16 && compat::fast_bf16(model.device);
  bo.renormalize = opt.renormalize;
  // On the CPU, batches run concurrently, one single-threaded batch per thread (the
  // small decoder steps do not scale on a multithreaded BLAS); each writes its own rows.
  // Beam search holds (users x beam x codebook) scores per step: fewer users per batch
  // when the beam is wide keep that bounded (beam 20: up to 819 users).
  const int64_t users_per_batch = std::max<int64_t>(1, std::min(opt.batch_size, 16384 / bo.beam));
  const auto batches = rec::sorted_batches(samples, max_history, users_per_batch);
  for_each_parallel(static_cast<int64_t>(batches.size()), model.device.is_cpu(), [&](int64_t bi) {
    const auto& idx = batches[bi];
    rec::RecBatch b = rec::make_rec_batch(ds, model.vocab, samples, idx, max_history, model.layout()).to(model.device);
    compat::Autocast autocast(model.device, bf16);  // per batch: autocast state is thread-local
    rec::BeamResult r = rec::beam_search(model.net->generator(), model.vocab, model.table, b.input, b.mask, bo);
    std::vector<std::vector<int64_t>> exclude;
    if (opt.exclude_history) {
      for (int64_t i : idx) {
        const auto& seq = ds.sequences[samples[i].user];
        std::vector<int64_t> h(seq.begin(), seq.begin() + samples[i].pos);
        std::sort(h.begin(), h.end());
        exclude.push_back(std::move(h));
      }
    }
    auto items = rec::expand_items(r, model.table, opt.top_k, opt.exclude_history ? &exclude : nullptr);
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
  if (was_training) model.net->train();
  out.seconds = timer.seconds();
  return out;
}

nlohmann::json evaluate_generative(rec::Recommender& model, const Dataset& ds, const EvalOptions& ev,
                                   int64_t max_history, rec::BeamScores beam_scores, uint64_t seed) {
  LETTER_CHECK(ds.num_items() == model.num_items(), "the model was trained on ", model.num_items(),
               " items, dataset ", ds.name, " has ", ds.num_items(), ": evaluate it on the same dataset");
  const std::string split_name = enum_name(ev.split);
  Split split = leave_one_out(ds, max_history);
  const auto& samples = split_part(split, split_name);
  LETTER_CHECK(!samples.empty(), "no ", split_name, " samples in dataset ", ds.name);
  const int64_t max_k = *std::max_element(ev.ks.begin(), ev.ks.end());
  if (ev.beam < max_k)
    spdlog::warn("eval.beam = {} is below the largest cut-off {}: Recall@{} counts only {} tuples; raise eval.beam",
                 ev.beam, max_k, max_k, ev.beam);
  RankOptions ro;
  ro.beam = ev.beam;
  ro.top_k = std::max<int64_t>(max_k, 10);
  ro.batch_size = ev.batch_size;
  ro.renormalize = beam_scores != rec::BeamScores::kHf;
  ro.exclude_history = ev.exclude_history;
  ro.keep_top = true;
  ro.bf16 = ev.bf16;
  spdlog::info("evaluate: {} {} users, beam {}, scores {}, softmax {}", samples.size(), split_name, ev.beam,
               enum_name(beam_scores), enum_name(model.options.softmax));
  Ranking r = rank_samples(model, ds, samples, max_history, ro);
  const uint64_t boot_seed = derive_seed(seed, "eval.bootstrap");
  nlohmann::json out;
  out["split"] = split_name;
  out["dataset"] = ds.name;
  out["users"] = static_cast<int64_t>(samples.size());
  out["beam"] = ev.beam;
  out["beam_scores"] = enum_name(beam_scores);
  out["softmax"] = enum_name(model.options.softmax);
  out["exclude_history"] = ev.exclude_history;
  out["bf16"] = ev.bf16 && compat::fast_bf16(model.device);
  out["metrics"] = ranking_metrics(r.item_ranks, ev.ks, ev.bootstrap, boot_seed);
  out["tuple_level"] = ranking_metrics(r.tuple_ranks, ev.ks);
  auto pop = train_popularity(ds);
  std::vector<std::vector<int64_t>> lists;
  for (const auto& l : r.top) {
    lists.emplace_back();
    for (const auto& x : l) lists.back().push_back(x.item);
  }
  out["coverage@10"] = coverage_at(lists, 10, ds.num_items());
  out["popular10_share@10"] = popular_share_at(lists, 10, pop, 0.1);
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
  nlohmann::json coll = collision_stats(model.vocab.codes()).to_json();
  int64_t shared_targets = 0;
  {
    const auto& off = model.table.tuple_offsets();
    auto it = model.table.item_tuple().accessor<int64_t, 1>();
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

std::vector<Sample> validation_subset(const std::vector<Sample>& valid, int64_t n, uint64_t seed) {
  if (n <= 0 || n >= static_cast<int64_t>(valid.size())) return valid;
  std::vector<int64_t> idx(valid.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = static_cast<int64_t>(idx.size()) - 1; i > 0; --i)
    std::swap(idx[i], idx[static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1))]);
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  std::vector<Sample> out;
  for (int64_t i : idx) out.push_back(valid[i]);
  return out;
}

rec::RecValidator generative_validator(const Dataset& ds, const std::vector<Sample>& samples, int64_t max_history,
                                       int64_t beam, int64_t batch_size, rec::BeamScores beam_scores, bool bf16) {
  LETTER_CHECK(!samples.empty(), "dataset ", ds.name, " has no validation samples");
  RankOptions rk;
  rk.beam = beam;
  rk.top_k = 20;
  rk.batch_size = batch_size;
  rk.renormalize = beam_scores != rec::BeamScores::kHf;
  rk.bf16 = bf16;
  return [&ds, &samples, max_history, rk](rec::Recommender& model) {
    Ranking r = rank_samples(model, ds, samples, max_history, rk);
    rec::Validation v;
    v.metrics = ranking_metrics(r.item_ranks, {1, 5, 10, 20});
    v.recall10 = v.metrics["recall@10"].get<double>();
    v.ndcg10 = v.metrics["ndcg@10"].get<double>();
    v.seconds = r.seconds;
    return v;
  };
}

}  // namespace letter
