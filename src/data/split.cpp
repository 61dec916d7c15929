#include "letter/data/split.h"

#include "letter/common/error.h"

namespace letter {

Split leave_one_out(const Dataset& ds, int64_t max_history) {
  LETTER_USAGE_CHECK(max_history >= 1, "max_history must be >= 1, got ", max_history);
  Split sp;
  sp.max_history = max_history;
  int64_t n_train = 0;
  for (const auto& s : ds.sequences) n_train += std::max<int64_t>(0, static_cast<int64_t>(s.size()) - 3);
  sp.train.reserve(n_train);
  sp.valid.reserve(ds.sequences.size());
  sp.test.reserve(ds.sequences.size());
  for (size_t u = 0; u < ds.sequences.size(); ++u) {
    const int32_t n = static_cast<int32_t>(ds.sequences[u].size());
    const int32_t user = static_cast<int32_t>(u);
    for (int32_t t = 1; t <= n - 3; ++t) sp.train.push_back({user, t});
    if (n >= 3) sp.valid.push_back({user, n - 2});
    if (n >= 2) sp.test.push_back({user, n - 1});
  }
  return sp;
}

const std::vector<Sample>& split_part(const Split& split, const std::string& name) {
  if (name == "train") return split.train;
  if (name == "valid") return split.valid;
  if (name == "test") return split.test;
  throw UsageError("unknown split '" + name + "': expected train, valid or test");
}

HistoryBatch make_history_batch(const Dataset& ds, const std::vector<Sample>& samples,
                                int64_t first, int64_t count, int64_t max_history, int64_t pad,
                                bool left_pad) {
  LETTER_CHECK(first >= 0 && count >= 0 && first + count <= static_cast<int64_t>(samples.size()),
               "batch [", first, ", ", first + count, ") outside ", samples.size(), " samples");
  int64_t h = 1;
  for (int64_t b = 0; b < count; ++b) h = std::max(h, history_length(samples[first + b], max_history));
  HistoryBatch out;
  out.items = torch::full({count, h}, pad, torch::kInt64);
  out.lengths = torch::empty({count}, torch::kInt64);
  out.targets = torch::empty({count}, torch::kInt64);
  out.users = torch::empty({count}, torch::kInt64);
  auto items = out.items.accessor<int64_t, 2>();
  auto lengths = out.lengths.accessor<int64_t, 1>();
  auto targets = out.targets.accessor<int64_t, 1>();
  auto users = out.users.accessor<int64_t, 1>();
  for (int64_t b = 0; b < count; ++b) {
    const Sample& s = samples[first + b];
    const auto& seq = ds.sequences[s.user];
    const int64_t len = history_length(s, max_history);
    const int64_t begin = s.pos - len;
    const int64_t offset = left_pad ? h - len : 0;
    for (int64_t k = 0; k < len; ++k) items[b][offset + k] = seq[begin + k];
    lengths[b] = len;
    targets[b] = seq[s.pos];
    users[b] = s.user;
  }
  return out;
}

}  // namespace letter
