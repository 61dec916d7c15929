#include "letter/rec/data.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "letter/common/error.h"
#include "letter/rec/loss.h"

namespace letter::rec {

HistoryLayout history_layout(Arch a) {
  HistoryLayout h;
  h.eos = a == Arch::kT5;
  h.start = a == Arch::kDecoder;
  h.left_pad = a == Arch::kDecoder;
  return h;
}

RecBatch RecBatch::to(const torch::Device& device) const {
  RecBatch b;
  b.input = input.to(device);
  b.mask = mask.to(device);
  b.dec_input = dec_input.defined() ? dec_input.to(device) : dec_input;
  b.labels = labels.defined() ? labels.to(device) : labels;
  b.targets = targets;
  b.users = users;
  b.samples = samples;
  return b;
}

std::vector<int64_t> encode_history(const CodeVocab& vocab, const std::vector<int64_t>& items,
                                    const HistoryLayout& layout) {
  const int64_t L = vocab.levels(), n = vocab.num_items();
  auto tok = vocab.item_tokens().accessor<int64_t, 2>();
  std::vector<int64_t> out;
  out.reserve(items.size() * L + 2);
  if (layout.start) out.push_back(CodeVocab::kStart);
  for (int64_t i : items) {
    LETTER_CHECK(i >= 0 && i < n, "item ", i, " has no codes (", n, " items)");
    for (int64_t l = 0; l < L; ++l) out.push_back(tok[i][l]);
  }
  if (layout.eos) out.push_back(CodeVocab::kEos);
  return out;
}

namespace {

// Pads token rows into input (B, S) and mask (B, S).
void pad_rows(const std::vector<std::vector<int64_t>>& seqs, bool left, torch::Tensor& input, torch::Tensor& mask) {
  const int64_t B = static_cast<int64_t>(seqs.size());
  int64_t S = 1;
  for (const auto& s : seqs) S = std::max<int64_t>(S, static_cast<int64_t>(s.size()));
  input = torch::full({B, S}, CodeVocab::kPad, torch::kInt64);
  mask = torch::zeros({B, S}, torch::kBool);
  auto in = input.accessor<int64_t, 2>();
  auto mk = mask.accessor<bool, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const int64_t off = left ? S - static_cast<int64_t>(seqs[r].size()) : 0;
    for (size_t j = 0; j < seqs[r].size(); ++j) {
      in[r][off + j] = seqs[r][j];
      mk[r][off + j] = true;
    }
  }
}

RecBatch assemble(const CodeVocab& vocab, const std::vector<std::vector<int64_t>>& seqs,
                  const std::vector<int64_t>& targets, const std::vector<int64_t>& users, bool left_pad) {
  const int64_t B = static_cast<int64_t>(seqs.size()), L = vocab.levels();
  RecBatch b;
  pad_rows(seqs, left_pad, b.input, b.mask);
  b.samples = B;
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
                        const std::vector<int64_t>& index, int64_t max_history, const HistoryLayout& layout) {
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
    seqs.push_back(encode_history(vocab, hist, layout));
    targets.push_back(seq[s.pos]);
    users.push_back(s.user);
  }
  return assemble(vocab, seqs, targets, users, layout.left_pad);
}

RecBatch make_history_batch(const CodeVocab& vocab, const std::vector<std::vector<int64_t>>& histories,
                            int64_t max_history, const HistoryLayout& layout) {
  std::vector<std::vector<int64_t>> seqs;
  for (const auto& h : histories) {
    LETTER_CHECK(!h.empty(), "empty history: at least one item is needed");
    const int64_t len = std::min<int64_t>(max_history, static_cast<int64_t>(h.size()));
    seqs.push_back(encode_history(vocab, std::vector<int64_t>(h.end() - len, h.end()), layout));
  }
  std::vector<int64_t> none(histories.size(), -1);
  return assemble(vocab, seqs, none, none, layout.left_pad);
}

