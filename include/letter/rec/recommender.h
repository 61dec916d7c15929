// The generative recommender as one object: the T5, the item codes (stored with the model
// so a checkpoint is self-contained), the code vocabulary and the prefix table; plus
// full-ranking evaluation (algorithms.md d) and JSON Lines recommendation.
//
// Collisions. Codes may give several items the same tuple (the official index.json files
// do: Beauty 24 items in 11 groups, Instruments 48 in 23). Beam search ranks tuples; a
// tuple shared by m items expands to those m items in ascending item id, all with the
// tuple's score. An item's rank is its position in that expanded list, so a target that
// shares its tuple with a smaller item id ranks one place lower than the tuple: the
// item-level protocol never counts a collision partner as a hit. LETTER's string-level
// ranks (a hit when the target's tuple is generated, algorithms.md d) are reported beside
// them as "tuple_level".
//
// Shapes: N items, L levels, U users.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/common/checkpoint.h"
#include "letter/common/config.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/rec/beam_search.h"
#include "letter/rec/data.h"
#include "letter/rec/decoder_lm.h"
#include "letter/rec/prefix_table.h"
#include "letter/rec/t5.h"
#include "letter/rec/vocab.h"

namespace letter::rec {

/// Checkpoint format tags.
constexpr const char* kModelFormat = "letter.recommender";
constexpr const char* kStateFormat = "letter.recommender.state";
constexpr int64_t kFormatVersion = 1;

/// The architecture and model sizes as stored in checkpoint headers (state.model).
nlohmann::json model_json(Arch arch, const T5Options& o);

/// The network of one architecture (the T5 for t5 and causal_t5, the decoder-only model
/// for decoder) plus the item-code table as a buffer (so save/load carry the codes).
class RecNetImpl : public torch::nn::Module {
 public:
  RecNetImpl(Arch arch, const T5Options& o, const torch::Tensor& codes);
  /// The model beam search decodes through.
  GenerativeModel& generator();
  /// Training logits (N, T, V) and labels (N, T) of a batch made for this architecture
  /// (make_rec_batch for t5, make_window_batch otherwise): T = L + 1 positions (codes, eos)
  /// for the T5s, L for the decoder-only model; one row per target.
  std::pair<torch::Tensor, torch::Tensor> training_logits(const RecBatch& b);
  /// Executed matmul FLOPs of training_logits' forward on `b` (x3 for a training step).
  double forward_flops(const RecBatch& b) const;
  /// AdamW groups: parameters with weight decay (decay = true) or without (norm scales).
  std::vector<torch::Tensor> decay_parameters(bool decay);
  const T5Options& options() const;

  Arch arch = Arch::kT5;
  T5 t5{nullptr};            ///< t5 and causal_t5
  DecoderLM lm{nullptr};     ///< decoder
  torch::Tensor item_codes;  ///< (N, L) int64
};
TORCH_MODULE(RecNet);

/// Model, vocabulary and prefix table on one device.
class Recommender {
 public:
  /// A new, randomly initialised model (init seed = derive_seed(seed, "rec.init")).
  Recommender(const RecommenderOptions& opt, const ItemCodes& codes, const torch::Device& device,
              uint64_t seed);
  /// Loads recommender.pt (or a training-state checkpoint). Returns the model and fills
  /// `header` when given.
  static Recommender load(const std::string& path, const torch::Device& device,
                          CheckpointHeader* header = nullptr);
  /// Saves the model with `state` in the header (format kModelFormat).
  void save(const std::string& path, const nlohmann::json& config, const nlohmann::json& state) const;

  int64_t num_items() const { return vocab.num_items(); }
  Arch arch() const { return net->arch; }
  /// How histories are framed for this architecture.
  HistoryLayout layout() const { return history_layout(net->arch); }
  /// Beam search options from the config (beam, scores, softmax).
  BeamSearchOptions search_options(int64_t beam) const;

  RecommenderOptions options;
  SoftmaxMode softmax = SoftmaxMode::kAll;
  torch::Device device{torch::kCPU};
  RecNet net{nullptr};
  CodeVocab vocab;
  PrefixTable table;

 private:
  Recommender() = default;
};

/// What rank_samples returns.
struct Ranking {
  torch::Tensor item_ranks;   ///< (U,) int64 0-based item rank of each target, -1 = not returned
  torch::Tensor tuple_ranks;  ///< (U,) int64 rank of the target's tuple among the beams, -1
  std::vector<std::vector<ScoredItem>> top;  ///< per sample, the top-k items (when kept)
  double seconds = 0.0;
};

/// Settings of one ranking pass.
struct RankOptions {
  int64_t beam = 20;
  int64_t top_k = 20;       ///< items kept per user (ranks beyond are -1)
  int64_t batch_size = 256;
  bool renormalize = true;
  bool exclude_history = false;
  bool keep_top = false;    ///< fill Ranking::top
};

/// Beam-search ranks of the targets of `samples` (histories cut to max_history).
Ranking rank_samples(Recommender& rec, const Dataset& ds, const std::vector<Sample>& samples,
                     int64_t max_history, const RankOptions& opt);

/// Item popularity = interactions in the training part of every sequence (all items but
/// the last two, which are the valid and test targets), (N,) int64.
torch::Tensor train_popularity(const Dataset& ds);

/// Catalog coverage of the top-k lists: distinct recommended items / N.
double coverage_at(const std::vector<std::vector<ScoredItem>>& top, int64_t k, int64_t num_items);
/// Share of the items in the top-k lists that lie in the most popular `fraction` of the
/// catalog (by `popularity`, ties by smaller item id); the paper's generation-bias view.
double popular_share_at(const std::vector<std::vector<ScoredItem>>& top, int64_t k,
                        const torch::Tensor& popularity, double fraction = 0.1);

/// Full evaluation on config.eval.split (valid | test): item-level Recall/NDCG at eval.ks
/// with 95% bootstrap intervals, the tuple-level (LETTER) metrics, coverage@10, popular
/// share@10, the popularity baseline, the collision report and timing. Returns metrics.json.
nlohmann::json evaluate_recommender(Recommender& rec, const Dataset& ds, const Config& cfg);

/// JSON Lines recommendation. Each input line is an object with either "user" (a raw user
/// id of the dataset: its whole sequence is the history) or "items" (a list of raw item
/// ids, oldest first), and optionally "k" (default `k`) and "id" (echoed). Each output line
/// is {"id"?, "user"|"items", "recommendations": [{"item", "title"?, "score"}, ...]} or, for
/// a bad line, {"line": n, "id"?, "error": "..."}; bad lines never stop the batch.
struct RecommendStats {
  int64_t lines = 0, ok = 0, errors = 0;
};
RecommendStats recommend_jsonl(Recommender& rec, const Dataset& ds, const Config& cfg, std::istream& in,
                               std::ostream& out, int64_t k);

}  // namespace letter::rec
