// Tests for the generative recommender (module rec): vocabulary and code loading, the prefix
// table's masks, HF T5's relative position buckets, KV-cache decoding against full
// recomputation, the ranking-guided loss against finite differences, batched beam search
// against a brute-force enumeration on a tiny random model (every architecture), collision
// expansion, coverage and popularity share, all-positions training (windows cover every
// target once; the window loss equals per-target passes; no target sees its own or a later
// item; the decoder-only KV cache with left padding), learning on data/tiny, determinism,
// resume, and the CLI's bad inputs.
//
// Codes for data/tiny come from its ground truth (tiny.topics.json): (topic,
// subtopic-within-topic, index-within-subtopic), which is collision-free.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "cli/app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/common/torch_compat.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/eval/generative.h"
#include "letter/eval/metrics.h"
#include "letter/io/npy.h"
#include "letter/rec/beam_search.h"
#include "letter/rec/data.h"
#include "letter/rec/loss.h"
#include "letter/rec/prefix_table.h"
#include "letter/rec/recommender.h"
#include "letter/rec/serve.h"
#include "letter/rec/t5.h"
#include "letter/rec/trainer.h"
#include "letter/rec/vocab.h"
#include "test_util.h"

using namespace letter;
using test::error_of;
using test::run_cli;
using namespace letter::rec;

namespace {

Dataset tiny() {
  DataOptions o;
  o.path = test::tiny_dir();
  static Dataset ds = load_dataset(o);
  return ds;
}

// (topic, subtopic within topic, index within subtopic) for every tiny item.
torch::Tensor tiny_codes(const Dataset& ds) {
  auto t = read_json_file(test::tiny_dir() + "/tiny.topics.json");
  const auto topic = t["item_topic"].get<std::vector<int64_t>>();
  const auto sub = t["item_subtopic"].get<std::vector<int64_t>>();
  std::map<int64_t, std::set<int64_t>> subs_of_topic;
  for (size_t i = 0; i < topic.size(); ++i) subs_of_topic[topic[i]].insert(sub[i]);
  std::map<std::pair<int64_t, int64_t>, int64_t> next_index;
  auto codes = torch::empty({ds.num_items(), 3}, torch::kInt64);
  for (int64_t i = 0; i < ds.num_items(); ++i) {
    const int64_t raw = std::stoll(ds.item_ids[i]);
    const auto& s = subs_of_topic[topic[raw]];
    const int64_t local = std::distance(s.begin(), s.find(sub[raw]));
    codes[i][0] = topic[raw];
    codes[i][1] = local;
    codes[i][2] = next_index[{topic[raw], local}]++;
  }
  return codes;
}

// data/tiny restricted to its first `users` users (all 407 items kept, no k-core), in
// memory; with `dir`, also written there in LETTER's layout (tiny.inter.json, tiny.item.json).
Dataset tiny_users(int64_t users, const std::string& dir = "") {
  Dataset ds = tiny();
  ds.sequences.resize(users);
  ds.user_ids.resize(users);
  if (!dir.empty()) {
    nlohmann::json inter = nlohmann::json::object(), items = nlohmann::json::object();
    for (int64_t u = 0; u < users; ++u) inter[ds.user_ids[u]] = ds.sequences[u];
    for (int64_t i = 0; i < ds.num_items(); ++i) items[ds.item_ids[i]] = ds.items[i];
    write_json_atomic(dir + "/tiny.inter.json", inter);
    write_json_atomic(dir + "/tiny.item.json", items);
  }
  return ds;
}

ItemCodes tiny_item_codes(const Dataset& ds) {
  ItemCodes c;
  c.codes = tiny_codes(ds);
  return c;
}

// A small, fast configuration on data/tiny.
Config tiny_config(int64_t epochs) {
  Config c;
  c.data.path = test::tiny_dir();
  auto& r = c.recommender;
  r.encoder_layers = 2;
  r.decoder_layers = 2;
  r.d_model = 64;
  r.heads = 4;
  r.d_kv = 16;
  r.d_ff = 128;
  r.dropout = 0.1;
  r.lr = 3e-3;
  r.batch_size = 128;
  r.epochs = epochs;
  r.eval_every = 1;
  r.valid_users = 100;
  r.beam = 20;
  c.eval.batch_size = 200;
  c.eval.bootstrap = 0;
  return c;
}

// Random codes with deliberate collisions: N items, level sizes ks.
torch::Tensor random_codes(int64_t n, const std::vector<int64_t>& ks, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<torch::Tensor> cols;
  for (int64_t k : ks) cols.push_back(torch::randint(0, k, {n, 1}, gen, torch::kInt64));
  auto c = torch::cat(cols, 1);
  c[1] = c[0];  // items 0, 1 collide
  c[5] = c[4];
  c[6] = c[4];  // items 4, 5, 6 collide
  return c;
}

T5Options tiny_t5(int64_t vocab) {
  T5Options o;
  o.vocab_size = vocab;
  o.d_model = 16;
  o.d_kv = 8;
  o.heads = 2;
  o.d_ff = 32;
  o.encoder_layers = 2;
  o.decoder_layers = 2;
  o.rel_buckets = 8;
  o.rel_max_distance = 16;
  o.dropout = 0.0;
  return o;
}


// A random dataset: `users` users with 5..max_len items drawn from `items` items.
Dataset random_dataset(int64_t users, int64_t items, int64_t max_len, uint64_t seed) {
  Dataset ds;
  ds.name = "rand";
  auto gen = at::detail::createCPUGenerator(seed);
  for (int64_t u = 0; u < users; ++u) {
    const int64_t n = torch::randint(5, max_len + 1, {1}, gen, torch::kInt64).item<int64_t>();
    ds.sequences.push_back({});
    for (int64_t j = 0; j < n; ++j)
      ds.sequences.back().push_back(torch::randint(0, items, {1}, gen, torch::kInt64).item<int64_t>());
    ds.user_ids.push_back(std::to_string(u));
  }
  for (int64_t i = 0; i < items; ++i) ds.item_ids.push_back(std::to_string(i));
  return ds;
}

RecNet tiny_net(Arch arch, const CodeVocab& v, uint64_t seed) {
  torch::manual_seed(seed);
  RecNet net(arch, tiny_t5(v.size()), v.codes());
  net->eval();
  return net;
}

std::vector<int64_t> item_tokens_of(const CodeVocab& v, int64_t item) {
  std::vector<int64_t> t;
  for (int64_t l = 0; l < v.levels(); ++l) t.push_back(v.item_tokens()[item][l].item<int64_t>());
  return t;
}

// Reference for one target on its own: the per-prefix pass with the history `hist` (item
// ids, oldest first) and the target's codes teacher-forced. Returns the logits (T, V) of
// the positions training_logits gives for a target (T = L + 1 for the T5s: codes and eos;
// L for the decoder-only model) and their labels (T,).
std::pair<torch::Tensor, torch::Tensor> one_target(RecNetImpl& net, const CodeVocab& v, Arch arch,
                                                    const std::vector<int64_t>& hist, int64_t target) {
  const int64_t L = v.levels();
  const auto codes = item_tokens_of(v, target);
  auto in = encode_history(v, hist, history_layout(arch));
  if (arch == Arch::kDecoder) {
    in.insert(in.end(), codes.begin(), codes.end() - 1);
    auto tok = torch::tensor(in, torch::kInt64).unsqueeze(0);
    auto logits = net.lm->logits(net.lm->forward(tok, torch::ones_like(tok, torch::kBool)))[0];
    return {logits.narrow(0, logits.size(0) - L, L), torch::tensor(codes, torch::kInt64)};
  }
  std::vector<int64_t> dec = {CodeVocab::kStart};
  dec.insert(dec.end(), codes.begin(), codes.end());
  auto input = torch::tensor(in, torch::kInt64).unsqueeze(0);
  auto logits = net.t5->forward(input, torch::ones_like(input, torch::kBool), torch::tensor(dec, torch::kInt64).unsqueeze(0))[0];
  auto labels = codes;
  labels.push_back(CodeVocab::kEos);
  return {logits, torch::tensor(labels, torch::kInt64)};
}

// What `letter train-recommender` does through the library: train with cfg.recommender,
// early-stopping on eval's beam-search validation of cfg.recommender.valid_users users.
TrainResult train_rec(Recommender& rec, const Config& cfg, const Dataset& ds, const std::string& out = "",
                      bool resume = false, const TrainHooks& hooks = {}) {
  RunEnv env;
  env.device = rec.device;
  env.seed = static_cast<uint64_t>(cfg.seed);
  env.out = out;
  env.resume = resume;
  env.config = cfg.to_json();
  const int64_t mh = cfg.data.max_history;
  const Split split = leave_one_out(ds, mh);
  const auto valid = validation_subset(split.valid, cfg.recommender.valid_users, derive_seed(env.seed, "rec.valid"));
  return train_recommender(rec, cfg.recommender, mh, ds, env,
                           generative_validator(ds, valid, mh, cfg.recommender.beam, cfg.eval.batch_size,
                                                cfg.recommender.beam_scores, cfg.eval.bf16),
                           hooks);
}

// Training tests run single-threaded: as fast as two threads on a quiet machine, far faster
// on a loaded one, and bitwise reproducible either way.
struct SingleThread {
  int before = torch::get_num_threads();
  SingleThread() { torch::set_num_threads(1); }
  ~SingleThread() { torch::set_num_threads(before); }
};

}  // namespace

