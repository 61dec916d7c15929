#include "letter/eval/sasrec.h"

#include "letter/common/runtime.h"
#include "letter/eval/full_ranking.h"

namespace letter {

nlohmann::json evaluate_sasrec(SasRec& model, const Dataset& ds, const std::vector<Sample>& samples,
                               const EvalOptions& eval, const torch::Device& device, int64_t bootstrap,
                               uint64_t seed, bool coverage) {
  model->eval();
  FullRankingOptions fo;
  fo.ks = eval.ks;
  fo.batch_size = eval.batch_size;
  fo.exclude_history = eval.exclude_history;
  fo.max_history = model->options.max_len;
  fo.bootstrap = bootstrap;
  fo.seed = seed;
  fo.coverage = coverage;
  QueryEncoder encode = [&](const HistoryBatch& b) {
    auto items = (b.items + 1).to(device);  // pad -1 -> 0
    return model->encode_last(items, b.lengths.to(device));
  };
  auto items = model->item_vectors().detach();
  return evaluate_full_ranking(ds, samples, encode, items, fo);
}

CfValidator sasrec_validator(const Dataset& ds, const std::vector<Sample>& valid, const EvalOptions& eval,
                             const torch::Device& device) {
  EvalOptions e = eval;
  e.ks = {10};
  return [&ds, &valid, e, device](SasRec& model) {
    return evaluate_sasrec(model, ds, valid, e, device, 0, 0, /*coverage=*/false)["ndcg@10"].get<double>();
  };
}

}  // namespace letter
