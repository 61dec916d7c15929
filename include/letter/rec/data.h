// Training and evaluation batches of the generative recommender (algorithms.md a.4, c.2):
// encoder input = the history items' code tokens, oldest first, no separators, then eos
// (length <= max_history * L + 1); labels = the target item's L code tokens + eos;
// decoder input = start + labels[:-1]. Padding is on the right (pad = 0).
//
// Batches are formed by length: samples are shuffled (seeded), cut into pools of
// kPoolBatches batches, sorted by history length inside a pool, cut into batches, and the
// batch order is shuffled again. Padding is then small while every epoch still mixes
// users and positions.
//
// All-positions training (recommender.arch = causal_t5 | decoder): instead of one sample
// per prefix, a user's training part s[0..m-1] (all items but the valid and test targets)
// is cut into windows of at most max_history + 1 items, from its end: [m-21, m),
// [m-41, m-20), ... (max_history 20). Window item j > 0 is a target with the window's items
// before it as history, so every training target of the per-prefix split occurs exactly
// once; a target early in a later window sees fewer than max_history items (users with
// more than max_history + 1 training items only). Batches hold whole windows, about
// `batch_size` targets each, formed by length as above.
//
// History layouts per architecture (HistoryLayout): t5 = codes + eos (LETTER-TIGER),
// causal_t5 = codes (no eos: each target sees only the items before it), decoder = start +
// codes, left-padded (generation continues after the last history token).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/rec/options.h"
#include "letter/rec/vocab.h"

namespace letter::rec {

/// Batches per length-sorting pool.
constexpr int64_t kPoolBatches = 50;

/// Whether the architecture trains all next-item targets of a window in one pass.
inline bool all_positions(Arch a) { return a != Arch::kT5; }

/// How a history becomes model input (see the file comment).
struct HistoryLayout {
  bool start = false;     ///< begin with the start token
  bool eos = true;        ///< end with eos
  bool left_pad = false;  ///< pad on the left (newest token in the last column)
};
HistoryLayout history_layout(Arch a);

/// One all-positions training window: items [begin, end) of user `user`'s sequence;
/// items begin+1 .. end-1 are its targets.
struct Window {
  int32_t user = 0;
  int32_t begin = 0;
  int32_t end = 0;
  int64_t targets() const { return end - begin - 1; }
};

/// One batch on the CPU.
struct RecBatch {
  torch::Tensor input;      ///< (B, S) int64 encoder tokens, right-padded with pad
  torch::Tensor mask;       ///< (B, S) bool, true = real token
  torch::Tensor dec_input;  ///< (B, L+1) int64: start, target codes[:-1]... (teacher forcing)
  torch::Tensor labels;     ///< (B, L+1) int64: target codes, eos
  torch::Tensor targets;    ///< (B,) int64 target item ids (per-prefix batches)
  torch::Tensor users;      ///< (B,) int64 user ids
  int64_t samples = 0;      ///< next-item targets in the batch
  /// Window batches: labels and dec_input hold R blocks per row, one per target;
  /// causal_t5: dec_input/labels (B, R (L+1)); decoder: input = start + codes[:-1] and
  /// labels = codes with the first item's ignored, (B, R L) with R = items per window.
  /// Copies the model inputs (input, mask, dec_input, labels) to `device`; targets and users
  /// stay on the CPU.
  RecBatch to(const torch::Device& device) const;
};

/// Model tokens of a history: the code tokens of `items` oldest first, framed by `layout`.
std::vector<int64_t> encode_history(const CodeVocab& vocab, const std::vector<int64_t>& items,
                                    const HistoryLayout& layout = {});

/// Batch of samples[index[0..]] (histories cut to `max_history`); labels and dec_input in
/// the per-prefix layout of c.2.
RecBatch make_rec_batch(const Dataset& ds, const CodeVocab& vocab, const std::vector<Sample>& samples,
                        const std::vector<int64_t>& index, int64_t max_history, const HistoryLayout& layout = {});

/// Batch of explicit histories (item ids, oldest first; cut to the last `max_history`);
/// targets and users are -1.
RecBatch make_history_batch(const CodeVocab& vocab, const std::vector<std::vector<int64_t>>& histories,
                            int64_t max_history, const HistoryLayout& layout = {});

/// The all-positions windows of every user's training part (see the file comment), in
/// user order.
std::vector<Window> training_windows(const Dataset& ds, int64_t max_history);

/// Batch of windows[index[0..]] for an all-positions architecture (see RecBatch).
RecBatch make_window_batch(const Dataset& ds, const CodeVocab& vocab, const std::vector<Window>& windows,
                           const std::vector<int64_t>& index, Arch arch);

/// The epoch's window batches: about `batch_targets` targets each (at least one window),
/// formed by length as length_batches does; deterministic for a seed, every window once.
std::vector<std::vector<int64_t>> window_batches(const std::vector<Window>& windows, int64_t batch_targets,
                                                 uint64_t seed);

/// The epoch's batches as lists of sample indices (see the file comment); deterministic for
/// a given seed. Every sample appears exactly once.
std::vector<std::vector<int64_t>> length_batches(const std::vector<Sample>& samples, int64_t max_history,
                                                 int64_t batch_size, uint64_t seed);

/// The training examples of one architecture: the per-prefix samples of the split (t5) or
/// the all-positions windows (causal_t5, decoder). Holds references to ds and vocab.
class TrainingSet {
 public:
  TrainingSet(const Dataset& ds, const CodeVocab& vocab, Arch arch, int64_t max_history);
  /// Next-item targets per epoch (= the per-prefix sample count for every architecture).
  int64_t targets() const { return targets_; }
  /// Examples: samples (t5) or windows.
  int64_t size() const;
  /// The epoch's batches of about `batch_size` targets (length_batches / window_batches).
  std::vector<std::vector<int64_t>> batches(int64_t batch_size, uint64_t seed) const;
  /// The batch of examples `index` on the CPU.
  RecBatch batch(const std::vector<int64_t>& index) const;
  Arch arch() const { return arch_; }

 private:
  const Dataset& ds_;
  const CodeVocab& vocab_;
  Arch arch_;
  int64_t max_history_;
  std::vector<Sample> samples_;
  std::vector<Window> windows_;
  int64_t targets_ = 0;
};

/// Evaluation batches: samples sorted by history length (stable), cut into batches.
std::vector<std::vector<int64_t>> sorted_batches(const std::vector<Sample>& samples, int64_t max_history,
                                                 int64_t batch_size);

}  // namespace letter::rec
