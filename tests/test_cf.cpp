// Tests for SASRec (cf) and the full-ranking evaluator (eval): causality of the network,
// evaluator metrics against hand-computed ranks, no leakage of the valid/test targets into
// training windows, learning on the bundled tiny data (beats popularity), determinism,
// resume == uninterrupted, the CLI, and every bad-input path.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "cli/app.h"
#include "letter/cf/linear_ce.h"
#include "letter/cf/sasrec.h"
#include "letter/cf/trainer.h"
#include "letter/common/checkpoint.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/dataset.h"
#include "letter/data/split.h"
#include "letter/eval/full_ranking.h"
#include "letter/eval/metrics.h"
#include "letter/eval/sasrec.h"
#include "letter/io/npy.h"
#include "test_util.h"

using namespace letter;
using test::run_cli;
using test::error_of;

namespace {

Dataset small_dataset(std::vector<std::vector<int64_t>> seqs, int64_t n_items) {
  Dataset ds;
  ds.name = "small";
  ds.sequences = std::move(seqs);
  for (size_t u = 0; u < ds.sequences.size(); ++u) ds.user_ids.push_back("u" + std::to_string(u));
  for (int64_t i = 0; i < n_items; ++i) ds.item_ids.push_back("i" + std::to_string(i));
  return ds;
}

const Dataset& tiny() {
  static Dataset ds = [] {
    DataOptions o;
    o.path = test::tiny_dir();
    return load_dataset(o);
  }();
  return ds;
}

/// Small, fast settings on the tiny data (600 users, 407 items).
Config tiny_config(int64_t epochs) {
  Config c;
  c.data.path = test::tiny_dir();
  c.cf.hidden = 32;
  c.cf.heads = 2;
  c.cf.max_len = 20;
  c.cf.epochs = epochs;
  c.cf.batch_size = 64;
  c.cf.patience = 1000;
  c.cf.lr = 3e-3;
  c.eval.bootstrap = 0;
  return c;
}

/// What `letter train-cf` does through the library: SASRec with c.cf, early-stopped on the
/// validation NDCG@10 of eval's full ranking, then the best model's valid and test metrics.
struct Trained : CfResult {
  nlohmann::json valid, test;
};
RunEnv cf_env(const std::string& out = "", bool resume = false) {
  RunEnv e;
  e.out = out;
  e.resume = resume;
  return e;
}
Trained train(const Dataset& ds, const Config& c, RunEnv env = {}) {
  env.seed = static_cast<uint64_t>(c.seed);
  env.config = c.to_json();
  const Split split = leave_one_out(ds, c.cf.max_len);
  Trained t;
  static_cast<CfResult&>(t) = train_sasrec(ds, c.cf, env, sasrec_validator(ds, split.valid, c.eval, env.device));
  const uint64_t seed = derive_seed(env.seed, "cf.bootstrap");
  t.valid = evaluate_sasrec(t.model, ds, split.valid, c.eval, env.device, c.eval.bootstrap, seed);
  t.test = evaluate_sasrec(t.model, ds, split.test, c.eval, env.device, c.eval.bootstrap, seed);
  return t;
}

CfOptions model_options(int64_t hidden, int64_t heads, int64_t max_len) {
  CfOptions o;
  o.hidden = hidden;
  o.heads = heads;
  o.max_len = max_len;
  o.blocks = 2;
  o.dropout = 0.3;
  return o;
}


/// Training tests run single-threaded: the tiny model's ops are far too small to gain from
/// intra-op threads, and on a loaded machine OpenMP barriers between two threads can slow
/// them down by orders of magnitude. The previous thread count is restored afterwards.
class OneThread : public ::testing::Test {
 protected:
  void SetUp() override {
    threads_ = torch::get_num_threads();
    torch::set_num_threads(1);
  }
  void TearDown() override { torch::set_num_threads(threads_); }

 private:
  int threads_ = 1;
};
class SasRecNet : public OneThread {};
class CfLossFn : public OneThread {};
class CfData : public OneThread {};
class FullRanking : public OneThread {};
class CfTrain : public OneThread {};
class CfErrors : public OneThread {};
class CfCli : public OneThread {};

}  // namespace

// ------------------------------------------------------------------------------------------
// The network.