// ---- vocabulary, codes, prefix table ----------------------------------------------------

TEST(RecVocab, LevelRangesHoldOnlyUsedCodes) {
  auto codes = torch::tensor({0, 5, 2, 5, 0, 1}, torch::kInt64).view({3, 2});
  CodeVocab v(codes);
  EXPECT_EQ(v.levels(), 2);
  EXPECT_EQ(v.size(), 3 + 2 + 2);  // pad/eos/start + {0, 2} + {1, 5}
  EXPECT_EQ(v.level_begin(0), 3);
  EXPECT_EQ(v.level_size(0), 2);
  EXPECT_EQ(v.level_begin(1), 5);
  EXPECT_EQ(v.token_of(0, 2), 4);
  EXPECT_EQ(v.token_of(0, 1), -1);  // unused code
  EXPECT_EQ(v.token_of(1, 5), 6);
  EXPECT_EQ(v.code_of(1, 6), 5);
  EXPECT_EQ(v.token_string(4), "<a_2>");
  EXPECT_EQ(v.token_string(CodeVocab::kEos), "</s>");
  auto expect = torch::tensor({3, 6, 4, 6, 3, 5}, torch::kInt64).view({3, 2});
  EXPECT_TRUE(torch::equal(v.item_tokens(), expect)) << v.item_tokens();
  EXPECT_EQ(encode_history(v, {2, 0}), (std::vector<int64_t>{3, 5, 3, 6, CodeVocab::kEos}));
  EXPECT_THROW(CodeVocab(torch::tensor({-1, 0}, torch::kInt64).view({1, 2})), Error);
}

TEST(RecVocab, LoadsIndexJsonAndNpyAndRejectsBadCodes) {
  Dataset ds = tiny();
  test::TempDir dir;
  auto codes = tiny_codes(ds);
  write_index_json(dir.path("codes.json"), codes, ds);
  io::write_npy(dir.path("codes.npy"), codes);
  EXPECT_TRUE(torch::equal(load_item_codes(dir.path("codes.json"), ds).codes, codes));
  EXPECT_TRUE(torch::equal(load_item_codes(dir.path("codes.npy"), ds).codes, codes));
  EXPECT_EQ(load_item_codes(dir.path("codes.npy"), ds).distinct(), ds.num_items());

  io::write_npy(dir.path("short.npy"), codes.narrow(0, 0, 100));
  EXPECT_NE(error_of([&] { load_item_codes(dir.path("short.npy"), ds); }).find("codes have 100 rows, dataset tiny has 407 items"),
            std::string::npos);
  io::write_npy(dir.path("float.npy"), codes.to(torch::kFloat32));
  EXPECT_NE(error_of([&] { load_item_codes(dir.path("float.npy"), ds); }).find("integer array"), std::string::npos);
  io::write_npy(dir.path("neg.npy"), codes - 1);
  EXPECT_NE(error_of([&] { load_item_codes(dir.path("neg.npy"), ds); }).find("must be >= 0"), std::string::npos);
  io::write_npy(dir.path("flat.npy"), codes.view(-1));
  EXPECT_NE(error_of([&] { load_item_codes(dir.path("flat.npy"), ds); }).find("2-d"), std::string::npos);
  write_text_atomic(dir.path("missing.json"), R"({"0": ["<a_1>", "<b_2>", "<c_3>"]})");
  EXPECT_NE(error_of([&] { load_item_codes(dir.path("missing.json"), ds); }).find("has no codes"), std::string::npos);
  EXPECT_THROW(load_item_codes("", ds), UsageError);

  auto rep = collision_stats(random_codes(20, {3, 3}, 1)).to_json();
  EXPECT_EQ(rep["items"], 20);
  EXPECT_GE(rep["items_in_collisions"].get<int64_t>(), 5);  // the planted groups at least
}

