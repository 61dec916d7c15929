// Training schedule presets of the generative recommender (recommender.preset), resolved
// once in the library like the tokenizer's (quant/presets.h).
//
// quick: the decoder-only model over code tokens with all-positions training (rec/data.h),
//   AdamW peak lr 2e-3 after 2% warm-up, cosine decay over 25 epochs of batches of 256
//   next-item targets, dropout 0.1, early stopping after 6 validations without a gain on
//   2,000 validation users. Chosen by measurement on Instruments and Beauty (docs/results.md:
//   "Generative recommender: converged runs"): it reaches the best validation NDCG@10 of the
//   runs tried within about an hour on one CPU core.
// paper: LETTER-TIGER's schedule (algorithms.md c.4): the bidirectional T5 trained per
//   prefix, lr 5e-4, 1% warm-up, batch 1024, 200 epochs, patience 20, all validation users.
//
// Precedence: struct defaults < config file < preset < --set < flags (`keep` lists the
// recommender keys set explicitly).
#pragma once

#include <string>
#include <vector>

#include "letter/rec/options.h"

namespace letter::rec {

/// Applies o.preset to `o` except the fields named in `keep`; returns (and logs) the names
/// of the fields it changed.
std::vector<std::string> apply_preset(RecommenderOptions& o, const std::vector<std::string>& keep = {});

}  // namespace letter::rec