TEST_F(SasRecNet, CausalFutureItemsDoNotChangeEarlierOutputs) {
  torch::manual_seed(1);
  SasRec m(30, model_options(16, 2, 8));
  m->eval();
  auto a = torch::tensor({{3, 7, 1, 9, 12, 4}, {5, 5, 2, 30, 8, 11}}, torch::kInt64);
  auto b = a.clone();
  b[0][4] = 20;  // change a future item of row 0 at position 4
  b[1][2] = 17;  // and of row 1 at position 2
  auto ha = m->forward(a), hb = m->forward(b);
  ASSERT_EQ(ha.sizes(), (std::vector<int64_t>{2, 6, 16}));
  EXPECT_TRUE(torch::allclose(ha[0].narrow(0, 0, 4), hb[0].narrow(0, 0, 4), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(ha[1].narrow(0, 0, 2), hb[1].narrow(0, 0, 2), 0, 1e-6));
  // ... while the changed position and everything after it do change.
  for (int64_t t = 4; t < 6; ++t) EXPECT_GT((ha[0][t] - hb[0][t]).abs().max().item<float>(), 1e-3) << t;
  for (int64_t t = 2; t < 6; ++t) EXPECT_GT((ha[1][t] - hb[1][t]).abs().max().item<float>(), 1e-3) << t;
}

TEST_F(SasRecNet, PrefixAndPaddingInvariance) {
  // The output at t equals the output of the prefix of length t + 1 alone, and right padding
  // of any width changes no real position (what makes batch-max padding exact).
  torch::manual_seed(2);
  SasRec m(30, model_options(8, 1, 10));
  m->eval();
  auto full = torch::tensor({{4, 8, 15, 16, 23, 29}}, torch::kInt64);
  auto h = m->forward(full);
  for (int64_t len = 1; len <= 6; ++len) {
    auto hp = m->forward(full.narrow(1, 0, len));
    EXPECT_TRUE(torch::allclose(hp[0][len - 1], h[0][len - 1], 0, 1e-5)) << "prefix " << len;
    auto padded = torch::zeros({1, 10}, torch::kInt64);
    padded.narrow(1, 0, len).copy_(full.narrow(1, 0, len));
    auto q = m->encode_last(padded, torch::tensor({len}, torch::kInt64));
    EXPECT_TRUE(torch::allclose(q[0], h[0][len - 1], 0, 1e-5)) << "padded prefix " << len;
  }
}

TEST_F(SasRecNet, ShapesHeadsAndItemVectors) {
  torch::manual_seed(3);
  for (int64_t hidden : {32, 64, 256}) {
    SasRec m(12, model_options(hidden, hidden == 32 ? 1 : 4, 5));
    auto h = m->forward(torch::tensor({{1, 2, 0}, {3, 0, 0}}, torch::kInt64));
    EXPECT_EQ(h.sizes(), (std::vector<int64_t>{2, 3, hidden}));
    EXPECT_EQ(m->item_vectors().sizes(), (std::vector<int64_t>{12, hidden}));
    EXPECT_TRUE(torch::equal(m->item_emb->weight[0], torch::zeros({hidden})));
  }
  SasRec m(4, model_options(6, 2, 5));
  auto v = torch::arange(24, torch::kFloat32).view({4, 6});
  m->set_item_vectors(v);
  EXPECT_TRUE(torch::equal(m->item_vectors(), v));
  EXPECT_TRUE(torch::equal(m->item_emb->weight[2], v[1]));  // row i + 1 = item i
  EXPECT_THROW(m->set_item_vectors(torch::zeros({3, 6})), Error);
  EXPECT_THROW(m->forward(torch::zeros({1, 6}, torch::kInt64)), Error);  // longer than max_len
}

TEST_F(SasRecNet, HiddenNotDivisibleByHeadsIsAnError) {
  auto msg = error_of([] { SasRec m(10, model_options(30, 4, 5)); });
  EXPECT_NE(msg.find("divisible"), std::string::npos) << msg;
  Config c;
  c.cf.hidden = 30;
  c.cf.heads = 4;
  EXPECT_THROW(c.validate(), UsageError);
}

// ------------------------------------------------------------------------------------------
// Losses.

TEST_F(CfLossFn, NegativesNeverEqualTheTargetAndAreUniform) {
  torch::manual_seed(4);
  auto targets = torch::randint(0, 5, {20000}, torch::kInt64);
  auto neg = sample_negatives(targets, 5);
  EXPECT_FALSE(neg.eq(targets).any().item<bool>());
  EXPECT_TRUE(neg.ge(0).all().item<bool>() && neg.lt(5).all().item<bool>());
  // Given target 2, each of the other 4 items has probability 1/4.
  auto sel = neg.masked_select(targets.eq(2));
  for (int64_t i : {0, 1, 3, 4}) {
    double p = sel.eq(i).to(torch::kFloat64).mean().item<double>();
    EXPECT_NEAR(p, 0.25, 0.03) << i;
  }
  // Two items: the negative is always the other one.
  auto t2 = torch::tensor({0, 1, 1, 0}, torch::kInt64);
  EXPECT_TRUE(torch::equal(sample_negatives(t2, 2), 1 - t2));
  EXPECT_THROW(sample_negatives(t2, 1), Error);
}

TEST_F(CfLossFn, HandComputedCeAndBce) {
  auto h = torch::tensor({{1.0f, 0.0f}, {0.5f, 2.0f}});
  auto items = torch::tensor({{1.0f, 1.0f}, {0.0f, -1.0f}});
  auto targets = torch::tensor({0, 1}, torch::kInt64);
  // logits row 0: [1, 0], row 1: [2.5, -2].
  double ce0 = -std::log(std::exp(1.0) / (std::exp(1.0) + 1.0));
  double ce1 = -std::log(std::exp(-2.0) / (std::exp(2.5) + std::exp(-2.0)));
  EXPECT_NEAR(cf_loss(CfLoss::kCe, h, targets, items).item<double>(), (ce0 + ce1) / 2, 1e-6);
  // With 2 items the negative is the other item: pos logits [1, -2], neg logits [0, 2.5].
  auto sp = [](double x) { return std::log1p(std::exp(x)); };
  double bce = (sp(-1.0) + sp(0.0) + sp(2.0) + sp(2.5)) / 2;
  EXPECT_NEAR(cf_loss(CfLoss::kBce, h, targets, items).item<double>(), bce, 1e-6);
}

TEST_F(CfLossFn, FusedLinearCrossEntropyMatchesPlainCeAndFiniteDifferences) {
  torch::manual_seed(7);
  for (int64_t chunk : {0, 1, 3, 100}) {
    auto h = torch::randn({7, 5}, torch::requires_grad());
    auto E = torch::randn({11, 5}, torch::requires_grad());
    auto t = torch::randint(0, 11, {7}, torch::kInt64);
    auto loss = linear_cross_entropy(h, E, t, chunk);
    loss.backward();
    auto h2 = h.detach().clone().requires_grad_(true), E2 = E.detach().clone().requires_grad_(true);
    auto ref = torch::nn::functional::cross_entropy(torch::matmul(h2, E2.t()), t);
    (ref * 1.0).backward();
    EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 1e-5) << chunk;
    EXPECT_TRUE(torch::allclose(h.grad(), h2.grad(), 1e-5, 1e-6)) << chunk;
    EXPECT_TRUE(torch::allclose(E.grad(), E2.grad(), 1e-5, 1e-6)) << chunk;
  }
  // Central finite differences in float64, with an upstream gradient of 3.
  auto h = torch::randn({4, 3}, torch::dtype(torch::kFloat64).requires_grad(true));
  auto E = torch::randn({6, 3}, torch::dtype(torch::kFloat64).requires_grad(true));
  auto t = torch::tensor({0, 5, 5, 2}, torch::kInt64);
  (3.0 * linear_cross_entropy(h, E, t, 3)).backward();
  auto f = [&](const torch::Tensor& hh, const torch::Tensor& ee) {
    return 3.0 * linear_cross_entropy(hh, ee, t, 3).item<double>();
  };
  const double eps = 1e-6;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      auto hp = h.detach().clone(), hm = h.detach().clone();
      hp[i][j] += eps;
      hm[i][j] -= eps;
      double fd = (f(hp, E.detach()) - f(hm, E.detach())) / (2 * eps);
      EXPECT_NEAR(h.grad()[i][j].item<double>(), fd, 1e-7) << i << "," << j;
    }
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      auto ep = E.detach().clone(), em = E.detach().clone();
      ep[i][j] += eps;
      em[i][j] -= eps;
      double fd = (f(h.detach(), ep) - f(h.detach(), em)) / (2 * eps);
      EXPECT_NEAR(E.grad()[i][j].item<double>(), fd, 1e-7) << i << "," << j;
    }
  // Frozen E: no gradient is computed for it.
  auto hf = torch::randn({3, 3}, torch::requires_grad());
  auto Ef = torch::randn({6, 3});
  linear_cross_entropy(hf, Ef, torch::tensor({1, 2, 3}, torch::kInt64)).backward();
  EXPECT_TRUE(hf.grad().defined());
  EXPECT_FALSE(Ef.grad().defined());
  EXPECT_THROW(linear_cross_entropy(hf, torch::randn({6, 4}), torch::tensor({1, 2, 3}, torch::kInt64)), Error);
}