TEST(RecPrefixTable, MasksAdmitExactlyTheValidPrefixes) {
  const std::vector<int64_t> ks = {3, 4, 5};
  auto codes = random_codes(30, ks, 7);
  CodeVocab v(codes);
  PrefixTable t(v, torch::kCPU);
  ASSERT_EQ(t.levels(), 3);
  std::set<std::vector<int64_t>> tuples;
  std::set<std::vector<int64_t>> prefixes[4];
  for (int64_t i = 0; i < 30; ++i) {
    std::vector<int64_t> tk;
    for (int64_t l = 0; l < 3; ++l) tk.push_back(v.item_tokens()[i][l].item<int64_t>());
    tuples.insert(tk);
    for (int64_t l = 0; l <= 3; ++l) prefixes[l].insert(std::vector<int64_t>(tk.begin(), tk.begin() + l));
  }
  EXPECT_EQ(t.num_tuples(), static_cast<int64_t>(tuples.size()));
  for (int64_t l = 0; l <= 3; ++l) EXPECT_EQ(t.prefixes(l), static_cast<int64_t>(prefixes[l].size()));
  // Walk every token sequence over the levels' vocabularies: a path stays alive exactly as
  // long as its prefix belongs to some item.
  int64_t alive_leaves = 0;
  std::function<void(int64_t, int64_t, std::vector<int64_t>&)> walk = [&](int64_t l, int64_t node,
                                                                          std::vector<int64_t>& path) {
    if (l == 3) {
      EXPECT_TRUE(tuples.count(path));
      auto items = t.tuple_items(node);
      for (int64_t i : items)
        for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(v.item_tokens()[i][k].item<int64_t>(), path[k]);
      EXPECT_TRUE(std::is_sorted(items.begin(), items.end()));
      ++alive_leaves;
      return;
    }
    for (int64_t j = 0; j < v.level_size(l); ++j) {
      path.push_back(v.level_begin(l) + j);
      const bool ok = t.allowed(l)[node][j].item<bool>();
      EXPECT_EQ(ok, prefixes[l + 1].count(path) == 1) << "level " << l;
      EXPECT_EQ(t.child(l)[node][j].item<int64_t>() >= 0, ok);
      if (ok) walk(l + 1, t.child(l)[node][j].item<int64_t>(), path);
      path.pop_back();
    }
  };
  std::vector<int64_t> path;
  walk(0, 0, path);
  EXPECT_EQ(alive_leaves, static_cast<int64_t>(tuples.size()));
  // Collisions: items 4, 5, 6 share one tuple; the CSR lists all items exactly once.
  EXPECT_EQ(t.tuple_items(t.item_tuple()[4].item<int64_t>()), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(static_cast<int64_t>(t.tuple_item_ids().size()), 30);
}

// ---- model ------------------------------------------------------------------------------

TEST(RecT5, RelativePositionBucketsMatchHuggingFace) {
  // Hand-computed with HF's _relative_position_bucket (32 buckets, max distance 128).
  auto rel = torch::tensor({0, -1, 1, -7, -8, -20, -200, 200, 7}, torch::kInt64);
  auto bi = relative_position_bucket(rel, true, 32, 128);
  EXPECT_TRUE(torch::equal(bi, torch::tensor({0, 1, 17, 7, 8, 10, 15, 31, 23}, torch::kInt64))) << bi;
  auto causal = relative_position_bucket(torch::tensor({3, 0, -3, -16, -100, -1000}, torch::kInt64), false, 32, 128);
  EXPECT_TRUE(torch::equal(causal, torch::tensor({0, 0, 3, 16, 30, 31}, torch::kInt64))) << causal;
}

TEST(RecT5, InitialisationFollowsT5AndNormsSkipWeightDecay) {
  torch::manual_seed(0);
  T5Options o = tiny_t5(50);
  o.d_model = 64;
  o.d_ff = 256;
  o.d_kv = 16;
  o.heads = 4;
  T5 m(o);
  auto std_of = [](const torch::Tensor& t) { return t.std().item<double>(); };
  EXPECT_NEAR(std_of(m->shared->weight), 1.0, 0.05);
  auto& a = *m->named_modules()["encoder.0.self_attn"]->as<T5AttentionImpl>();
  EXPECT_NEAR(std_of(a.q->weight), 1.0 / std::sqrt(64.0 * 16.0), 0.005);
  EXPECT_NEAR(std_of(a.k->weight), 1.0 / 8.0, 0.01);
  EXPECT_NEAR(std_of(a.o->weight), 1.0 / 8.0, 0.01);
  EXPECT_TRUE(a.relative_attention_bias);
  EXPECT_FALSE(m->named_modules()["encoder.1.self_attn"]->as<T5AttentionImpl>()->relative_attention_bias);
  int64_t n_norm = 0;
  for (const auto& p : m->no_decay_parameters()) n_norm += p.numel();
  EXPECT_EQ(n_norm, 64 * (2 * 2 + 2 * 3 + 2));  // 2 norms/encoder block, 3/decoder block, 2 final
  EXPECT_EQ(m->decay_parameters().size() + m->no_decay_parameters().size(), m->parameters().size());
}

TEST(RecT5, KvCacheDecodingEqualsFullRecomputation) {
  SingleThread one;
  torch::manual_seed(3);
  T5 m(tiny_t5(20));
  m->eval();
  torch::NoGradGuard g;
  const int64_t B = 2, W = 3, steps = 4;
  auto input = torch::randint(3, 20, {B, 7}, torch::kInt64);
  auto mask = torch::ones({B, 7}, torch::kBool);
  mask[1].narrow(0, 4, 3).fill_(false);  // user 1 has 4 real tokens
  auto enc = m->encode(input, mask);
  DecoderCache cache = m->start_decoding(enc, mask, W);
  std::vector<std::vector<int64_t>> hist(B * W, std::vector<int64_t>{CodeVocab::kStart});
  auto gen = at::detail::createCPUGenerator(5);
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<int64_t> tok;
    for (auto& h : hist) tok.push_back(h.back());
    auto logits = m->decode_step(torch::tensor(tok, torch::kInt64), cache);  // (B*W, V)
    for (int64_t r = 0; r < B * W; ++r) {
      const int64_t b = r / W;
      auto dec = torch::tensor(hist[r], torch::kInt64).unsqueeze(0);
      auto full = m->logits(m->decode(dec, enc.narrow(0, b, 1), mask.narrow(0, b, 1)));  // (1, t+1, V)
      EXPECT_TRUE(torch::allclose(logits[r], full[0][t], 1e-4, 1e-5))
          << "step " << t << " row " << r << "\n" << logits[r] << full[0][t];
    }
    // Reorder beams within each user (as beam search does), then extend every row.
    std::vector<int64_t> index;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t w = 0; w < W; ++w) index.push_back(b * W + (w + t + 1) % W);
    T5Impl::reorder_cache(cache, torch::tensor(index, torch::kInt64));
    std::vector<std::vector<int64_t>> next;
    for (int64_t i : index) next.push_back(hist[i]);
    for (auto& h : next) h.push_back(torch::randint(3, 20, {1}, gen, torch::kInt64).item<int64_t>());
    hist = next;
  }
}

// ---- loss -------------------------------------------------------------------------------

TEST(RecLoss, GradientMatchesFiniteDifferencesAndFormula) {
  torch::manual_seed(11);
  const int64_t B = 2, T = 3, V = 6;
  auto labels = torch::tensor(std::vector<int64_t>{1, 4, kIgnoreLabel, 0, 5, 2}, torch::kInt64).view({B, T});
  auto allowed = torch::ones({T, V}, torch::kBool);
  allowed[0][2] = false;
  allowed[1][0] = false;
  allowed[1][3] = false;
  for (double tau : {0.7, 1.0, 2.5}) {
    for (bool masked : {false, true}) {
      auto z = torch::randn({B, T, V}, torch::kFloat64).requires_grad_(true);
      auto mk = masked ? allowed : torch::Tensor();
      auto loss = ranking_loss(z, labels, tau, mk);
      loss.backward();
      auto grad = z.grad().clone();
      // Central differences.
      auto zd = z.detach().clone();
      auto flat = zd.view(-1);
      const double eps = 1e-6;
      for (int64_t i = 0; i < flat.numel(); ++i) {
        const double x = flat[i].item<double>();
        flat[i] = x + eps;
        const double up = ranking_loss(zd, labels, tau, mk).item<double>();
        flat[i] = x - eps;
        const double dn = ranking_loss(zd, labels, tau, mk).item<double>();
        flat[i] = x;
        EXPECT_NEAR(grad.view(-1)[i].item<double>(), (up - dn) / (2 * eps), 1e-7)
            << "tau " << tau << " masked " << masked << " element " << i;
      }
      // Closed form: (softmax(z / tau) - onehot) / (tau * n) on the counted positions.
      auto zz = zd / tau;
      if (masked) zz = zz.masked_fill(allowed.logical_not().unsqueeze(0), -INFINITY);
      auto p = torch::softmax(zz, -1);
      auto valid = (labels != kIgnoreLabel);
      auto onehot = torch::zeros_like(p).scatter_(2, labels.clamp_min(0).unsqueeze(2), 1.0);
      auto expect = (p - onehot) * valid.unsqueeze(2).to(torch::kFloat64) / (tau * valid.sum().item<double>());
      EXPECT_TRUE(torch::allclose(grad, expect, 1e-9, 1e-12));
    }
  }
  // tau = 1 is plain cross-entropy.
  auto z = torch::randn({B, T, V}, torch::kFloat64);
  auto ce = torch::nll_loss(torch::log_softmax(z.view({-1, V}), -1), labels.view(-1), {}, at::Reduction::Mean,
                            kIgnoreLabel);
  EXPECT_NEAR(ranking_loss(z, labels, 1.0).item<double>(), ce.item<double>(), 1e-12);
}

// ---- beam search --------------------------------------------------------------------------

