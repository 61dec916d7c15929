#include "letter/rec/data.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "letter/common/error.h"

namespace letter::rec {

RecBatch RecBatch::to(const torch::Device& device) const {
  RecBatch b;
  b.input = input.to(device);
  b.mask = mask.to(device);
  b.dec_input = dec_input.defined() ? dec_input.to(device) : dec_input;
  b.labels = labels.defined() ? labels.to(device) : labels;
  b.targets = targets;
  b.users = users;
  return b;
}

std::vector<int64_t> encode_history(const CodeVocab& vocab, const std::vector<int64_t>& items) {
  const int64_t L = vocab.levels(), n = vocab.num_items();
  auto tok = vocab.item_tokens().accessor<int64_t, 2>();
  std::vector<int64_t> out;
  out.reserve(items.size() * L + 1);
  for (int64_t i : items) {
    LETTER_CHECK(i >= 0 && i < n, "item ", i, " has no codes (", n, " items)");
    for (int64_t l = 0; l < L; ++l) out.push_back(tok[i][l]);
  }
  out.push_back(CodeVocab::kEos);
  return out;
}

namespace {

RecBatch assemble(const CodeVocab& vocab, const std::vector<std::vector<int64_t>>& seqs,
                  const std::vector<int64_t>& targets, const std::vector<int64_t>& users) {
  const int64_t B = static_cast<int64_t>(seqs.size()), L = vocab.levels();
  int64_t S = 1;
  for (const auto& s : seqs) S = std::max<int64_t>(S, static_cast<int64_t>(s.size()));
  RecBatch b;
  b.input = torch::full({B, S}, CodeVocab::kPad, torch::kInt64);
  b.mask = torch::zeros({B, S}, torch::kBool);
  auto in = b.input.accessor<int64_t, 2>();
  auto mk = b.mask.accessor<bool, 2>();
  for (int64_t r = 0; r < B; ++r)
    for (size_t j = 0; j < seqs[r].size(); ++j) {
      in[r][j] = seqs[r][j];
      mk[r][j] = true;
    }
  b.targets = torch::tensor(targets, torch::kInt64);
  b.users = torch::tensor(users, torch::kInt64);
  if (!targets.empty() && targets[0] >= 0) {
    auto tok = vocab.item_tokens().accessor<int64_t, 2>();
    b.labels = torch::empty({B, L + 1}, torch::kInt64);
    b.dec_input = torch::empty({B, L + 1}, torch::kInt64);
    auto lab = b.labels.accessor<int64_t, 2>();
    auto dec = b.dec_input.accessor<int64_t, 2>();
    for (int64_t r = 0; r < B; ++r) {
      for (int64_t l = 0; l < L; ++l) lab[r][l] = tok[targets[r]][l];
      lab[r][L] = CodeVocab::kEos;
      dec[r][0] = CodeVocab::kStart;
      for (int64_t l = 1; l <= L; ++l) dec[r][l] = lab[r][l - 1];
    }
  }
  return b;
}

}  // namespace

RecBatch make_rec_batch(const Dataset& ds, const CodeVocab& vocab, const std::vector<Sample>& samples,
                        const std::vector<int64_t>& index, int64_t max_history) {
  LETTER_CHECK(vocab.num_items() == ds.num_items(), "codes cover ", vocab.num_items(), " items, dataset ",
               ds.name, " has ", ds.num_items());
  std::vector<std::vector<int64_t>> seqs;
  std::vector<int64_t> targets, users;
  seqs.reserve(index.size());
  for (int64_t i : index) {
    LETTER_CHECK(i >= 0 && i < static_cast<int64_t>(samples.size()), "sample index ", i, " out of range");
    const Sample& s = samples[i];
    const auto& seq = ds.sequences[s.user];
    const int64_t len = history_length(s, max_history);
    std::vector<int64_t> hist(seq.begin() + (s.pos - len), seq.begin() + s.pos);
    seqs.push_back(encode_history(vocab, hist));
    targets.push_back(seq[s.pos]);
    users.push_back(s.user);
  }
  return assemble(vocab, seqs, targets, users);
}

RecBatch make_history_batch(const CodeVocab& vocab, const std::vector<std::vector<int64_t>>& histories,
                            int64_t max_history) {
  std::vector<std::vector<int64_t>> seqs;
  for (const auto& h : histories) {
    LETTER_CHECK(!h.empty(), "empty history: at least one item is needed");
    const int64_t len = std::min<int64_t>(max_history, static_cast<int64_t>(h.size()));
    seqs.push_back(encode_history(vocab, std::vector<int64_t>(h.end() - len, h.end())));
  }
  std::vector<int64_t> none(histories.size(), -1);
  return assemble(vocab, seqs, none, none);
}

std::vector<std::vector<int64_t>> length_batches(const std::vector<Sample>& samples, int64_t max_history,
                                                 int64_t batch_size, uint64_t seed) {
  LETTER_CHECK(batch_size >= 1, "batch size must be >= 1");
  const int64_t n = static_cast<int64_t>(samples.size());
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  // Fisher-Yates with our own index draws: std::shuffle's algorithm is implementation-defined.
  auto draw = [&](int64_t bound) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(bound)); };
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[draw(i + 1)]);
  std::vector<std::vector<int64_t>> batches;
  const int64_t pool = batch_size * kPoolBatches;
  for (int64_t p = 0; p < n; p += pool) {
    auto first = idx.begin() + p, last = idx.begin() + std::min(n, p + pool);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) {
      return history_length(samples[a], max_history) < history_length(samples[b], max_history);
    });
    for (auto it = first; it < last; it += std::min<int64_t>(batch_size, last - it))
      batches.emplace_back(it, it + std::min<int64_t>(batch_size, last - it));
  }
  for (int64_t i = static_cast<int64_t>(batches.size()) - 1; i > 0; --i) std::swap(batches[i], batches[draw(i + 1)]);
  return batches;
}

std::vector<std::vector<int64_t>> sorted_batches(const std::vector<Sample>& samples, int64_t max_history,
                                                 int64_t batch_size) {
  const int64_t n = static_cast<int64_t>(samples.size());
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return history_length(samples[a], max_history) < history_length(samples[b], max_history);
  });
  std::vector<std::vector<int64_t>> batches;
  for (int64_t p = 0; p < n; p += batch_size)
    batches.emplace_back(idx.begin() + p, idx.begin() + std::min(n, p + batch_size));
  return batches;
}

}  // namespace letter::rec