std::vector<Window> training_windows(const Dataset& ds, int64_t max_history) {
  LETTER_CHECK(max_history >= 1, "max_history must be >= 1");
  std::vector<Window> out;
  for (size_t u = 0; u < ds.sequences.size(); ++u) {
    const int64_t m = static_cast<int64_t>(ds.sequences[u].size()) - 2;  // the training part
    std::vector<Window> user;
    for (int64_t end = m; end >= 2; end -= max_history) {
      Window w;
      w.user = static_cast<int32_t>(u);
      w.end = static_cast<int32_t>(end);
      w.begin = static_cast<int32_t>(std::max<int64_t>(0, end - max_history - 1));
      user.push_back(w);
    }
    out.insert(out.end(), user.rbegin(), user.rend());
  }
  return out;
}

RecBatch make_window_batch(const Dataset& ds, const CodeVocab& vocab, const std::vector<Window>& windows,
                           const std::vector<int64_t>& index, Arch arch) {
  LETTER_CHECK(all_positions(arch), "make_window_batch: arch ", enum_name(arch), " trains one sample per prefix");
  LETTER_CHECK(vocab.num_items() == ds.num_items(), "codes cover ", vocab.num_items(), " items, dataset ",
               ds.name, " has ", ds.num_items());
  const int64_t L = vocab.levels(), B = static_cast<int64_t>(index.size());
  auto tok = vocab.item_tokens().accessor<int64_t, 2>();
  int64_t items_max = 0, samples = 0;
  for (int64_t i : index) {
    LETTER_CHECK(i >= 0 && i < static_cast<int64_t>(windows.size()), "window index ", i, " out of range");
    items_max = std::max<int64_t>(items_max, windows[i].end - windows[i].begin);
    samples += windows[i].targets();
  }
  const bool causal = arch == Arch::kCausalT5;
  const int64_t R = causal ? items_max - 1 : items_max, blk = causal ? L + 1 : L;
  std::vector<std::vector<int64_t>> seqs;
  RecBatch b;
  b.dec_input = torch::full({B, R * blk}, CodeVocab::kPad, torch::kInt64);
  b.labels = torch::full({B, R * blk}, kIgnoreLabel, torch::kInt64);
  auto dec = b.dec_input.accessor<int64_t, 2>();
  auto lab = b.labels.accessor<int64_t, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const Window& w = windows[index[r]];
    const auto& seq = ds.sequences[w.user];
    std::vector<int64_t> row;
    if (!causal) row.push_back(CodeVocab::kStart);
    for (int32_t j = w.begin; j < w.end; ++j) {
      const int64_t item = seq[j];
      LETTER_CHECK(item >= 0 && item < vocab.num_items(), "item ", item, " has no codes");
      const int64_t k = j - w.begin;  // window position
      if (causal) {
        if (j + 1 < w.end)  // the encoder sees every item but the last (never a history)
          for (int64_t l = 0; l < L; ++l) row.push_back(tok[item][l]);
        if (k == 0) continue;  // the first item is never a target
        const int64_t o = (k - 1) * blk;
        dec[r][o] = CodeVocab::kStart;
        for (int64_t l = 0; l < L; ++l) {
          lab[r][o + l] = tok[item][l];
          if (l + 1 < blk) dec[r][o + l + 1] = tok[item][l];
        }
        lab[r][o + L] = CodeVocab::kEos;
      } else {
        for (int64_t l = 0; l < L; ++l) {
          if (k > 0) lab[r][k * L + l] = tok[item][l];
          if (j + 1 < w.end || l + 1 < L) row.push_back(tok[item][l]);  // input = start + codes[:-1]
        }
      }
    }
    seqs.push_back(std::move(row));
  }
  pad_rows(seqs, /*left=*/false, b.input, b.mask);
  if (!causal) {
    // Decoder-only: the input is the (B, R L) token row itself; pad it to the label width.
    LETTER_CHECK(b.input.size(1) <= R * L, "internal: decoder window wider than its labels");
    if (b.input.size(1) < R * L) {
      b.input = torch::constant_pad_nd(b.input, {0, R * L - b.input.size(1)}, CodeVocab::kPad);
      b.mask = torch::constant_pad_nd(b.mask, {0, R * L - b.mask.size(1)}, 0);
    }
    b.dec_input = torch::Tensor();
  }
  b.samples = samples;
  return b;
}

