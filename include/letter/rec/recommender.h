// The generative recommender as one object: the network of one architecture (T5 or
// decoder-only), the item codes (stored with the model so a checkpoint is self-contained),
// the code vocabulary and the prefix table. Its evaluation lives in eval/generative.h, its
// JSON Lines serving in rec/serve.h.
//
// Shapes: N items, L levels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/common/checkpoint.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
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
  /// Beam search options of this model (its softmax and beam scores) with `beam` beams.
  BeamSearchOptions search_options(int64_t beam) const;

  /// The training options (a loaded model: only arch, softmax and beam_scores are set).
  RecommenderOptions options;
  torch::Device device{torch::kCPU};
  RecNet net{nullptr};
  CodeVocab vocab;
  PrefixTable table;

 private:
  Recommender() = default;
};

}  // namespace letter::rec
