// Training loop of the generative recommender (algorithms.md c.3, c.4, with the early
// stopping of the issue): AdamW (lr 5e-4, betas 0.9/0.999, eps 1e-8, weight decay 0.01 on
// everything but the RMS-norm scales; T5 has no biases), linear warm-up for
// ceil(warmup_ratio x total steps) then cosine decay to zero over all `epochs`
// (letter::lr_factor), global gradient-norm clip, the ranking-guided loss with tau.
//
// Departures from LETTER-TIGER (docs/algorithms.md): model selection is on the validation
// NDCG@10 that the caller's validator returns every `eval_every` epochs, with `patience`
// (the CLI validates by beam search, eval/generative.h; LETTER-TIGER selects on
// teacher-forced validation loss); samples are batched by length (see rec/data.h).
//
// Determinism and resume: the model is initialised from derive_seed(seed, "rec.init");
// epoch e shuffles with derive_seed(seed, "rec.shuffle.<e>") and reseeds the dropout
// generator with derive_seed(seed, "rec.epoch.<e>"). After every epoch the run directory
// gets recommender.last.pt (weights, AdamW state, counters, history); the best model so far
// is recommender.pt; valid_curve.svg plots the validation metrics so far. --resume continues from the last completed epoch and ends with the
// same weights as an uninterrupted run (same device and thread count).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "letter/common/runtime.h"
#include "letter/data/dataset.h"
#include "letter/rec/options.h"
#include "letter/rec/recommender.h"

namespace letter::rec {

/// What one epoch did (also logged as one key=value line).
struct EpochStats {
  int64_t epoch = 0;           ///< 1-based
  int64_t steps = 0;           ///< optimizer steps so far
  double loss = 0.0;           ///< mean training loss of the epoch (per sample)
  double lr = 0.0;             ///< learning rate of the last step
  double seconds = 0.0;        ///< training time of the epoch (validation excluded)
  double samples_per_s = 0.0;
  double gflops = 0.0;         ///< achieved GFLOP/s: executed matmul FLOPs (3 x forward) / seconds
  bool evaluated = false;
  double valid_recall10 = 0.0, valid_ndcg10 = 0.0;
  double eval_seconds = 0.0;
  bool improved = false;
  nlohmann::json to_json() const;
  static EpochStats from_json(const nlohmann::json& j);
};

/// What a validation returns.
struct Validation {
  double recall10 = 0.0, ndcg10 = 0.0;
  nlohmann::json metrics;  ///< ranking metrics ({"users", "recall@K", "ndcg@K", ...})
  double seconds = 0.0;
};

/// Scores the model (train_recommender puts it in eval mode and back) on the validation
/// users; the trainer keeps the epoch with the best ndcg10.
using RecValidator = std::function<Validation(Recommender& model)>;

/// Callbacks for tests and drivers.
struct TrainHooks {
  /// Called after each epoch (after the checkpoints are written); returning false stops
  /// training at once, as an interruption would (the best model is not restored).
  std::function<bool(const EpochStats&)> after_epoch;
};

/// Outcome of train_recommender.
struct TrainResult {
  std::vector<EpochStats> history;  ///< every epoch so far (earlier runs included on resume)
  int64_t best_epoch = 0;
  double best_ndcg10 = -1.0;
  nlohmann::json best_valid;        ///< validation metrics of the best epoch
  bool stopped_early = false;
  bool interrupted = false;
  int64_t train_samples = 0;
  nlohmann::json to_json() const;
};

/// The validation curve of a run as SVG (valid Recall@10 and NDCG@10 per evaluated epoch;
/// train_recommender writes it to RUN_DIR/valid_curve.svg after every validation).
std::string validation_curve_svg(const std::vector<EpochStats>& history, const RecommenderOptions& ro,
                                 const std::string& dataset);

/// Whether training runs under bf16 autocast: `recommender.bf16` and a device that multiplies
/// bfloat16 in hardware (CUDA; CPUs with AMX or AVX512-BF16), else float32.
bool bf16_autocast(const RecommenderOptions& ro, const torch::Device& device);

/// Trains `rec` with `ro` on the leave-one-out training targets of `ds` (histories of at
/// most `max_history` items), early-stopping on `validate`. env: device (rec's), seed, run
/// directory for the checkpoints ("" = none), resume (from out/recommender.last.pt; the
/// recommender options, data section and seed must equal the run's), env.config stored in
/// the checkpoints. At the end `rec` holds the best model (unless interrupted).
TrainResult train_recommender(Recommender& rec, const RecommenderOptions& ro, int64_t max_history, const Dataset& ds,
                              const RunEnv& env, const RecValidator& validate, const TrainHooks& hooks = {});

}  // namespace letter::rec