// ------------------------------------------------------------------------------------------
// Training data: windows and batches.

TEST_F(CfData, WindowsByHand) {
  // n = 10: train part s[0..7] (targets positions 1..7), valid target s[8], test s[9].
  Dataset ds = small_dataset({{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {9, 8, 7, 6, 5}}, 10);
  Split sp = leave_one_out(ds, 3);
  auto w = make_cf_windows(sp, 3);
  // User 0, max_len 3, from the end: targets 5..7 (begin 4, len 4), 2..4 (begin 1), 1 (begin 0).
  // User 1 (n = 5): targets 1..2 (begin 0, len 3).
  ASSERT_EQ(w.size(), 4u);
  auto eq = [](const CfWindow& a, int u, int b, int l) { return a.user == u && a.begin == b && a.len == l; };
  EXPECT_TRUE(eq(w[0], 0, 0, 2));
  EXPECT_TRUE(eq(w[1], 0, 1, 4));
  EXPECT_TRUE(eq(w[2], 0, 4, 4));
  EXPECT_TRUE(eq(w[3], 1, 0, 3));
  std::vector<int64_t> order = {2, 3};
  CfBatch b = make_cf_batch(ds, w, order, 0, 2);
  // Inputs are item ids + 1, right-padded with 0; targets at every real position.
  EXPECT_TRUE(torch::equal(b.inputs, torch::tensor({{5, 6, 7}, {10, 9, 0}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(b.flat_index, torch::tensor({0, 1, 2, 3, 4}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(b.flat_targets, torch::tensor({5, 6, 7, 8, 7}, torch::kInt64)));
}

TEST_F(CfData, NoLeakageOfValidAndTestTargets) {
  // Real sequences plus long ones that need several windows.
  Dataset ds = tiny();
  std::vector<int64_t> longseq;
  for (int64_t i = 0; i < 57; ++i) longseq.push_back((i * 7) % ds.num_items());
  ds.sequences.push_back(longseq);
  ds.user_ids.push_back("long");
  for (int64_t max_len : {1, 5, 20, 50}) {
    Split sp = leave_one_out(ds, max_len);
    auto windows = make_cf_windows(sp, max_len);
    std::vector<std::vector<int>> covered(ds.num_users());
    for (size_t u = 0; u < covered.size(); ++u) covered[u].assign(ds.sequences[u].size(), 0);
    for (const auto& w : windows) {
      const int64_t n = static_cast<int64_t>(ds.sequences[w.user].size());
      ASSERT_GE(w.len, 2);
      ASSERT_LE(w.len - 1, max_len);
      // Every input and target index is <= n - 3: s[n-2] (valid) and s[n-1] (test) never used.
      ASSERT_LE(w.begin + w.len - 1, n - 3) << "user " << w.user << " max_len " << max_len;
      for (int32_t t = w.begin + 1; t < w.begin + w.len; ++t) covered[w.user][t]++;
    }
    for (size_t u = 0; u < covered.size(); ++u) {
      const int64_t n = static_cast<int64_t>(covered[u].size());
      for (int64_t t = 0; t < n; ++t)  // targets: exactly positions 1..n-3, once each
        ASSERT_EQ(covered[u][t], (t >= 1 && t <= n - 3) ? 1 : 0) << "user " << u << " pos " << t;
    }
    // Every batch target is a training target (never s[n-2] or s[n-1] of its user).
    std::vector<int64_t> order(windows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    CfBatch b = make_cf_batch(ds, windows, order, 0, static_cast<int64_t>(windows.size()));
    int64_t positions = 0;
    for (const auto& s : sp.train) positions += (s.pos >= 1);
    EXPECT_EQ(b.flat_targets.size(0), positions);
    EXPECT_EQ(static_cast<int64_t>(sp.train.size()), positions);
  }
}

// ------------------------------------------------------------------------------------------
// Full-ranking evaluator.

TEST_F(FullRanking, HandComputedRanksAndMetrics) {
  // 5 items on a line: item i has vector (i, 1); queries (q, 0) score item i as q * i.
  Dataset ds = small_dataset({{0, 1, 2, 3}, {4, 3, 2, 1}, {2, 0, 4, 1}}, 5);
  auto items = torch::stack({torch::arange(5, torch::kFloat32), torch::ones({5})}, 1);  // (5, 2)
  std::vector<Sample> samples = {{0, 3}, {1, 3}, {2, 3}};  // targets 3, 1, 1
  // Query of user u: (+1, 0) for user 0, (-1, 0) for user 1, (0, 0) for user 2 (all tie).
  QueryEncoder enc = [](const HistoryBatch& b) {
    auto q = torch::zeros({b.items.size(0), 2});
    for (int64_t r = 0; r < b.items.size(0); ++r) {
      int64_t u = b.users[r].item<int64_t>();
      q[r][0] = u == 0 ? 1.0f : (u == 1 ? -1.0f : 0.0f);
    }
    return q;
  };
  FullRankingOptions fo;
  fo.ks = {1, 2, 5};
  fo.batch_size = 2;  // two batches
  auto ranks = full_ranking_ranks(ds, samples, enc, items, fo);
  // user 0: scores 0..4, target 3 -> rank 1 (item 4 higher); user 1: scores 0,-1,..,-4,
  // target 1 -> rank 1 (item 0 higher); user 2: all 0, target 1 -> rank 1 (item 0 ties, smaller id).
  EXPECT_TRUE(torch::equal(ranks, torch::tensor({1, 1, 1}, torch::kInt64)));
  auto m = evaluate_full_ranking(ds, samples, enc, items, fo);
  EXPECT_DOUBLE_EQ(m["recall@1"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(m["recall@2"].get<double>(), 1.0);
  EXPECT_NEAR(m["ndcg@2"].get<double>(), 1.0 / std::log2(3.0), 1e-12);
  EXPECT_EQ(m["exclude_history"], false);
  // Excluding history: user 0's history {0,1,2} is below its target anyway (rank 1); user 1's
  // history {4,3,2} are all below item 1 (rank 1, item 0 still above); user 2's history
  // {2,0,4} removes item 0, the only one before it: rank 0.
  fo.exclude_history = true;
  auto ranks_ex = full_ranking_ranks(ds, samples, enc, items, fo);
  EXPECT_TRUE(torch::equal(ranks_ex, torch::tensor({1, 1, 0}, torch::kInt64)));
  auto mx = evaluate_full_ranking(ds, samples, enc, items, fo);
  EXPECT_NEAR(mx["recall@1"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_NEAR(mx["ndcg@2"].get<double>(), (1.0 + 2.0 / std::log2(3.0)) / 3, 1e-12);
}

TEST_F(FullRanking, ExclusionUsesTheFullHistoryNotOnlyTheCut) {
  Dataset ds = small_dataset({{0, 1, 2, 3, 4}}, 6);
  auto scores = torch::zeros({1, 6});
  exclude_history_items(scores, ds, {{0, 4}}, 0);  // history s[0..3] = items 0..3
  auto inf = -std::numeric_limits<float>::infinity();
  EXPECT_TRUE(torch::equal(scores, torch::tensor({{inf, inf, inf, inf, 0.0f, 0.0f}})));
  EXPECT_THROW(exclude_history_items(scores, ds, {{0, 4}}, 1), Error);
}

TEST_F(FullRanking, TopKBreaksTiesByItemId) {
  auto scores = torch::tensor({{0.5f, 0.9f, 0.5f, 0.9f, 0.1f}, {1.0f, 1.0f, 1.0f, 1.0f, 1.0f}});
  EXPECT_TRUE(torch::equal(top_k_items(scores, 3), torch::tensor({{1, 3, 0}, {0, 1, 2}}, torch::kInt64)));
  EXPECT_THROW(top_k_items(scores, 6), Error);
}

TEST_F(FullRanking, LastItemRetrievalByHand) {
  // Items 0/1 point one way, 2/3 another, 4 in between.
  auto v = torch::tensor({{1.0f, 0.0f}, {2.0f, 0.1f}, {0.0f, 1.0f}, {0.1f, 3.0f}, {1.0f, 1.0f}});
  Dataset ds = small_dataset({{0, 4, 1}, {2, 3}, {1, 0, 2}}, 5);
  std::vector<Sample> samples = {{0, 2}, {1, 1}, {2, 2}};  // last items 4, 2, 0; targets 1, 3, 2
  FullRankingOptions fo;
  fo.ks = {1, 2};
  auto m = evaluate_last_item_retrieval(ds, samples, v, /*cosine=*/true, fo);
  // user 0: query 4 = (1,1)/sqrt2; history {0,4} excluded; cos: item 1 ~ .74, 2 .71, 3 .73
  //   -> target 1 first. user 1: query 2, history {2} excluded, item 3 (cos ~ .9994) first.
  // user 2: query 0, history {1,0} excluded; item 4 (.71) above target 2 (0) and 3 (.03):
  //   rank 2.
  EXPECT_NEAR(m["recall@1"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_NEAR(m["recall@2"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_EQ(m["exclude_history"], true);
  EXPECT_THROW(evaluate_last_item_retrieval(ds, samples, torch::zeros({4, 2}), true, fo), Error);
}

// ------------------------------------------------------------------------------------------
// Training on the bundled data.

TEST_F(CfTrain, LearnsTinyDataAndBeatsPopularity) {
  const Dataset& ds = tiny();
  Config c = tiny_config(25);
  Trained r = train(ds, c);
  ASSERT_EQ(r.history.size(), 25u);
  EXPECT_LT(r.history.back().loss, 0.8 * r.history.front().loss);
  // Popularity: score = count of the item in the training part.
  Split sp = leave_one_out(ds, c.cf.max_len);
  auto counts = torch::zeros({ds.num_items(), 1});
  for (int64_t u = 0; u < ds.num_users(); ++u) {
    const auto& s = ds.sequences[u];
    for (size_t t = 0; t + 2 < s.size(); ++t) counts[s[t]][0] += 1.0f;
  }
  QueryEncoder ones = [](const HistoryBatch& b) { return torch::ones({b.items.size(0), 1}); };
  FullRankingOptions fo;
  auto pop = evaluate_full_ranking(ds, sp.test, ones, counts, fo);
  const double pop_ndcg = pop["ndcg@10"], sas_ndcg = r.test["ndcg@10"];
  const double pop_r10 = pop["recall@10"], sas_r10 = r.test["recall@10"];
  EXPECT_GT(sas_ndcg, 2.0 * pop_ndcg) << "SASRec " << sas_ndcg << " vs popularity " << pop_ndcg;
  EXPECT_GT(sas_r10, 1.5 * pop_r10) << "SASRec " << sas_r10 << " vs popularity " << pop_r10;
  EXPECT_GE(r.best_epoch, 1);
  EXPECT_NEAR(r.valid["ndcg@10"].get<double>(), r.best_valid_ndcg10, 1e-12);  // best restored
  EXPECT_EQ(r.test["users"], ds.num_users());
}

TEST_F(CfTrain, BceLossTrainsToo) {
  Config c = tiny_config(6);
  c.cf.loss = CfLoss::kBce;
  Trained r = train(tiny(), c);
  EXPECT_LT(r.history.back().loss, r.history.front().loss);
  EXPECT_TRUE(torch::equal(r.model->item_emb->weight[0], torch::zeros({32})));  // padding row stays 0
}

TEST_F(CfTrain, DeterministicWithFixedSeed) {
  Config c = tiny_config(2);
  Trained a = train(tiny(), c);
  Trained b = train(tiny(), c);
  EXPECT_TRUE(torch::equal(a.model->item_vectors(), b.model->item_vectors()));
  EXPECT_EQ(a.test, b.test);
  c.seed = 43;
  Trained d = train(tiny(), c);
  EXPECT_FALSE(torch::equal(a.model->item_vectors(), d.model->item_vectors()));
}

TEST_F(CfTrain, ResumeEqualsUninterruptedRun) {
  test::TempDir dir;
  Config c4 = tiny_config(4);
  c4.cf.dropout = 0.3;
  c4.cf.patience = 1000;
  RunEnv full = cf_env(dir.path("full"));
  Trained a = train(tiny(), c4, full);

  Config c2 = c4;
  c2.cf.epochs = 2;
  RunEnv part = cf_env(dir.path("part"));
  Trained first = train(tiny(), c2, part);
  EXPECT_EQ(first.epochs_run, 2);
  part.resume = true;
  Trained b = train(tiny(), c4, part);
  EXPECT_EQ(b.epochs_run, 4);
  ASSERT_EQ(b.history.size(), 4u);
  EXPECT_TRUE(torch::allclose(a.model->item_vectors(), b.model->item_vectors(), 0, 1e-6));
  for (size_t e = 0; e < 4; ++e) {
    EXPECT_NEAR(a.history[e].loss, b.history[e].loss, 1e-6) << e;
    EXPECT_NEAR(a.history[e].valid_ndcg10, b.history[e].valid_ndcg10, 1e-6) << e;
  }
  EXPECT_EQ(a.best_epoch, b.best_epoch);
  EXPECT_NEAR(a.test["ndcg@10"].get<double>(), b.test["ndcg@10"].get<double>(), 1e-6);
  // Resuming a finished run trains nothing more and gives the same model.
  Trained again = train(tiny(), c4, part);
  EXPECT_EQ(again.history.size(), 4u);
  EXPECT_TRUE(torch::allclose(again.model->item_vectors(), b.model->item_vectors(), 0, 1e-6));
}

TEST_F(CfTrain, FrozenInitialItemVectorsStayFixed) {
  test::TempDir dir;
  const Dataset& ds = tiny();
  torch::manual_seed(5);
  auto v = torch::randn({ds.num_items(), 32}) * 0.1;
  io::write_npy(dir.path("init.npy"), v);
  Config c = tiny_config(2);
  c.cf.init_items = dir.path("init.npy");
  c.cf.freeze_items = true;
  Trained r = train(ds, c);
  EXPECT_TRUE(torch::equal(r.model->item_vectors(), v));
  c.cf.freeze_items = false;
  Trained moved = train(ds, c);
  EXPECT_FALSE(torch::equal(moved.model->item_vectors(), v));
}

// ------------------------------------------------------------------------------------------
// Bad inputs.

TEST_F(CfErrors, EmptyOrTooShortData) {
  Config c = tiny_config(1);
  Dataset none = small_dataset({}, 3);
  EXPECT_NE(error_of([&] { train(none, c); }).find("empty"), std::string::npos);
  Dataset shortseq = small_dataset({{0, 1, 2}, {2, 1}}, 3);  // nobody has a training target
  auto msg = error_of([&] { train(shortseq, c); });
  EXPECT_NE(msg.find("no training sequences"), std::string::npos) << msg;
}

TEST_F(CfErrors, ResumeWithoutCheckpointOrWithChangedConfig) {
  test::TempDir dir;
  Config c = tiny_config(1);
  RunEnv run = cf_env(dir.path("run"), true);
  auto msg = error_of([&] { train(tiny(), c, run); });
  EXPECT_NE(msg.find("sasrec.last.pt"), std::string::npos) << msg;
  run.resume = false;
  train(tiny(), c, run);
  run.resume = true;
  Config changed = c;
  changed.cf.lr = 0.01;
  msg = error_of([&] { train(tiny(), changed, run); });
  EXPECT_NE(msg.find("cf.lr differ"), std::string::npos) << msg;
  changed = c;
  changed.cf.epochs = 2;  // raising epochs is allowed
  EXPECT_EQ(train(tiny(), changed, run).epochs_run, 2);
}

TEST_F(CfErrors, InitItemsWithWrongShape) {
  test::TempDir dir;
  io::write_npy(dir.path("bad.npy"), torch::zeros({10, 32}));
  Config c = tiny_config(1);
  c.cf.init_items = dir.path("bad.npy");
  auto msg = error_of([&] { train(tiny(), c); });
  EXPECT_NE(msg.find("expected (407, 32)"), std::string::npos) << msg;
  Config f;
  f.cf.freeze_items = true;  // nothing to freeze
  EXPECT_THROW(f.validate(), UsageError);
}

// ------------------------------------------------------------------------------------------
// CLI.

namespace {
}  // namespace

TEST_F(CfCli, TrainWritesArtifactsAndResumes) {
  test::TempDir dir;
  const std::string run = dir.path("run");
  std::vector<std::string> args = {"train-cf", test::tiny_dir(), "--out", run, "--quiet",
                                   "--set", "cf.epochs=2", "--set", "cf.max_len=20",
                                   "--set", "eval.bootstrap=20", "--threads", "1"};
  auto r = run_cli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("test"), std::string::npos) << r.out;
  auto v = io::read_npy(run + "/items.cf.npy");
  EXPECT_EQ(v.sizes(), (std::vector<int64_t>{407, 32}));
  EXPECT_EQ(v.scalar_type(), torch::kFloat32);
  auto m = read_json_file(run + "/metrics.json");
  for (const char* k : {"recall@1", "recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20"}) {
    EXPECT_TRUE(m["test"].contains(k)) << k;
    EXPECT_TRUE(m["valid"].contains(k)) << k;
    EXPECT_EQ(m["test"]["ci95"][k].size(), 2u) << k;
  }
  EXPECT_EQ(m["epochs_run"], 2);
  // Coverage of the top-10 lists: at least the 10 items of one list, at most the catalogue.
  for (const char* part : {"test", "valid"}) {
    const double cov = m[part]["coverage@10"].get<double>(), pop = m[part]["popular10_share@10"].get<double>();
    EXPECT_GE(cov, 10.0 / 407) << part;
    EXPECT_LE(cov, 1.0) << part;
    EXPECT_GE(pop, 0.0) << part;
    EXPECT_LE(pop, 1.0) << part;
  }
  EXPECT_TRUE(path_exists(run + "/sasrec.pt"));
  EXPECT_TRUE(path_exists(run + "/sasrec.last.pt"));
  EXPECT_TRUE(path_exists(run + "/config.json"));
  // The exported vectors are the checkpointed model's rows 1..N.
  torch::manual_seed(0);
  Config c;
  c.cf.max_len = 20;
  SasRec model(407, c.cf);
  load_checkpoint(run + "/sasrec.pt", *model, nullptr, "letter.sasrec", 1);
  EXPECT_TRUE(torch::equal(model->item_vectors(), v));

  args.push_back("--resume");
  args[6] = "cf.epochs=3";
  r = run_cli(args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_json_file(run + "/metrics.json")["epochs_run"], 3);
}

TEST_F(CfCli, UsageAndRuntimeErrors) {
  auto r = run_cli({"train-cf", test::tiny_dir(), "--quiet"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
  test::TempDir dir;
  r = run_cli({"train-cf", test::tiny_dir(), "--quiet", "--out", dir.path("r"), "--set", "cf.heads=5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("divisible"), std::string::npos) << r.err;
  r = run_cli({"train-cf", test::tiny_dir(), "--quiet", "--out", dir.path("r"), "--resume"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("sasrec.last.pt"), std::string::npos) << r.err;
}

TEST_F(CfCli, EvalVectorsByLastItemRetrieval) {
  test::TempDir dir;
  torch::manual_seed(6);
  io::write_npy(dir.path("v.npy"), torch::randn({407, 8}));
  auto r = run_cli({"train-cf", test::tiny_dir(), "--quiet", "--eval-vectors", dir.path("v.npy"),
                    "--out", dir.path("r"), "--set", "eval.bootstrap=0", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = read_json_file(dir.path("r/metrics.json"));
  EXPECT_EQ(m["test"]["users"], 600);
  EXPECT_EQ(m["test"]["exclude_history"], true);
  io::write_npy(dir.path("bad.npy"), torch::randn({406, 8}));
  r = run_cli({"train-cf", test::tiny_dir(), "--quiet", "--eval-vectors", dir.path("bad.npy")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("(N = 407"), std::string::npos) << r.err;
}
