// Batched trie-constrained beam search (algorithms.md c.5) as tensor operations on the
// model's device: the encoder runs once per user, the decoder keeps a key/value cache, and
// the valid continuations of all B x W beams come from the prefix table as one boolean mask
// per step.
//
// Scores. The model's distribution at step l is the softmax over all tokens ("all",
// LETTER) or over level l's tokens ("level"). Default ("renormalized"): the step score is
// log p(token) - log sum_{allowed} p, i.e. the log-probability renormalised over the
// tokens the trie allows, and the final eos step (always the only allowed token) adds 0.
// "hf" reproduces Hugging Face's constrained generate: the mask is applied after the
// log-softmax, so the step scores are unrenormalised log-probabilities, and the eos step
// adds log p(eos | tuple). All hypotheses have L + 1 tokens, so the length penalty does not
// change the order.
//
// Shapes: B users, S encoder length, W beams, L levels, K_l tokens of level l.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "letter/rec/generative.h"
#include "letter/rec/options.h"
#include "letter/rec/prefix_table.h"
#include "letter/rec/vocab.h"

namespace letter::rec {

/// Beam-search settings.
struct BeamSearchOptions {
  int64_t beam = 20;          ///< beams per user (= distinct tuples returned, at most)
  bool renormalize = true;    ///< false = HF's unrenormalised scores (c.5)
  SoftmaxMode softmax = SoftmaxMode::kAll;
};

/// The W best tuples per user, best first.
struct BeamResult {
  torch::Tensor tuples;  ///< (B, W) int64 tuple numbers (PrefixTable), -1 where fewer exist
  torch::Tensor scores;  ///< (B, W) float32 sequence scores, -inf where tuples is -1
};

/// Model log-probabilities of level l's tokens at one decoder step: logits (N, V) ->
/// (N, K_l) float32, normalised over all V tokens or over level l's (SoftmaxMode).
torch::Tensor level_log_probs(const torch::Tensor& logits, const CodeVocab& vocab, int64_t level,
                              SoftmaxMode mode);

/// Beam search for a batch of users: input (B, S) int64 history tokens in the model's
/// layout, mask (B, S) bool.
/// The model must be in eval mode (callers hold a NoGradGuard).
BeamResult beam_search(GenerativeModel& model, const CodeVocab& vocab, const PrefixTable& table,
                       const torch::Tensor& input, const torch::Tensor& mask,
                       const BeamSearchOptions& opt);

/// One recommended item.
struct ScoredItem {
  int64_t item = -1;
  float score = 0.0f;
};

/// Turns tuples into items: a tuple shared by m items (code collisions) expands to those m
/// items in ascending item id, all with the tuple's score (the same order as
/// letter::target_ranks' tie-break by item id). Items in `exclude` (sorted) are skipped.
/// Returns at most `k` items per user.
std::vector<std::vector<ScoredItem>> expand_items(const BeamResult& r, const PrefixTable& table,
                                                  int64_t k,
                                                  const std::vector<std::vector<int64_t>>* exclude = nullptr);

}  // namespace letter::rec