namespace {

struct RefBeam {
  std::vector<int64_t> tokens;
  double score;
};

// Teacher-forced full decoding (no cache) of every distinct item tuple for one user with
// history `hist`: tuple tokens -> float64 logits of its positions (one_target).
using TupleLogits = std::map<std::vector<int64_t>, torch::Tensor>;
TupleLogits full_decode_all(RecNetImpl& net, Arch arch, const CodeVocab& v, const std::vector<int64_t>& hist) {
  TupleLogits out;
  for (int64_t i = 0; i < v.num_items(); ++i) {
    auto t = item_tokens_of(v, i);
    if (!out.count(t)) out[t] = one_target(net, v, arch, hist, i).first.to(torch::kFloat64);
  }
  return out;
}

// Reference beam search on full-decoding logits (no cache, no prefix table): the allowed
// children of a prefix come from the item tuples directly.
std::vector<RefBeam> reference_beams(const CodeVocab& v, const TupleLogits& rows, int64_t W, bool renorm,
                                     SoftmaxMode mode, bool eos) {
  const int64_t L = v.levels();
  auto children = [&](const std::vector<int64_t>& prefix) {
    std::set<int64_t> c;
    for (const auto& kv : rows)
      if (std::equal(prefix.begin(), prefix.end(), kv.first.begin())) c.insert(kv.first[prefix.size()]);
    return c;
  };
  auto row_of = [&](const std::vector<int64_t>& prefix, int64_t l) {
    for (const auto& kv : rows)
      if (std::equal(prefix.begin(), prefix.end(), kv.first.begin())) return kv.second[l];
    throw std::runtime_error("no tuple");
  };
  std::vector<RefBeam> beams = {{{}, 0.0}};
  for (int64_t l = 0; l < L; ++l) {
    std::vector<RefBeam> cand;
    for (const auto& b : beams) {
      auto lpt = level_log_probs(row_of(b.tokens, l).unsqueeze(0), v, l, mode)[0].to(torch::kFloat64).contiguous();
      std::vector<double> lp(lpt.data_ptr<double>(), lpt.data_ptr<double>() + lpt.numel());
      auto ch = children(b.tokens);
      double lse = 0.0;
      if (renorm) {
        double mx = -INFINITY, sum = 0.0;
        for (int64_t c : ch) mx = std::max(mx, lp[c - v.level_begin(l)]);
        for (int64_t c : ch) sum += std::exp(lp[c - v.level_begin(l)] - mx);
        lse = mx + std::log(sum);
      }
      for (int64_t c : ch) {
        RefBeam nb = b;
        nb.tokens.push_back(c);
        nb.score += lp[c - v.level_begin(l)] - lse;
        cand.push_back(nb);
      }
    }
    std::stable_sort(cand.begin(), cand.end(), [](const RefBeam& a, const RefBeam& b) { return a.score > b.score; });
    if (static_cast<int64_t>(cand.size()) > W) cand.resize(W);
    beams = cand;
  }
  if (!renorm) {
    for (auto& b : beams)
      if (mode == SoftmaxMode::kAll && eos)
        b.score += torch::log_softmax(rows.at(b.tokens)[L], 0)[CodeVocab::kEos].item<double>();
    std::stable_sort(beams.begin(), beams.end(), [](const RefBeam& a, const RefBeam& b) { return a.score > b.score; });
  }
  return beams;
}

}  // namespace

TEST(RecBeamSearch, EqualsBruteForceEnumerationForSeveralBeamSizes) {
  SingleThread one;
  const std::vector<int64_t> ks = {3, 4, 5};
  auto codes = random_codes(40, ks, 9);
  CodeVocab v(codes);
  PrefixTable table(v, torch::kCPU);
  torch::NoGradGuard g;
  const std::vector<std::vector<int64_t>> hist = {{3}, {0, 7, 12, 30}, {39, 2, 2}};
  const int64_t B = 3;
  for (Arch arch : {Arch::kT5, Arch::kCausalT5, Arch::kDecoder}) {
    RecNet net = tiny_net(arch, v, 21);
    auto& m = net->generator();
    auto batch = make_history_batch(v, hist, 20, history_layout(arch));
    std::vector<TupleLogits> rows;
    for (int64_t b = 0; b < B; ++b) rows.push_back(full_decode_all(*net, arch, v, hist[b]));
    const bool eos = m.predicts_eos();
    for (SoftmaxMode mode : {SoftmaxMode::kAll, SoftmaxMode::kLevel}) {
      for (bool renorm : {true, false}) {
        for (int64_t W : {1, 2, 5, 64}) {
          BeamSearchOptions bo;
          bo.beam = W;
          bo.renormalize = renorm;
          bo.softmax = mode;
          BeamResult r = beam_search(m, v, table, batch.input, batch.mask, bo);
          ASSERT_EQ(r.tuples.size(0), B);
          ASSERT_EQ(r.tuples.size(1), W);
          for (int64_t b = 0; b < B; ++b) {
            auto ref = reference_beams(v, rows[b], W, renorm, mode, eos);
            std::string ctx = enum_name(arch) + " mode " + std::to_string(static_cast<int>(mode)) + " renorm " + std::to_string(renorm) +
                              " W " + std::to_string(W) + " user " + std::to_string(b);
            for (int64_t w = 0; w < W; ++w) {
              const int64_t t = r.tuples[b][w].item<int64_t>();
              if (w >= static_cast<int64_t>(ref.size())) {
                EXPECT_EQ(t, -1) << ctx;
                EXPECT_TRUE(std::isinf(r.scores[b][w].item<float>())) << ctx;
                continue;
              }
              ASSERT_GE(t, 0) << ctx;  // a valid item tuple, never an invalid one
              const int64_t item = table.tuple_items(t).front();
              for (int64_t l = 0; l < 3; ++l)
                EXPECT_EQ(v.item_tokens()[item][l].item<int64_t>(), ref[w].tokens[l]) << ctx << " beam " << w;
              EXPECT_NEAR(r.scores[b][w].item<float>(), ref[w].score, 2e-4) << ctx << " beam " << w;
            }
          }
          if (W == 64) {
            // Exhaustive beam = brute force over all items: the top-10 items (collisions
            // expanded in item order) are the 10 best sequence scores, ties by item id.
            auto items = expand_items(r, table, 10);
            for (int64_t b = 0; b < B; ++b) {
              auto ref = reference_beams(v, rows[b], 1000, renorm, mode, eos);
              std::map<std::vector<int64_t>, double> score;
              for (const auto& rb : ref) score[rb.tokens] = rb.score;
              std::vector<std::pair<double, int64_t>> all;
              for (int64_t i = 0; i < v.num_items(); ++i) {
                std::vector<int64_t> t;
                for (int64_t l = 0; l < 3; ++l) t.push_back(v.item_tokens()[i][l].item<int64_t>());
                all.push_back({-score.at(t), i});
              }
              std::sort(all.begin(), all.end());
              ASSERT_EQ(items[b].size(), 10u);
              for (int64_t j = 0; j < 10; ++j) {
                EXPECT_EQ(items[b][j].item, all[j].second) << "rank " << j;
                EXPECT_NEAR(items[b][j].score, -all[j].first, 2e-4);
              }
            }
          }
        }
      }
    }
  }
}

