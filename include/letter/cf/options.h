// Options of the cf module (`cf` config section): SASRec collaborative embeddings
// (algorithms.md a.3; docs/algorithms.md "Collaborative embeddings").
#pragma once

#include <cstdint>
#include <string>

#include "letter/common/options.h"

namespace letter {

/// SASRec training loss (cf.loss).
enum class CfLoss { kCe, kBce };
LETTER_ENUM(CfLoss, {CfLoss::kCe, "ce"}, {CfLoss::kBce, "bce"})

/// `letter train-cf`: SASRec collaborative embeddings (algorithms.md a.3; Kang & McAuley
/// 2018, layer layout of pmixer/SASRec.pytorch). Trained on the training part only (each
/// user's sequence without its last two items), early-stopped on validation NDCG@10.
/// Defaults were tuned on Beauty and Instruments (docs/results.md).
struct CfOptions {
  int64_t hidden = 32;   ///< item embedding size (LETTER's CF vectors are 32-d)
  int64_t blocks = 2;    ///< self-attention blocks
  int64_t heads = 1;     ///< attention heads (must divide hidden)
  double dropout = 0.2;  ///< dropout on embeddings, attention weights and feed-forward
  /// Max sequence length: training windows and evaluation histories keep their last
  /// max_len items (this, not data.max_history, is SASRec's history cut).
  int64_t max_len = 50;
  /// ce = softmax cross-entropy over all N items; bce = the original SASRec loss: binary
  /// cross-entropy of the target against one uniformly sampled negative (never the target).
  CfLoss loss = CfLoss::kCe;
  int64_t epochs = 200;       ///< max epochs
  int64_t batch_size = 128;   ///< training sequences (users) per batch
  double lr = 1e-3;           ///< Adam(W) learning rate
  double beta2 = 0.98;        ///< Adam second-moment decay (pmixer 0.98)
  double weight_decay = 0.0;  ///< AdamW decoupled weight decay (0 = Adam)
  int64_t eval_every = 1;     ///< epochs between validations
  int64_t patience = 10;      ///< validations without NDCG@10 improvement before stopping
  /// Optional (N x hidden) float .npy whose rows initialise the item embeddings (row i =
  /// item i); empty = random (Xavier normal, as pmixer).
  std::string init_items;
  /// Keep the item embeddings fixed (use with init_items to train only the SASRec body).
  bool freeze_items = false;

  template <class V>
  void visit(V& v) {
    v.field("hidden", hidden, "item embedding size", range(1, 4096));
    v.field("blocks", blocks, "self-attention blocks", range(1, 64));
    v.field("heads", heads, "attention heads (must divide hidden)", range(1, 64));
    v.field("dropout", dropout, "dropout rate", range(0, 0.99));
    v.field("max_len", max_len, "max sequence length (SASRec history cut)", range(1, 4096));
    v.field("loss", loss, "training loss: ce (full softmax) | bce (one sampled negative)");
    v.field("epochs", epochs, "max epochs", range(1, 1000000));
    v.field("batch_size", batch_size, "training sequences per batch", range(1, 1 << 20));
    v.field("lr", lr, "learning rate", range(0, 10));
    v.field("beta2", beta2, "Adam second-moment decay", range(0, 0.999999));
    v.field("weight_decay", weight_decay, "AdamW weight decay", range(0, 10));
    v.field("eval_every", eval_every, "epochs between validations", range(1, 1000000));
    v.field("patience", patience, "validations without improvement before stopping", range(1, 1000000));
    v.field("init_items", init_items, "N x hidden .npy initialising item embeddings; empty = random");
    v.field("freeze_items", freeze_items, "keep item embeddings fixed (train the body only)");
  }
};

/// Cross-field checks of `cf` (throws UsageError naming the keys).
void validate_options(const CfOptions& o);

}  // namespace letter
