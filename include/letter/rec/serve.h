// JSON Lines recommendation with a trained generative recommender (`letter recommend`).
// Each input line is an object with either "user" (a raw user id of the dataset: its whole
// sequence is the history) or "items" (a list of raw item ids, oldest first), and
// optionally "k" (default ServeOptions::k) and "id" (echoed). Each output line is
// {"id"?, "user"|"items", "recommendations": [{"item", "title"?, "score"}, ...]} or, for a
// bad line, {"line": n, "id"?, "error": "..."}; bad lines never stop the batch. Requests
// are decoded ServeOptions::batch_size at a time by one batched beam search.
#pragma once

#include <cstdint>
#include <iosfwd>

#include "letter/data/dataset.h"
#include "letter/rec/options.h"
#include "letter/rec/recommender.h"

namespace letter::rec {

/// How requests are answered.
struct ServeOptions {
  int64_t k = 10;                ///< default list length (a request's "k" overrides, 1..1000)
  int64_t beam = 20;             ///< beams (raised to the largest k of a batch)
  int64_t batch_size = 256;      ///< requests per beam search
  int64_t max_history = 20;      ///< histories keep their last N items
  bool exclude_history = false;  ///< drop the history's items from the lists
  BeamScores beam_scores = BeamScores::kRenormalized;
  bool bf16 = false;  ///< bf16 autocast where the device multiplies bfloat16 in hardware
};

/// What recommend_jsonl did.
struct RecommendStats {
  int64_t lines = 0, ok = 0, errors = 0;
};

/// Answers every line of `in` on `out` (see the file comment).
RecommendStats recommend_jsonl(Recommender& rec, const Dataset& ds, const ServeOptions& opt, std::istream& in,
                               std::ostream& out);

}  // namespace letter::rec