TEST(RecBeamSearch, CollidingTuplesExpandInItemOrder) {
  auto codes = torch::tensor({1, 1, 0, 0, 1, 1, 2, 2, 1, 1}, torch::kInt64).view({5, 2});  // 0, 2, 4 collide
  CodeVocab v(codes);
  PrefixTable t(v, torch::kCPU);
  BeamResult r;
  const int64_t shared = t.item_tuple()[2].item<int64_t>(), single = t.item_tuple()[3].item<int64_t>();
  r.tuples = torch::tensor(std::vector<int64_t>{shared, single, -1}, torch::kInt64).view({1, 3});
  r.scores = torch::tensor({-0.5f, -1.0f, -INFINITY}).view({1, 3});
  auto items = expand_items(r, t, 10);
  ASSERT_EQ(items[0].size(), 4u);
  EXPECT_EQ(items[0][0].item, 0);
  EXPECT_EQ(items[0][1].item, 2);
  EXPECT_EQ(items[0][2].item, 4);
  EXPECT_EQ(items[0][3].item, 3);
  EXPECT_FLOAT_EQ(items[0][2].score, -0.5f);
  EXPECT_FLOAT_EQ(items[0][3].score, -1.0f);
  EXPECT_EQ(expand_items(r, t, 2)[0].size(), 2u);
  std::vector<std::vector<int64_t>> excl = {{2, 3}};
  auto ex = expand_items(r, t, 10, &excl);
  ASSERT_EQ(ex[0].size(), 2u);
  EXPECT_EQ(ex[0][0].item, 0);
  EXPECT_EQ(ex[0][1].item, 4);
}

// ---- metrics ------------------------------------------------------------------------------

TEST(RecMetrics, CoveragePopularShareAndPopularityHandComputed) {
  // 10 items; lists of 3 users (top-2 counted).
  std::vector<std::vector<int64_t>> top = {{0, 1, 9}, {1, 2}, {5}};
  EXPECT_DOUBLE_EQ(coverage_at(top, 2, 10), 4.0 / 10.0);  // {0, 1, 2, 5}
  EXPECT_DOUBLE_EQ(coverage_at(top, 3, 10), 5.0 / 10.0);
  // Popularity: item 1 most popular, then 0 and 5 tie (smaller id first).
  auto pop = torch::tensor({5, 9, 0, 0, 0, 5, 0, 0, 0, 1}, torch::kInt64);
  // Top 10% of 10 items = {1}; top-2 lists hold 5 items, 2 of them item 1.
  EXPECT_DOUBLE_EQ(popular_share_at(top, 2, pop, 0.1), 2.0 / 5.0);
  // Top 20% = {1, 0}: items 0, 1, 1 of 5.
  EXPECT_DOUBLE_EQ(popular_share_at(top, 2, pop, 0.2), 3.0 / 5.0);
  Dataset ds;
  ds.name = "hand";
  ds.sequences = {{0, 1, 2, 3, 4}, {1, 0, 4, 2}};
  ds.user_ids = {"a", "b"};
  ds.item_ids = {"0", "1", "2", "3", "4"};
  // Training part = all but the last two items: {0, 1, 2} and {1, 0}.
  EXPECT_TRUE(torch::equal(train_popularity(ds), torch::tensor({2, 2, 1, 0, 0}, torch::kInt64)));
}

