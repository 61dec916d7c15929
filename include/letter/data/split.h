// Leave-one-out split exactly as LETTER-TIGER (algorithms.md a.4): for a user with
// chronological items s[0..n-1],
//   test:  target s[n-1], history s[0..n-2]
//   valid: target s[n-2], history s[0..n-3]
//   train: for t = 1..n-3: target s[t], history s[0..t-1]   (every prefix; first item never a target)
// and every history is cut to its last `max_history` items. A sample needs a non-empty
// history, so users with n = 2 have only a test sample and n = 1 none (LETTER data: n >= 5).
//
// A sample is stored as (user, pos): target = sequences[user][pos], history =
// sequences[user][max(0, pos - max_history) .. pos). No item lists are copied.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "letter/data/dataset.h"

namespace letter {

/// One prediction sample: the item at `pos` of user `user`'s sequence, given the items before.
struct Sample {
  int32_t user = 0;
  int32_t pos = 0;
};

/// The three parts of the split.
struct Split {
  std::vector<Sample> train, valid, test;
  int64_t max_history = 20;
};

/// Builds the split (see the file comment). Train samples are in user order, then position.
Split leave_one_out(const Dataset& ds, int64_t max_history);

/// The samples of one part by name: "train" | "valid" | "test".
const std::vector<Sample>& split_part(const Split& split, const std::string& name);

/// A padded batch of histories and targets on the CPU.
struct HistoryBatch {
  torch::Tensor items;    ///< (B, H) int64 item ids, padded with `pad`
  torch::Tensor lengths;  ///< (B,) int64 history lengths (1..H)
  torch::Tensor targets;  ///< (B,) int64 target item ids
  torch::Tensor users;    ///< (B,) int64 user ids
};

/// Gathers samples[first .. first+count) into a batch with H = max history length in the
/// batch (<= max_history). left_pad = true puts padding before the items (newest item last
/// at column H-1), as decoder-only models (SASRec) want; false pads on the right.
HistoryBatch make_history_batch(const Dataset& ds, const std::vector<Sample>& samples,
                                int64_t first, int64_t count, int64_t max_history, int64_t pad,
                                bool left_pad);

/// Length of the history of `s` after truncation.
inline int64_t history_length(const Sample& s, int64_t max_history) {
  return s.pos < max_history ? s.pos : max_history;
}

}  // namespace letter
