// Training and evaluation batches of the generative recommender (algorithms.md a.4, c.2):
// encoder input = the history items' code tokens, oldest first, no separators, then eos
// (length <= max_history * L + 1); labels = the target item's L code tokens + eos;
// decoder input = start + labels[:-1]. Padding is on the right (pad = 0).
//
// Batches are formed by length: samples are shuffled (seeded), cut into pools of
// kPoolBatches batches, sorted by history length inside a pool, cut into batches, and the
// batch order is shuffled again. Padding is then small while every epoch still mixes
// users and positions.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/rec/vocab.h"

namespace letter::rec {

/// Batches per length-sorting pool.
constexpr int64_t kPoolBatches = 50;

/// One batch on the CPU.
struct RecBatch {
  torch::Tensor input;      ///< (B, S) int64 encoder tokens, right-padded with pad
  torch::Tensor mask;       ///< (B, S) bool, true = real token
  torch::Tensor dec_input;  ///< (B, L+1) int64: start, target codes[:-1]... (teacher forcing)
  torch::Tensor labels;     ///< (B, L+1) int64: target codes, eos
  torch::Tensor targets;    ///< (B,) int64 target item ids
  torch::Tensor users;      ///< (B,) int64 user ids
  /// Copies the model inputs (input, mask, dec_input, labels) to `device`; targets and users
  /// stay on the CPU.
  RecBatch to(const torch::Device& device) const;
};

/// Encoder tokens of a history: the code tokens of `items` oldest first, then eos.
std::vector<int64_t> encode_history(const CodeVocab& vocab, const std::vector<int64_t>& items);

/// Batch of samples[index[0..]] (histories cut to `max_history`).
RecBatch make_rec_batch(const Dataset& ds, const CodeVocab& vocab, const std::vector<Sample>& samples,
                        const std::vector<int64_t>& index, int64_t max_history);

/// Batch of explicit histories (item ids, oldest first; cut to the last `max_history`);
/// targets and users are -1.
RecBatch make_history_batch(const CodeVocab& vocab, const std::vector<std::vector<int64_t>>& histories,
                            int64_t max_history);

/// The epoch's batches as lists of sample indices (see the file comment); deterministic for
/// a given seed. Every sample appears exactly once.
std::vector<std::vector<int64_t>> length_batches(const std::vector<Sample>& samples, int64_t max_history,
                                                 int64_t batch_size, uint64_t seed);

/// Evaluation batches: samples sorted by history length (stable), cut into batches.
std::vector<std::vector<int64_t>> sorted_batches(const std::vector<Sample>& samples, int64_t max_history,
                                                 int64_t batch_size);

}  // namespace letter::rec