TEST(RecMetrics, BeamRanksEqualFullRankingOfBruteForceScores) {
  SingleThread one;
  // With an exhaustive beam, rank_samples' item ranks must equal letter::target_ranks over
  // the brute-force sequence scores of all items (ties by item id: collisions).
  Dataset ds;
  ds.name = "rand";
  auto gen = at::detail::createCPUGenerator(4);
  for (int u = 0; u < 6; ++u) {
    ds.sequences.push_back({});
    for (int j = 0; j < 6; ++j) ds.sequences.back().push_back(torch::randint(0, 30, {1}, gen, torch::kInt64).item<int64_t>());
    ds.user_ids.push_back(std::to_string(u));
  }
  for (int i = 0; i < 30; ++i) ds.item_ids.push_back(std::to_string(i));
  RecommenderOptions ro = test::tiny_recommender_options();
  ro.dropout = 0.0;
  ro.rel_buckets = 8;
  ro.rel_max_distance = 16;
  ItemCodes codes;
  codes.codes = random_codes(30, {3, 4}, 2);
  Recommender rec(ro, codes, torch::kCPU, 1);
  Split split = leave_one_out(ds, 20);
  letter::RankOptions opt;
  opt.beam = 64;
  opt.top_k = 30;
  letter::Ranking r = rank_samples(rec, ds, split.test, 20, opt);
  // Brute force: score of every item for every test user from the exhaustive beam's tuples.
  torch::NoGradGuard g;
  rec.net->eval();
  std::vector<int64_t> idx(split.test.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto b = make_rec_batch(ds, rec.vocab, split.test, idx, 20);
  BeamResult br = beam_search(rec.net->generator(), rec.vocab, rec.table, b.input, b.mask, rec.search_options(64));
  auto scores = torch::full({static_cast<int64_t>(idx.size()), 30}, -INFINITY);
  for (size_t u = 0; u < idx.size(); ++u)
    for (int64_t w = 0; w < br.tuples.size(1); ++w) {  // the beam is capped at the tuple count
      const int64_t t = br.tuples[u][w].item<int64_t>();
      if (t < 0) continue;
      for (int64_t i : rec.table.tuple_items(t)) scores[u][i] = br.scores[u][w];
    }
  auto expect = target_ranks(scores, b.targets);
  EXPECT_TRUE(torch::equal(r.item_ranks, expect)) << r.item_ranks << expect;
  // Tuple-level ranks never exceed item-level ones.
  EXPECT_TRUE((r.tuple_ranks <= r.item_ranks).all().item<bool>());
}

// ---- all-positions training (recommender.arch = causal_t5 | decoder) -----------------------

namespace {

// Row of training_logits that holds window-position k (>= 1) of batch row r.
int64_t window_row(const RecBatch& b, Arch arch, int64_t r, int64_t k, int64_t L) {
  const int64_t per_row = arch == Arch::kDecoder ? b.labels.size(1) / L : b.labels.size(1) / (L + 1);
  return r * per_row + (arch == Arch::kDecoder ? k : k - 1);
}

}  // namespace

TEST(RecAllPositions, WindowsHoldEveryTrainingTargetOnceWithItsHistory) {
  Dataset ds = random_dataset(40, 30, 30, 5);
  for (int64_t M : {1, 3, 20}) {
    const auto windows = training_windows(ds, M);
    const Split split = leave_one_out(ds, M);
    std::map<std::pair<int64_t, int64_t>, int64_t> seen;  // (user, target position) -> history start
    for (const auto& w : windows) {
      EXPECT_GE(w.targets(), 1);
      EXPECT_LE(w.end - w.begin, M + 1) << "window longer than max_history + 1";
      EXPECT_LE(w.end, static_cast<int64_t>(ds.sequences[w.user].size()) - 2) << "window reaches valid/test";
      for (int64_t j = w.begin + 1; j < w.end; ++j) EXPECT_TRUE(seen.emplace(std::make_pair(w.user, j), w.begin).second);
    }
    ASSERT_EQ(seen.size(), split.train.size()) << "M " << M;
    for (const auto& s : split.train) {
      auto it = seen.find({s.user, s.pos});
      ASSERT_NE(it, seen.end()) << "user " << s.user << " pos " << s.pos;
      const int64_t m = static_cast<int64_t>(ds.sequences[s.user].size()) - 2;
      // The window's history is a suffix of the per-prefix history, and equal to it when
      // the user's training part fits one window.
      EXPECT_GE(it->second, s.pos - history_length(s, M));
      if (m <= M + 1) {
        EXPECT_EQ(it->second, s.pos - history_length(s, M));
      }
    }
    TrainingSet t(ds, CodeVocab(random_codes(30, {3, 4}, 1)), Arch::kDecoder, M);
    EXPECT_EQ(t.targets(), static_cast<int64_t>(split.train.size()));
    std::vector<int64_t> count(windows.size(), 0);
    for (const auto& b : t.batches(16, 3))
      for (int64_t i : b) ++count[i];
    EXPECT_TRUE(std::all_of(count.begin(), count.end(), [](int64_t c) { return c == 1; })) << "every window once";
  }
}

TEST(RecAllPositions, WindowLossEqualsPerTargetPasses) {
  SingleThread one;
  torch::NoGradGuard g;
  Dataset ds = random_dataset(7, 30, 14, 8);
  CodeVocab v(random_codes(30, {3, 4, 5}, 2));
  const int64_t L = v.levels();
  auto allowed = softmax_mask(v, SoftmaxMode::kLevel, torch::kCPU);
  for (Arch arch : {Arch::kCausalT5, Arch::kDecoder}) {
    RecNet net = tiny_net(arch, v, 4);
    // M = 20: one window per user, every target sees its per-prefix history (the paths must
    // agree exactly); M = 3: several windows per user.
    for (int64_t M : {20, 3}) {
      const auto windows = training_windows(ds, M);
      std::vector<int64_t> idx(windows.size());
      std::iota(idx.begin(), idx.end(), 0);
      RecBatch b = make_window_batch(ds, v, windows, idx, arch);
      auto [logits, labels] = net->training_logits(b);
      std::vector<torch::Tensor> ref_logits, ref_labels;
      int64_t targets = 0;
      for (size_t r = 0; r < windows.size(); ++r) {
        const auto& w = windows[r];
        const auto& seq = ds.sequences[w.user];
        for (int64_t k = 1; k < w.end - w.begin; ++k, ++targets) {
          std::vector<int64_t> hist(seq.begin() + w.begin, seq.begin() + w.begin + k);
          auto [rl, rlab] = one_target(*net, v, arch, hist, seq[w.begin + k]);
          const int64_t row = window_row(b, arch, static_cast<int64_t>(r), k, L);
          const std::string ctx = enum_name(arch) + " M " + std::to_string(M) + " window " + std::to_string(r) +
                                  " target " + std::to_string(k);
          EXPECT_TRUE(torch::equal(labels[row], rlab)) << ctx << "\n" << labels[row] << rlab;
          EXPECT_TRUE(torch::allclose(logits[row], rl, 1e-4, 1e-5)) << ctx;
          ref_logits.push_back(rl);
          ref_labels.push_back(rlab);
        }
      }
      EXPECT_EQ(b.samples, targets);
      // Every other row is padding: all labels ignored.
      EXPECT_EQ((labels != kIgnoreLabel).sum().item<int64_t>(), targets * labels.size(1));
      const auto mask = arch == Arch::kDecoder ? allowed.narrow(0, 0, L) : allowed;
      const double window_loss = ranking_loss(logits, labels, 0.7, mask).item<double>();
      const double ref_loss = ranking_loss(torch::stack(ref_logits), torch::stack(ref_labels), 0.7, mask).item<double>();
      EXPECT_NEAR(window_loss, ref_loss, 1e-5 * ref_loss) << enum_name(arch) << " M " << M;
    }
  }
}

TEST(RecAllPositions, NoTargetSeesItsOwnItemOrALaterOne) {
  SingleThread one;
  torch::NoGradGuard g;
  CodeVocab v(random_codes(30, {3, 4, 5}, 2));
  const int64_t L = v.levels();
  Dataset ds;
  ds.name = "one";
  ds.sequences = {{3, 8, 11, 2, 20, 27, 14, 9, 5}};  // training part: 7 items, 6 targets
  ds.user_ids = {"0"};
  for (int64_t i = 0; i < 30; ++i) ds.item_ids.push_back(std::to_string(i));
  for (Arch arch : {Arch::kCausalT5, Arch::kDecoder}) {
    RecNet net = tiny_net(arch, v, 6);
    const auto windows = training_windows(ds, 20);
    ASSERT_EQ(windows.size(), 1u);
    auto logits_of = [&](const Dataset& d) {
      return net->training_logits(make_window_batch(d, v, windows, {0}, arch)).first;
    };
    auto base = logits_of(ds);
    for (int64_t k = 1; k < 7; ++k) {
      Dataset changed = ds;
      // An item whose codes differ from the original's at every level.
      int64_t other = 0;
      while (true) {
        bool all_differ = true;
        for (int64_t l = 0; l < L; ++l)
          all_differ = all_differ && v.codes()[other][l].item<int64_t>() != v.codes()[ds.sequences[0][k]][l].item<int64_t>();
        if (all_differ) break;
        ++other;
      }
      changed.sequences[0][k] = other;
      auto after = logits_of(changed);
      const std::string ctx = enum_name(arch) + ": item at window position " + std::to_string(k) + " changed";
      for (int64_t j = 1; j < k; ++j) {
        const int64_t row = window_row(make_window_batch(ds, v, windows, {0}, arch), arch, 0, j, L);
        EXPECT_TRUE(torch::allclose(after[row], base[row], 0.0, 1e-6)) << ctx << ", target " << j << " moved";
      }
      // The changed target's own first code is predicted without seeing it.
      const int64_t row = window_row(make_window_batch(ds, v, windows, {0}, arch), arch, 0, k, L);
      EXPECT_TRUE(torch::allclose(after[row][0], base[row][0], 0.0, 1e-6)) << ctx << ", its first code moved";
      // ... and the change is visible to the targets after it (the test can fail).
      if (k + 1 < 7) {
        const int64_t next = window_row(make_window_batch(ds, v, windows, {0}, arch), arch, 0, k + 1, L);
        EXPECT_FALSE(torch::allclose(after[next][0], base[next][0], 0.0, 1e-6)) << ctx << ", next target did not move";
      }
    }
  }
}

TEST(RecAllPositions, DecoderKvCacheWithLeftPaddingEqualsFullRecomputation) {
  SingleThread one;
  torch::NoGradGuard g;
  CodeVocab v(random_codes(30, {3, 4, 5}, 2));
  RecNet net = tiny_net(Arch::kDecoder, v, 9);
  const std::vector<std::vector<int64_t>> hist = {{4}, {0, 7, 12, 29, 3}, {19, 2}};
  auto batch = make_history_batch(v, hist, 20, history_layout(Arch::kDecoder));
  const int64_t B = 3, W = 2;
  DecoderCache cache;
  auto logits = net->lm->prefill(batch.input, batch.mask, cache);  // (B, V)
  std::vector<std::vector<int64_t>> rows;
  for (const auto& h : hist) rows.push_back(encode_history(v, h, history_layout(Arch::kDecoder)));
  auto full_last = [&](const std::vector<int64_t>& tokens) {
    auto t = torch::tensor(tokens, torch::kInt64).unsqueeze(0);
    auto h = net->lm->forward(t, torch::ones_like(t, torch::kBool));
    return net->lm->logits(h)[0][tokens.size() - 1];
  };
  for (int64_t b = 0; b < B; ++b) EXPECT_TRUE(torch::allclose(logits[b], full_last(rows[b]), 1e-4, 1e-5)) << "prefill " << b;
  // W beams per user with different continuations, reordered between steps.
  std::vector<std::vector<int64_t>> beams;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t w = 0; w < W; ++w) beams.push_back(rows[b]);
  cache.beams = 1;
  auto gen = at::detail::createCPUGenerator(5);
  std::vector<int64_t> index;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t w = 0; w < W; ++w) index.push_back(b);
  GenerativeModel::reorder_cache(cache, torch::tensor(index, torch::kInt64));
  cache.beams = W;
  for (int64_t t = 0; t < 3; ++t) {
    std::vector<int64_t> tok;
    for (auto& r : beams) {
      r.push_back(torch::randint(3, v.size(), {1}, gen, torch::kInt64).item<int64_t>());
      tok.push_back(r.back());
    }
    auto out = net->lm->step(torch::tensor(tok, torch::kInt64), cache);  // (B*W, V)
    for (int64_t r = 0; r < B * W; ++r)
      EXPECT_TRUE(torch::allclose(out[r], full_last(beams[r]), 1e-4, 1e-5)) << "step " << t << " row " << r;
    std::vector<int64_t> perm;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t w = 0; w < W; ++w) perm.push_back(b * W + (w + 1) % W);
    GenerativeModel::reorder_cache(cache, torch::tensor(perm, torch::kInt64));
    std::vector<std::vector<int64_t>> next;
    for (int64_t i : perm) next.push_back(beams[i]);
    beams = next;
  }
}