namespace {

// The batching recipe of training: a seeded permutation of the n examples, cut into pools
// of about kPoolBatches batches' worth of weight, each pool sorted by key (stable) and cut
// into batches of at most `capacity` weight (at least one example each), and the batch
// order shuffled again. Fisher-Yates with our own index draws: std::shuffle's algorithm is
// implementation-defined.
template <class Weight, class Key>
std::vector<std::vector<int64_t>> pooled_batches(int64_t n, int64_t capacity, uint64_t seed, Weight weight, Key key) {
  LETTER_CHECK(capacity >= 1, "batch size must be >= 1");
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  auto draw = [&](int64_t bound) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(bound)); };
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[i], idx[draw(i + 1)]);
  std::vector<std::vector<int64_t>> batches;
  const int64_t pool_weight = capacity * kPoolBatches;
  for (int64_t p = 0; p < n;) {
    int64_t q = p, in_pool = 0;
    while (q < n && in_pool < pool_weight) in_pool += weight(idx[q++]);
    auto first = idx.begin() + p, last = idx.begin() + q;
    std::stable_sort(first, last, [&](int64_t x, int64_t y) { return key(x) < key(y); });
    std::vector<int64_t> cur;
    int64_t cur_weight = 0;
    for (auto it = first; it != last; ++it) {
      const int64_t w = weight(*it);
      if (!cur.empty() && cur_weight + w > capacity) {
        batches.push_back(std::move(cur));
        cur.clear();
        cur_weight = 0;
      }
      cur.push_back(*it);
      cur_weight += w;
    }
    if (!cur.empty()) batches.push_back(std::move(cur));
    p = q;
  }
  for (int64_t i = static_cast<int64_t>(batches.size()) - 1; i > 0; --i) std::swap(batches[i], batches[draw(i + 1)]);
  return batches;
}

}  // namespace

std::vector<std::vector<int64_t>> length_batches(const std::vector<Sample>& samples, int64_t max_history,
                                                 int64_t batch_size, uint64_t seed) {
  return pooled_batches(
      static_cast<int64_t>(samples.size()), batch_size, seed, [](int64_t) { return int64_t{1}; },
      [&](int64_t i) { return history_length(samples[i], max_history); });
}

std::vector<std::vector<int64_t>> window_batches(const std::vector<Window>& windows, int64_t batch_targets,
                                                 uint64_t seed) {
  auto targets = [&](int64_t i) { return windows[i].targets(); };
  return pooled_batches(static_cast<int64_t>(windows.size()), batch_targets, seed, targets, targets);
}

TrainingSet::TrainingSet(const Dataset& ds, const CodeVocab& vocab, Arch arch, int64_t max_history)
    : ds_(ds), vocab_(vocab), arch_(arch), max_history_(max_history) {
  LETTER_CHECK(vocab.num_items() == ds.num_items(), "codes cover ", vocab.num_items(), " items, dataset ",
               ds.name, " has ", ds.num_items());
  if (all_positions(arch)) {
    windows_ = training_windows(ds, max_history);
    for (const auto& w : windows_) targets_ += w.targets();
  } else {
    samples_ = leave_one_out(ds, max_history).train;
    targets_ = static_cast<int64_t>(samples_.size());
  }
}

int64_t TrainingSet::size() const {
  return all_positions(arch_) ? static_cast<int64_t>(windows_.size()) : static_cast<int64_t>(samples_.size());
}

std::vector<std::vector<int64_t>> TrainingSet::batches(int64_t batch_size, uint64_t seed) const {
  return all_positions(arch_) ? window_batches(windows_, batch_size, seed)
                              : length_batches(samples_, max_history_, batch_size, seed);
}

RecBatch TrainingSet::batch(const std::vector<int64_t>& index) const {
  return all_positions(arch_) ? make_window_batch(ds_, vocab_, windows_, index, arch_)
                              : make_rec_batch(ds_, vocab_, samples_, index, max_history_);
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
