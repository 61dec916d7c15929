// Training SASRec for collaborative item embeddings (algorithms.md a.3) without leaking the
// evaluation targets: the model sees, for each user with items s[0..n-1], only the training
// part s[0..n-3] (the split's train samples), with a next-item target at every position.
// Early stopping on the validation NDCG@10 that the caller's validator returns (every
// cf.eval_every epochs, cf.patience evaluations; the CLI validates with eval's full ranking
// of s[n-2] from s[0..n-3]), the best weights are restored at the end, and a run
// interrupted at any point resumes from its last epoch checkpoint to the same result as an
// uninterrupted run (every epoch reseeds the random generators from the master seed and
// the epoch number).
//
// Run-directory files: sasrec.pt (best model), sasrec.last.pt (model + optimizer + training
// state after the last finished epoch, for --resume).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/cf/options.h"
#include "letter/cf/sasrec.h"
#include "letter/common/runtime.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"

namespace letter {

/// A training window: items seq[begin .. begin + len) of one user; the first len - 1 are
/// the inputs, the last len - 1 the targets (target t = input t + 1).
struct CfWindow {
  int32_t user = 0;
  int32_t begin = 0;
  int32_t len = 0;  ///< >= 2
};

/// Windows that cover every target of split.train exactly once: user u's training targets
/// are the positions of its train samples (1..n-3), so s[n-2] and s[n-1] are never inputs
/// or targets. A sequence with more than max_len targets is cut, from its end, into
/// windows of at most max_len targets (the last window keeps the newest items).
std::vector<CfWindow> make_cf_windows(const Split& split, int64_t max_len);

/// A padded training batch on the CPU.
struct CfBatch {
  torch::Tensor inputs;        ///< (B, T) int64 embedding rows (item id + 1), 0 = right padding
  torch::Tensor flat_index;    ///< (P,) int64 indices into inputs.view(-1) that have a target
  torch::Tensor flat_targets;  ///< (P,) int64 target item ids (0-based)
};

/// Gathers windows[order[first .. first + count)] into a batch (T = longest window inputs).
CfBatch make_cf_batch(const Dataset& ds, const std::vector<CfWindow>& windows,
                      const std::vector<int64_t>& order, int64_t first, int64_t count);

/// One negative per target, uniform over the num_items - 1 items other than the target:
/// targets (P,) int64 in [0, num_items) -> (P,) int64 (default generator of their device).
torch::Tensor sample_negatives(const torch::Tensor& targets, int64_t num_items);

/// Training loss of a batch's hidden states: h (P, d) at the target positions, targets (P,)
/// int64, item vectors (N, d). ce = mean softmax cross-entropy over all N items (linear_cross_entropy, exact); bce = mean
/// of -log sigmoid(h.E[t]) - log(1 - sigmoid(h.E[neg])) with one negative per position from
/// sample_negatives (never the target).
torch::Tensor cf_loss(CfLoss loss, const torch::Tensor& h, const torch::Tensor& targets,
                      const torch::Tensor& item_vectors);

/// One epoch's record (also logged as one key=value line).
struct CfEpochStats {
  int64_t epoch = 0;            ///< 1-based
  double loss = 0.0;            ///< mean training loss over positions
  double valid_ndcg10 = -1.0;   ///< validation NDCG@10; -1 when not evaluated this epoch
  double seconds = 0.0;         ///< wall time of the epoch (training + validation)
  double positions_per_s = 0.0; ///< training target positions per second
};

/// What train_sasrec returns.
struct CfResult {
  SasRec model{nullptr};               ///< the best model (eval mode, on the run device)
  std::vector<CfEpochStats> history;   ///< every epoch, resumed ones included
  int64_t best_epoch = 0;              ///< epoch of the best validation NDCG@10 (0 = none)
  double best_valid_ndcg10 = -1.0;
  int64_t epochs_run = 0;              ///< last finished epoch
  bool early_stopped = false;
  double train_seconds = 0.0;          ///< sum of epoch wall times (all sessions)
  /// The per-epoch history as JSON (metrics.json, checkpoints).
  nlohmann::json history_json() const;
};

/// Validation NDCG@10 of the model (in eval mode) on the validation split.
using CfValidator = std::function<double(SasRec& model)>;

/// Trains SASRec with `o` on ds (env: device, seed, run directory, resume; env.config is
/// stored in the checkpoints), early-stopping on `validate`. Throws on empty data, or
/// --resume without a checkpoint or with a changed config (only cf.epochs and cf.patience
/// may change).
CfResult train_sasrec(const Dataset& ds, const CfOptions& o, const RunEnv& env, const CfValidator& validate);

}  // namespace letter