// ---- training -----------------------------------------------------------------------------

TEST(RecTrain, TinyMemorisesTrainingHistoriesAndBeatsPopularity) {
  // The first 60 users of data/tiny (420 training samples) keep the runtime small.
  SingleThread one;
  Dataset ds = tiny_users(60);
  for (const char* arch : {"t5", "causal_t5", "decoder"}) {
    SCOPED_TRACE(arch);
    Config cfg = tiny_config(15);
    cfg.recommender.arch = parse_enum<Arch>(arch, "arch");
    cfg.recommender.dropout = 0.0;
    cfg.recommender.lr = 3e-3;
    cfg.recommender.batch_size = 32;
    cfg.recommender.eval_every = 15;
    cfg.recommender.valid_users = 20;
    Recommender rec(cfg.recommender, tiny_item_codes(ds), torch::kCPU, 42);
    TrainResult res = train_rec(rec, cfg, ds);
    ASSERT_EQ(static_cast<int64_t>(res.history.size()), 15);
    EXPECT_LT(res.history.back().loss, 0.5 * res.history.front().loss);
    // Recall@10 on its own training histories.
    Split split = leave_one_out(ds, 20);
    letter::RankOptions ro;
    ro.beam = 20;
    ro.top_k = 20;
    letter::Ranking tr = rank_samples(rec, ds, split.train, 20, ro);
    const double train_r10 = ranking_metrics(tr.item_ranks, {10})["recall@10"].get<double>();
    EXPECT_GE(train_r10, 0.9) << "train recall@10";
    // Test: clearly above the popularity ranking.
    cfg.eval.ks = {10};
    nlohmann::json m = evaluate_generative(rec, ds, cfg.eval, cfg.data.max_history, cfg.recommender.beam_scores, static_cast<uint64_t>(cfg.seed));
    const double test_r10 = m["metrics"]["recall@10"].get<double>();
    const double pop_r10 = m["baseline_popularity"]["recall@10"].get<double>();
    EXPECT_GT(test_r10, 2.0 * pop_r10) << m.dump(2);
    EXPECT_GT(test_r10, pop_r10 + 0.08) << m.dump(2);
    EXPECT_EQ(m["collisions"]["colliding_groups"], 0);
    RecordProperty(std::string(arch) + "_train_recall10", std::to_string(train_r10));
    RecordProperty(std::string(arch) + "_test_recall10", std::to_string(test_r10));
    RecordProperty("popularity_recall10", std::to_string(pop_r10));
  }
}

TEST(RecBeamSearch, Bfloat16TopTenMatchesFloat32OnATrainedModel) {
  if (!compat::fast_bf16(torch::kCPU)) GTEST_SKIP() << "no AMX / AVX512-BF16: eval.bf16 decodes in float32 here";
  SingleThread one;
  Dataset ds = tiny_users(200);
  const Split split = leave_one_out(ds, 20);
  for (const char* arch : {"t5", "decoder"}) {
    SCOPED_TRACE(arch);
    Config cfg = tiny_config(12);
    cfg.recommender.arch = parse_enum<Arch>(arch, "arch");
    cfg.recommender.eval_every = 12;
    Recommender rec(cfg.recommender, tiny_item_codes(ds), torch::kCPU, 42);
    train_rec(rec, cfg, ds);
    letter::RankOptions ro;
    ro.beam = 20;
    ro.top_k = 10;
    ro.keep_top = true;
    letter::Ranking f = rank_samples(rec, ds, split.test, 20, ro);
    ro.bf16 = true;
    letter::Ranking h = rank_samples(rec, ds, split.test, 20, ro);
    int64_t same = 0, same_order = 0;
    for (size_t u = 0; u < split.test.size(); ++u) {
      std::vector<int64_t> a, b;
      for (const auto& x : f.top[u]) a.push_back(x.item);
      for (const auto& x : h.top[u]) b.push_back(x.item);
      same_order += a == b;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      same += a == b;
    }
    const double share = static_cast<double>(same) / static_cast<double>(split.test.size());
    EXPECT_GE(share, 0.95) << same << " of " << split.test.size() << " users have the same top-10 items";
    RecordProperty(std::string(arch) + "_same_top10", std::to_string(share));
    RecordProperty(std::string(arch) + "_same_top10_order", std::to_string(same_order));
    // bfloat16 was in effect: some scores differ.
    bool differ = false;
    for (size_t u = 0; u < split.test.size() && !differ; ++u)
      for (size_t j = 0; j < std::min(f.top[u].size(), h.top[u].size()); ++j)
        differ = differ || f.top[u][j].score != h.top[u][j].score;
    EXPECT_TRUE(differ);
  }
}

namespace {
// Three epochs of a 32-wide model on batches of 32: the short training runs below.
Config small_train_config() {
  Config cfg = tiny_config(3);
  cfg.recommender.d_model = 32;
  cfg.recommender.d_ff = 64;
  cfg.recommender.heads = 2;
  cfg.recommender.batch_size = 32;
  cfg.recommender.valid_users = 20;
  return cfg;
}
}  // namespace

TEST(RecTrain, DeterministicAndResumeEqualsUninterrupted) {
  SingleThread one;
  Dataset ds = tiny_users(40);
  auto codes = tiny_item_codes(ds);
  for (const char* arch : {"t5", "causal_t5", "decoder"}) {
    SCOPED_TRACE(arch);
    Config cfg = small_train_config();
    cfg.recommender.arch = parse_enum<Arch>(arch, "arch");
    test::TempDir dir;
    auto train = [&](const std::string& out, bool resume, int64_t stop_after) {
      Recommender rec(cfg.recommender, codes, torch::kCPU, static_cast<uint64_t>(cfg.seed));
      TrainHooks hooks;
      if (stop_after > 0) hooks.after_epoch = [=](const EpochStats& s) { return s.epoch < stop_after; };
      TrainResult res = train_rec(rec, cfg, ds, out, resume, hooks);
      return std::make_pair(rec, res);
    };
    auto [a, ra] = train(dir.path("a"), false, 0);
    auto [b, rb] = train(dir.path("b"), false, 0);
    auto pa = a.net->parameters(), pb = b.net->parameters();
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "determinism, parameter " << i;
    // Interrupted after epoch 1, then resumed.
    auto [c1, rc1] = train(dir.path("c"), false, 1);
    EXPECT_TRUE(rc1.interrupted);
    EXPECT_EQ(rc1.history.size(), 1u);
    auto [c, rc] = train(dir.path("c"), true, 0);
    ASSERT_EQ(rc.history.size(), ra.history.size());
    for (size_t e = 0; e < ra.history.size(); ++e) {
      EXPECT_DOUBLE_EQ(rc.history[e].loss, ra.history[e].loss) << "epoch " << e + 1;
      EXPECT_DOUBLE_EQ(rc.history[e].valid_ndcg10, ra.history[e].valid_ndcg10) << "epoch " << e + 1;
    }
    EXPECT_EQ(rc.best_epoch, ra.best_epoch);
    auto pc = c.net->parameters();
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pc[i])) << "resume, parameter " << i;
    // The saved best model equals the restored one.
    Recommender loaded = Recommender::load(dir.path("a/recommender.pt"), torch::kCPU);
    auto pl = loaded.net->parameters();
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pl[i])) << "saved best, parameter " << i;
    // Resuming a finished run changes nothing; a different config is refused.
    auto [d, rd] = train(dir.path("a"), true, 0);
    EXPECT_EQ(rd.history.size(), 3u);
    auto pd = d.net->parameters();
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pd[i]));
    cfg.recommender.lr = 1e-3;
    EXPECT_NE(error_of([&] { train(dir.path("a"), true, 0); }).find("recommender.lr differ"), std::string::npos);
    EXPECT_NE(error_of([&] { train(dir.path("none"), true, 0); }).find("not found"), std::string::npos);
  }
}

TEST(RecTrain, Bfloat16AutocastOnTheCpuTracksFloat32) {
  if (!compat::fast_bf16(torch::kCPU)) GTEST_SKIP() << "no AMX / AVX512-BF16: recommender.bf16 trains in float32 here";
  SingleThread one;
  Dataset ds = tiny_users(40);
  Config cfg = small_train_config();
  auto codes = tiny_item_codes(ds);
  auto train = [&](bool bf16) {
    cfg.recommender.bf16 = bf16;
    Recommender rec(cfg.recommender, codes, torch::kCPU, 42);
    TrainResult res = train_rec(rec, cfg, ds);
    return std::make_pair(rec, res);
  };
  auto [f, rf] = train(false);
  auto [h, rh] = train(true);
  ASSERT_EQ(rf.history.size(), rh.history.size());
  for (size_t e = 0; e < rf.history.size(); ++e)
    EXPECT_NEAR(rh.history[e].loss, rf.history[e].loss, 0.05 * rf.history[e].loss) << "epoch " << e + 1;
  EXPECT_LT(rh.history.back().loss, rh.history.front().loss);
  // bfloat16 products were in effect (otherwise the weights would be equal), and the
  // weights stay float32.
  auto pf = f.net->parameters(), ph = h.net->parameters();
  bool differ = false;
  for (size_t i = 0; i < pf.size(); ++i) {
    EXPECT_EQ(ph[i].scalar_type(), torch::kFloat32);
    differ = differ || !torch::equal(pf[i], ph[i]);
  }
  EXPECT_TRUE(differ);
}

// ---- CLI ----------------------------------------------------------------------------------

TEST(RecCli, TrainEvaluateRecommendAndBadInputs) {
  SingleThread one;
  test::TempDir dir;
  ensure_dir(dir.path("data"));
  Dataset ds = tiny_users(80, dir.path("data"));  // data/tiny's first 80 users, all items
  auto codes = tiny_codes(ds);
  write_index_json(dir.path("tiny.index.json"), codes, ds);
  const std::string run = dir.path("run");
  std::vector<std::string> common = {"--quiet", "--threads", "1", "--set", "data.path=" + dir.path("data"),
                                     "--set", "data.kcore=0",
                                     "--set", "recommender.codes=" + dir.path("tiny.index.json"),
                                     "--set", "recommender.encoder_layers=1", "--set", "recommender.decoder_layers=1",
                                     "--set", "recommender.d_model=32", "--set", "recommender.heads=2",
                                     "--set", "recommender.d_kv=16", "--set", "recommender.d_ff=64",
                                     "--set", "recommender.epochs=2", "--set", "recommender.batch_size=64",
                                     "--set", "recommender.valid_users=20", "--set", "eval.bootstrap=50"};
  auto with = [&](std::vector<std::string> a) {
    a.insert(a.end(), common.begin(), common.end());
    return a;
  };
  auto r = run_cli(with({"train-recommender", "--out", run}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(path_exists(run + "/recommender.pt"));
  EXPECT_TRUE(path_exists(run + "/recommender.last.pt"));
  auto summary = read_json_file(run + "/train_summary.json");
  EXPECT_EQ(summary["epochs"].size(), 2u);
  EXPECT_EQ(summary["collisions"]["colliding_groups"], 0);

  // evaluate with only --out: the run's config.json supplies data and codes.
  r = run_cli({"evaluate", "--out", run, "--quiet", "--threads", "1", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = read_json_file(run + "/metrics.json");
  EXPECT_EQ(m["users"], 80);
  for (const char* k : {"recall@1", "recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20"})
    EXPECT_TRUE(m["metrics"].contains(k)) << k;
  EXPECT_TRUE(m["metrics"]["ci95"].contains("ndcg@10"));
  EXPECT_TRUE(m.contains("coverage@10"));
  EXPECT_TRUE(m.contains("popular10_share@10"));
  EXPECT_EQ(nlohmann::json::parse(r.out)["users"], 80);

  // recommend: good lines, an unknown item, malformed JSON, an unknown user, bad k.
  const std::string in = dir.file("req.jsonl",
                                  "{\"user\": \"0\", \"id\": \"a\"}\n"
                                  "{\"items\": [\"287\", 405], \"k\": 3}\n"
                                  "{\"items\": [\"287\", \"99999\"]}\n"
                                  "{not json\n"
                                  "\n"
                                  "{\"user\": \"nobody\"}\n"
                                  "{\"items\": [\"1\"], \"k\": 0}\n"
                                  "[1, 2]\n"
                                  "{\"user\": \"1\", \"items\": [\"1\"]}\n");
  r = run_cli({"recommend", "--out", run, "--input", in, "--quiet", "--threads", "1", "-k", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<nlohmann::json> lines;
  std::istringstream ss(r.out);
  std::string line;
  while (std::getline(ss, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 8u) << r.out;
  EXPECT_EQ(lines[0]["id"], "a");
  EXPECT_EQ(lines[0]["user"], "0");
  ASSERT_EQ(lines[0]["recommendations"].size(), 5u);
  EXPECT_TRUE(lines[0]["recommendations"][0].contains("title"));
  EXPECT_GE(lines[0]["recommendations"][0]["score"].get<double>(), lines[0]["recommendations"][4]["score"].get<double>());
  EXPECT_EQ(lines[1]["recommendations"].size(), 3u);
  EXPECT_NE(lines[2]["error"].get<std::string>().find("unknown item id \"99999\""), std::string::npos);
  EXPECT_EQ(lines[2]["line"], 3);
  EXPECT_NE(lines[3]["error"].get<std::string>().find("malformed JSON"), std::string::npos);
  EXPECT_EQ(lines[4]["line"], 6);  // the blank line 5 is skipped
  EXPECT_NE(lines[4]["error"].get<std::string>().find("unknown user id"), std::string::npos);
  EXPECT_NE(lines[5]["error"].get<std::string>().find("\"k\""), std::string::npos);
  EXPECT_NE(lines[6]["error"].get<std::string>().find("JSON object"), std::string::npos);
  EXPECT_NE(lines[7]["error"].get<std::string>().find("exactly one"), std::string::npos);

  // Bad inputs of train-recommender.
  r = run_cli(with({"train-recommender"}));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
  io::write_npy(dir.path("short.npy"), codes.narrow(0, 0, 10));
  auto bad = with({"train-recommender", "--out", dir.path("bad")});
  bad.insert(bad.end(), {"--set", "recommender.codes=" + dir.path("short.npy")});
  r = run_cli(bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("codes have 10 rows, dataset tiny has 407 items"), std::string::npos) << r.err;
  r = run_cli(with({"train-recommender", "--out", dir.path("fresh"), "--resume"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no completed epoch"), std::string::npos) << r.err;
  r = run_cli(with({"train-recommender", "--out", dir.path("x"), "--set", "recommender.softmax=words"}));
  EXPECT_EQ(r.code, 2);
  r = run_cli({"evaluate", "--model", dir.path("nothing.pt"), "--quiet"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
  r = run_cli({"recommend", "--out", run, "--input", dir.path("absent.jsonl"), "--quiet"});
  EXPECT_EQ(r.code, 1);
  // A model evaluated on a dataset with a different item count.
  r = run_cli({"evaluate", "--out", run, "--quiet", "--set", "data.kcore=2"});  // drops rare items
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("items"), std::string::npos) << r.err;
}
