// Tests for the quant module: exact assignment solvers against brute force, constrained
// k-means constraints and objective, Sinkhorn marginals (and equality with the literal
// four-pass loop of algorithms.md b.3), straight-through gradient, finite-difference checks
// of the LETTER regularisers (b.5, b.6), collision resolution (b.8) uniqueness, report
// metrics on hand-worked examples, training determinism and resume, the planted topics of
// data/tiny, the CLI, and every bad-input path.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "cli/app.h"
#include "letter/common/options.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/torch_compat.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/io/npy.h"
#include "letter/quant/assignment.h"
#include "letter/quant/codes.h"
#include "letter/quant/kmeans.h"
#include "letter/quant/losses.h"
#include "letter/quant/optim.h"
#include "letter/quant/report.h"
#include "letter/quant/rqvae.h"
#include "letter/quant/sinkhorn.h"
#include "letter/quant/tokenizer.h"
#include "test_util.h"

using namespace letter;
using test::run_cli;
using test::error_of;
using namespace letter::quant;

namespace {


std::vector<double> random_costs(std::mt19937_64& rng, int64_t n) {
  std::uniform_real_distribution<double> u(0.0, 10.0);
  std::vector<double> c(n);
  for (auto& x : c) x = u(rng);
  return c;
}

double assignment_cost(const std::vector<double>& c, int64_t m, const std::vector<int64_t>& col) {
  double s = 0;
  for (size_t i = 0; i < col.size(); ++i) s += c[i * m + col[i]];
  return s;
}

// Brute force over all injective maps rows -> columns.
double brute_assignment(const std::vector<double>& c, int64_t n, int64_t m) {
  std::vector<int64_t> cols(m);
  std::iota(cols.begin(), cols.end(), 0);
  double best = 1e300;
  do {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += c[i * m + cols[i]];
    best = std::min(best, s);
  } while (std::next_permutation(cols.begin(), cols.end()));
  return best;
}

// Brute force over all K^N labelings with the size bounds.
double brute_constrained(const std::vector<double>& c, int64_t n, int64_t k, int64_t smin, int64_t smax) {
  std::vector<int64_t> lab(n, 0);
  double best = 1e300;
  for (;;) {
    std::vector<int64_t> size(k, 0);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
      ++size[lab[i]];
      s += c[i * k + lab[i]];
    }
    bool ok = true;
    for (int64_t j = 0; j < k; ++j) ok = ok && size[j] >= smin && size[j] <= smax;
    if (ok) best = std::min(best, s);
    int64_t p = 0;
    while (p < n && ++lab[p] == k) lab[p++] = 0;
    if (p == n) break;
  }
  return best;
}

std::vector<int64_t> sizes_of(const std::vector<int64_t>& labels, int64_t k) {
  std::vector<int64_t> s(k, 0);
  for (int64_t l : labels) ++s[l];
  return s;
}

// Points in well-separated Gaussian blobs of equal size.
torch::Tensor blobs(int64_t per_blob, int64_t n_blobs, int64_t dim, double spread, uint64_t seed) {
  torch::manual_seed(seed);
  auto centers = torch::randn({n_blobs, dim}) * spread;
  auto x = centers.repeat_interleave(per_blob, 0) + torch::randn({per_blob * n_blobs, dim});
  return x;
}

// Tiny-dataset embeddings with planted structure: topic centroid + subtopic offset + noise.
struct TinyInputs {
  torch::Tensor emb, cf;
  std::vector<int64_t> topic;
};

TinyInputs tiny_inputs(int64_t dim = 64, int64_t cf_dim = 32) {
  auto t = read_json_file(test::tiny_dir() + "/tiny.topics.json");
  auto topic = t["item_topic"].get<std::vector<int64_t>>();
  auto sub = t["item_subtopic"].get<std::vector<int64_t>>();
  const int64_t n = static_cast<int64_t>(topic.size());
  auto gen = at::detail::createCPUGenerator(7);
  auto tc = torch::randn({12, dim}, gen) * 3.0, sc = torch::randn({30, dim}, gen);
  auto cf_tc = torch::randn({12, cf_dim}, gen), cf_sc = torch::randn({30, cf_dim}, gen) * 0.5;
  auto ti = torch::tensor(topic, torch::kInt64), si = torch::tensor(sub, torch::kInt64);
  TinyInputs in;
  in.emb = tc.index_select(0, ti) + sc.index_select(0, si) + 0.3 * torch::randn({n, dim}, gen);
  in.emb = in.emb / in.emb.norm(2, 1, true);  // unit rows, like sentence-encoder embeddings
  in.cf = cf_tc.index_select(0, ti) + cf_sc.index_select(0, si) + 0.2 * torch::randn({n, cf_dim}, gen);
  in.topic = topic;
  return in;
}

TokenizerOptions tiny_options(int64_t epochs = 6) {
  TokenizerOptions t;
  t.levels = 3;
  t.codebook_size = 16;
  t.e_dim = 32;
  t.sk_epsilons = {0.0, 0.0, 0.003};
  t.clusters = 4;
  t.epochs = epochs;
  t.eval_every = 3;
  t.batch_size = 128;
  t.kmeans_restarts = 2;
  t.lr = 3e-3;
  return t;
}


}  // namespace

// ---------------------------------------------------------------------------------------
// Exact assignment solvers

TEST(QuantAssignment, HungarianMatchesBruteForce) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = 1 + rng() % 5, m = n + rng() % 3;
    auto c = random_costs(rng, n * m);
    if (trial % 4 == 0)  // ties: integer costs
      for (auto& x : c) x = std::floor(x / 3);
    auto col = min_cost_assignment(c, n, m);
    std::set<int64_t> distinct(col.begin(), col.end());
    ASSERT_EQ(static_cast<int64_t>(distinct.size()), n) << "trial " << trial;
    for (auto j : col) ASSERT_TRUE(j >= 0 && j < m);
    EXPECT_NEAR(assignment_cost(c, m, col), brute_assignment(c, n, m), 1e-9)
        << "trial " << trial << " n=" << n << " m=" << m;
  }
}

TEST(QuantAssignment, HungarianBadInputs) {
  EXPECT_NE(error_of([] { min_cost_assignment(std::vector<double>(6, 1.0), 3, 2); }).find("only 2 columns"),
            std::string::npos);
  std::vector<double> c = {1, 2, NAN, 4};
  EXPECT_NE(error_of([&] { min_cost_assignment(c, 2, 2); }).find("not finite"), std::string::npos);
  EXPECT_TRUE(min_cost_assignment(std::vector<double>{}, 0, 3).empty());
}

TEST(QuantAssignment, ConstrainedMatchesBruteForce) {
  std::mt19937_64 rng(5);
  int checked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t n = 2 + rng() % 7, k = 1 + rng() % 3;
    const int64_t smin = rng() % (n / k + 1);
    const int64_t smax = std::max<int64_t>(smin, (n + k - 1) / k + rng() % 3);
    if (k * smin > n || k * smax < n) continue;
    auto c = random_costs(rng, n * k);
    TransportStats st;
    auto lab = constrained_assignment(c, n, k, smin, smax, &st);
    auto s = sizes_of(lab, k);
    for (int64_t j = 0; j < k; ++j) ASSERT_TRUE(s[j] >= smin && s[j] <= smax) << "trial " << trial;
    EXPECT_NEAR(st.cost, brute_constrained(c, n, k, smin, smax), 1e-9) << "trial " << trial;
    // Warm start with the optimal prices of a perturbed problem: still the exact optimum.
    std::vector<double> prices;
    constrained_assignment(c, n, k, smin, smax, nullptr, &prices);
    auto c2 = c;
    for (auto& x : c2) x += std::uniform_real_distribution<double>(-1, 1)(rng);
    TransportStats st2;
    auto lab2 = constrained_assignment(c2, n, k, smin, smax, &st2, &prices);
    auto s2 = sizes_of(lab2, k);
    for (int64_t j = 0; j < k; ++j) ASSERT_TRUE(s2[j] >= smin && s2[j] <= smax) << "trial " << trial;
    EXPECT_NEAR(st2.cost, brute_constrained(c2, n, k, smin, smax), 1e-9) << "warm start, trial " << trial;
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

// Medium instances: compare with the Hungarian on slot-expanded clusters (cluster k gets
// size_max slots, its first size_min slots discounted by a big M so they must be filled).
TEST(QuantAssignment, ConstrainedMatchesSlotHungarian) {
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 12; ++trial) {
    const int64_t k = 2 + rng() % 5, n = 20 + rng() % 40;
    const int64_t smin = rng() % (n / k + 1), smax = std::max<int64_t>(smin + rng() % 4, (n + k - 1) / k);
    // Clustered costs: most points prefer cluster 0, so the bounds bind.
    std::vector<double> c(n * k);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j) c[i * k + j] = (j == 0 ? 0.0 : 3.0) + std::uniform_real_distribution<double>(0, 5)(rng);
    TransportStats st;
    auto lab = constrained_assignment(c, n, k, smin, smax, &st);
    auto s = sizes_of(lab, k);
    for (int64_t j = 0; j < k; ++j) ASSERT_TRUE(s[j] >= smin && s[j] <= smax);
    const double M = 1e4;
    const int64_t slots = k * smax;
    std::vector<double> big(n * slots);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j)
        for (int64_t q = 0; q < smax; ++q) big[i * slots + j * smax + q] = c[i * k + j] - (q < smin ? M : 0.0);
    auto col = min_cost_assignment(big, n, slots);
    const double ref = assignment_cost(big, slots, col) + M * k * smin;
    EXPECT_NEAR(st.cost, ref, 1e-6) << "trial " << trial << " n=" << n << " k=" << k << " bounds " << smin
                                    << ".." << smax << " augmentations " << st.augmentations;
  }
}

TEST(QuantAssignment, ConstrainedBoundsHoldOnRandomSizes) {
  std::mt19937_64 rng(21);
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t k = 2 + rng() % 30, n = k * (1 + rng() % 20) + rng() % k;
    const int64_t avg = n / k;
    const int64_t smin = rng() % (avg + 1);
    const int64_t smax = (trial % 3 == 0 && n % k == 0) ? avg : (n + k - 1) / k + rng() % 5;  // sometimes exact
    auto c = random_costs(rng, n * k);
    for (int64_t i = 0; i < n; ++i) c[i * k] -= 8;  // everyone prefers cluster 0
    auto lab = constrained_assignment(c, n, k, std::min(smin, smax), smax);
    auto s = sizes_of(lab, k);
    for (int64_t j = 0; j < k; ++j)
      ASSERT_TRUE(s[j] >= std::min(smin, smax) && s[j] <= smax) << "trial " << trial << " cluster " << j;
  }
}

TEST(QuantAssignment, ConstrainedBadInputs) {
  std::vector<double> c(10 * 3, 1.0);
  EXPECT_NE(error_of([&] { constrained_assignment(c, 10, 3, 4, 5); }).find("cannot fill"), std::string::npos);
  EXPECT_NE(error_of([&] { constrained_assignment(c, 10, 3, 0, 3); }).find("cannot fill"), std::string::npos);
  EXPECT_NE(error_of([&] { constrained_assignment(c, 10, 3, 3, 2); }).find("size_min"), std::string::npos);
  c[4] = INFINITY;
  EXPECT_NE(error_of([&] { constrained_assignment(c, 10, 3, 0, 10); }).find("not finite"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// k-means

TEST(QuantKMeans, PlusPlusIsDeterministicAndPicksDistinctPoints) {
  auto x = blobs(30, 8, 5, 50.0, 3);
  auto a = kmeans_pp_init(x, 8, 99), b = kmeans_pp_init(x, 8, 99), c = kmeans_pp_init(x, 8, 100);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  // With well-separated blobs, k-means++ lands one seed in each blob.
  auto d = squared_distances(a, x.view({8, 30, 5}).mean(1));
  auto blob_of_seed = d.argmin(1);
  EXPECT_EQ(std::get<0>(torch::_unique(blob_of_seed)).numel(), 8);
}

TEST(QuantKMeans, ConstrainedWithinFivePercentOfUnconstrained) {
  // Well-spread data: 16 blobs of 60 points, bounds as in b.2 (N / 2K .. 4 N / 2K).
  auto x = blobs(60, 16, 8, 6.0, 4);
  KMeansOptions o;
  o.k = 16;
  o.max_iter = 20;
  o.n_init = 3;
  auto plain = kmeans(x, o);
  auto [smin, smax] = init_size_bounds(x.size(0), 16);
  o.size_min = smin;
  o.size_max = smax;
  auto cons = kmeans(x, o);
  auto sizes = torch::bincount(cons.labels, {}, 16);
  EXPECT_GE(sizes.min().item<int64_t>(), smin);
  EXPECT_LE(sizes.max().item<int64_t>(), smax);
  EXPECT_LE(cons.inertia, 1.05 * plain.inertia) << "constrained " << cons.inertia << " plain " << plain.inertia;
  // Labels match the returned centres' inertia.
  auto d = squared_distances(x, cons.centers);
  EXPECT_NEAR(d.gather(1, cons.labels.unsqueeze(1)).sum().item<double>(), cons.inertia, 1e-6 * cons.inertia);
}

TEST(QuantKMeans, ConstrainedSizesAlwaysHold) {
  std::mt19937_64 rng(8);
  for (int trial = 0; trial < 8; ++trial) {
    const int64_t n = 50 + rng() % 200, k = 2 + rng() % 12;
    auto x = torch::randn({n, 4}) * torch::rand({n, 1}) * 5;  // uneven density
    KMeansOptions o;
    o.k = k;
    o.n_init = 2;
    o.size_min = rng() % (n / k + 1);
    o.size_max = std::max<int64_t>(o.size_min, (n + k - 1) / k + rng() % 10);
    o.seed = trial;
    auto r = kmeans(x, o);
    auto s = torch::bincount(r.labels, {}, k);
    EXPECT_GE(s.min().item<int64_t>(), o.size_min) << "trial " << trial;
    EXPECT_LE(s.max().item<int64_t>(), o.size_max) << "trial " << trial;
  }
}

TEST(QuantKMeans, ParallelRestartsMatchOneThread) {
  // Restarts run one per thread; the kept result must not depend on the thread count.
  auto x = torch::randn({400, 6}, torch::TensorOptions().dtype(torch::kFloat32)) * 3;
  KMeansOptions o;
  o.k = 12;
  o.n_init = 5;
  o.size_min = 20;
  o.size_max = 50;
  o.seed = 17;
  const int before = torch::get_num_threads();
  torch::set_num_threads(1);
  auto one = kmeans(x, o);
  torch::set_num_threads(2);
  auto two = kmeans(x, o);
  torch::set_num_threads(before);
  EXPECT_TRUE(torch::equal(one.labels, two.labels));
  EXPECT_TRUE(torch::equal(one.centers, two.centers));
  EXPECT_EQ(one.inertia, two.inertia);
  o.n_init = 1;  // more restarts never keep a worse result than the first alone
  EXPECT_LE(one.inertia, kmeans(x, o).inertia);
}

TEST(QuantKMeans, BadInputs) {
  KMeansOptions o;
  o.k = 10;
  EXPECT_NE(error_of([&] { kmeans(torch::randn({5, 3}), o); }).find("K = 10 clusters from N = 5"),
            std::string::npos);
  auto x = torch::randn({20, 3});
  x[3][1] = NAN;
  o.k = 2;
  EXPECT_NE(error_of([&] { kmeans(x, o); }).find("NaN"), std::string::npos);
  o.size_min = 11;
  EXPECT_NE(error_of([&] { kmeans(torch::randn({20, 3}), o); }).find("cannot fill"), std::string::npos);
  EXPECT_NE(error_of([&] { kmeans_pp_init(torch::randn({0, 3}), 1, 1); }).find("no points"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Sinkhorn (b.3)

// The literal loop of algorithms.md b.3.
torch::Tensor sinkhorn_reference(const torch::Tensor& d_in, double eps, int64_t iters) {
  auto d = d_in.to(torch::kFloat64);
  const double mx = d.max().item<double>(), mn = d.min().item<double>();
  const double m = (mx + mn) / 2, a = mx - m + 1e-5;
  auto q = torch::exp(-((d - m) / a) / eps);
  q = q / q.sum();
  const double B = d.size(0), K = d.size(1);
  for (int64_t i = 0; i < iters; ++i) {
    q = q / q.sum(1, true) / B;
    q = q / q.sum(0, true) / K;
  }
  return q * B;
}

TEST(QuantSinkhorn, MatchesLiteralLoopAndMarginals) {
  torch::manual_seed(1);
  const int64_t B = 64, K = 16;
  auto d = torch::rand({B, K}) * 4;
  torch::Tensor q;
  auto codes = sinkhorn_codes(d, 0.003, 50, &q);
  auto ref = sinkhorn_reference(d, 0.003, 50);
  EXPECT_TRUE(torch::allclose(q, ref, 1e-9, 1e-300)) << (q - ref).abs().max().item<double>();
  EXPECT_TRUE(torch::equal(codes, ref.argmax(1)));
  // After the last (column) step every column sums to B/K exactly.
  EXPECT_TRUE(torch::allclose(q.sum(0), torch::full({K}, double(B) / K, torch::kFloat64), 1e-10, 1e-12));
  // Rows converge to 1 with enough iterations.
  torch::Tensor q2;
  sinkhorn_codes(d, 0.05, 2000, &q2);
  EXPECT_TRUE(torch::allclose(q2.sum(1), torch::ones({B}, torch::kFloat64), 1e-6, 1e-8))
      << (q2.sum(1) - 1).abs().max().item<double>();
}

TEST(QuantSinkhorn, BalancesCodeUsage) {
  torch::manual_seed(2);
  const int64_t B = 256, K = 16;
  // Distances that favour code 0: argmin puts most items there.
  auto d = torch::rand({B, K}) + torch::cat({torch::zeros({B, 1}), torch::full({B, K - 1}, 0.3)}, 1);
  const int64_t argmin_max = torch::bincount(d.argmin(1), {}, K).max().item<int64_t>();
  EXPECT_GT(argmin_max, B / 3);
  auto codes = sinkhorn_codes(d, 0.003, 50);
  auto counts = torch::bincount(codes, {}, K);
  EXPECT_LT(counts.max().item<int64_t>(), 0.6 * argmin_max) << counts << " argmin max " << argmin_max;
  EXPECT_EQ((counts > 0).sum().item<int64_t>(), K);
  // More iterations balance further (the official 50 stop early; the plan converges).
  auto counts2 = torch::bincount(sinkhorn_codes(d, 0.003, 2000), {}, K);
  EXPECT_LE(counts2.max().item<int64_t>(), 2 * B / K) << counts2;
}

TEST(QuantSinkhorn, BadInputs) {
  EXPECT_NE(error_of([] { sinkhorn_codes(torch::rand({4, 3}), 0.0, 10); }).find("epsilon"), std::string::npos);
  EXPECT_NE(error_of([] { sinkhorn_codes(torch::rand({4, 3}), 0.003, 0); }).find("iterations"), std::string::npos);
  EXPECT_NE(error_of([] { sinkhorn_codes(torch::rand({4}), 0.003, 5); }).find("(B, K)"), std::string::npos);
  // exp(1/eps) overflows float64 for tiny eps.
  EXPECT_NE(error_of([] { sinkhorn_codes(torch::rand({8, 4}) * 10, 1e-4, 5); }).find("non-finite"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------
// RQ-VAE pieces

TEST(QuantRqvae, StraightThroughGradientIsIdentity) {
  torch::manual_seed(3);
  ResidualQuantizer q(3, 8, 4, std::vector<double>{0.0, 0.0, 0.0}, 50, 0.25);
  auto z = torch::randn({10, 4}, torch::requires_grad());
  auto out = q->forward(z, false);
  // Value: the sum of the selected code vectors.
  auto sum = torch::zeros({10, 4});
  for (int64_t l = 0; l < 3; ++l) sum += q->codebooks[l].detach().index_select(0, out.codes.select(1, l));
  EXPECT_TRUE(torch::allclose(out.zq.detach(), sum, 1e-5, 1e-6));
  auto w = torch::randn({10, 4});
  auto g = torch::autograd::grad({(out.zq * w).sum()}, {z})[0];
  EXPECT_TRUE(torch::equal(g, w)) << "d zq / d z must be the identity";
  // Codes are the argmin levels: level 0 is the nearest code of z.
  EXPECT_TRUE(torch::equal(out.codes.select(1, 0), code_distances(z.detach(), q->codebooks[0]).argmin(1)));
}

TEST(QuantRqvae, QuantLossMatchesDefinition) {
  torch::manual_seed(4);
  ResidualQuantizer q(2, 5, 3, std::vector<double>{0.0, 0.0}, 50, 0.25);
  auto z = torch::randn({7, 3});
  auto out = q->forward(z, false);
  // Forward value: mean over levels of (1 + mu) * MSE(e_l, r_l).
  auto r = z.clone();
  double expect = 0;
  for (int64_t l = 0; l < 2; ++l) {
    auto e = q->codebooks[l].detach().index_select(0, out.codes.select(1, l));
    expect += 1.25 * (e - r).pow(2).mean().item<double>();
    r = r - e;
  }
  EXPECT_NEAR(out.quant_loss.item<double>(), expect / 2, 1e-6);
  EXPECT_TRUE(torch::allclose(out.residual_last, z - q->codebooks[0].detach().index_select(0, out.codes.select(1, 0)),
                              1e-5, 1e-6));
}

TEST(QuantRqvae, DefaultLayersFollowThePaper) {
  EXPECT_EQ(default_layers(4096, 32), (std::vector<int64_t>{2048, 1024, 512, 256, 128, 64}));
  EXPECT_EQ(default_layers(384, 32), (std::vector<int64_t>{192, 96}));
  EXPECT_EQ(default_layers(32, 32), (std::vector<int64_t>{128, 64}));
  RqvaeOptions o = RqvaeOptions::from(TokenizerOptions{}, 4096);
  Rqvae m(o);
  int64_t params = 0;
  for (const auto& p : m->parameters()) params += p.numel();
  // Encoder + mirrored decoder weights and biases + 4 x 256 x 32 codebooks.
  int64_t expect = 0;
  std::vector<int64_t> dims{4096, 2048, 1024, 512, 256, 128, 64, 32};
  for (size_t i = 0; i + 1 < dims.size(); ++i) expect += 2 * (dims[i] * dims[i + 1]) + dims[i + 1] + dims[i];
  EXPECT_EQ(params, expect + 4 * 256 * 32);
}

namespace {
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm()).item<double>();
}
}  // namespace

TEST(QuantRqvae, Bfloat16MlpTracksFloat32) {
  torch::manual_seed(21);
  const std::vector<int64_t> dims{64, 48, 24, 8};
  Mlp f(dims, 0.0, false), h(dims, 0.0, false, torch::kBFloat16);
  {
    torch::NoGradGuard ng;
    auto fp = f->parameters(), hp = h->parameters();
    for (size_t i = 0; i < fp.size(); ++i) hp[i].copy_(fp[i]);
  }
  auto x = torch::randn({200, 64});
  auto yf = f->forward(x), yh = h->forward(x);
  EXPECT_EQ(yh.scalar_type(), torch::kFloat32);
  // bfloat16 operands (8-bit mantissa): close to float32, but not float32 itself.
  EXPECT_LT(relative_error(yh, yf), 0.02);
  EXPECT_FALSE(torch::equal(yh, yf));
  auto w = torch::randn({200, 8});
  (yf * w).sum().backward();
  (yh * w).sum().backward();
  auto fp = f->parameters(), hp = h->parameters();
  for (size_t i = 0; i < fp.size(); ++i) {
    EXPECT_EQ(hp[i].scalar_type(), torch::kFloat32);  // float32 master weights
    EXPECT_EQ(hp[i].grad().scalar_type(), torch::kFloat32);
    // Hidden units within bfloat16 rounding of zero can flip their ReLU mask, so earlier
    // layers' gradients differ by a few percent (measured 0.5-12% here), in direction little.
    const double cos = torch::cosine_similarity(hp[i].grad().flatten(), fp[i].grad().flatten(), 0).item<double>();
    EXPECT_GT(cos, 0.99) << "parameter " << i;
    EXPECT_LT(relative_error(hp[i].grad(), fp[i].grad()), 0.2) << "parameter " << i;
  }
  // BatchNorm runs in float32 between bfloat16 Linears.
  Mlp nb(std::vector<int64_t>{64, 32, 8}, 0.0, true, torch::kBFloat16);
  EXPECT_EQ(nb->forward(x).scalar_type(), torch::kFloat32);
}

TEST(QuantRqvae, ArchitectureRecordKeepsTheDtype) {
  TokenizerOptions t;
  t.dtype = MlpDtype::kBfloat16;
  auto o = RqvaeOptions::from(t, 384);
  auto j = o.to_json();
  EXPECT_EQ(j["dtype"], "bfloat16");
  EXPECT_EQ(RqvaeOptions::from_json(j).dtype, MlpDtype::kBfloat16);
  Rqvae m(o);
  EXPECT_EQ(m->encoder->compute, torch::kBFloat16);
  EXPECT_EQ(m->decoder->compute, torch::kBFloat16);
  j.erase("dtype");  // checkpoints written before the option existed
  EXPECT_EQ(RqvaeOptions::from_json(j).dtype, MlpDtype::kFloat32);
  j["dtype"] = "float16";
  EXPECT_THROW(RqvaeOptions::from_json(j), UsageError);
  Config c;
  c.set("tokenizer.dtype=bfloat16");
  EXPECT_EQ(c.tokenizer.dtype, MlpDtype::kBfloat16);
  EXPECT_NO_THROW(c.validate());
  EXPECT_THROW(c.set("tokenizer.dtype=fp16"), UsageError);
}

TEST(QuantOptim, FusedAdamWMatchesAdamW) {
  torch::manual_seed(10);
  auto w0 = torch::randn({300, 70}), b0 = torch::randn({70});
  auto wa = w0.clone().set_requires_grad(true), ba = b0.clone().set_requires_grad(true);
  auto wb = w0.clone().set_requires_grad(true), bb = b0.clone().set_requires_grad(true);
  auto opts = torch::optim::AdamWOptions(3e-3).weight_decay(0.1);
  torch::optim::AdamW ref({wa, ba}, opts);
  FusedAdamW fused({wb, bb}, opts);
  auto x = torch::randn({16, 300});
  for (int step = 0; step < 5; ++step) {
    for (auto* pr : {&ref, static_cast<torch::optim::AdamW*>(&fused)}) pr->zero_grad();
    (torch::mm(x, wa) + ba).tanh().pow(2).sum().backward();
    (torch::mm(x, wb) + bb).tanh().pow(2).sum().backward();
    ref.step();
    fused.step();
  }
  EXPECT_TRUE(torch::allclose(wa, wb, 1e-5, 1e-6)) << (wa - wb).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(ba, bb, 1e-5, 1e-6));
  // Its state is AdamW's: the step count and moments serialise like AdamW's.
  auto key = compat::optimizer_state_key(fused, wb);
  const auto& st = static_cast<const torch::optim::AdamWParamState&>(*fused.state().at(key));
  EXPECT_EQ(st.step(), 5);
  const auto& rs = static_cast<const torch::optim::AdamWParamState&>(*ref.state().at(compat::optimizer_state_key(ref, wa)));
  EXPECT_TRUE(torch::allclose(st.exp_avg_sq(), rs.exp_avg_sq(), 1e-5, 1e-9));
}

// ---------------------------------------------------------------------------------------
// LETTER regularisers: finite differences in double precision

template <class F>
void expect_gradient_matches(F loss_of, torch::Tensor x, double tol, const std::string& what) {
  x = x.clone().set_requires_grad(true);
  auto g = torch::autograd::grad({loss_of(x)}, {x})[0];
  auto xd = x.detach();
  auto flat = xd.view(-1);
  const double h = 1e-6;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double v = flat[i].item<double>();
    flat[i] = v + h;
    const double up = loss_of(xd).template item<double>();
    flat[i] = v - h;
    const double dn = loss_of(xd).template item<double>();
    flat[i] = v;
    const double fd = (up - dn) / (2 * h);
    EXPECT_NEAR(g.view(-1)[i].template item<double>(), fd, tol * std::max(1.0, std::fabs(fd))) << what << " entry " << i;
  }
}

TEST(QuantLosses, CollaborativeGradientMatchesFiniteDifferences) {
  torch::manual_seed(5);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto zq = torch::randn({6, 4}, opts), cf = torch::randn({6, 4}, opts);
  expect_gradient_matches([&](const torch::Tensor& z) { return collaborative_loss(z, cf); }, zq, 1e-6, "cf loss");
  // Value: -mean_i log softmax_j(z_i . h_j)[i].
  auto logits = torch::mm(zq, cf.t());
  auto expect = -(logits.diag() - logits.logsumexp(1)).mean().item<double>();
  EXPECT_NEAR(collaborative_loss(zq, cf).item<double>(), expect, 1e-12);
  // CF vectors are constants: no gradient flows to them.
  auto cfg = cf.clone().set_requires_grad(true);
  auto l = collaborative_loss(zq.clone().set_requires_grad(true), cfg);
  l.backward();
  EXPECT_FALSE(cfg.grad().defined() && cfg.grad().abs().sum().item<double>() > 0);
}

TEST(QuantLosses, DiversityGradientMatchesFiniteDifferences) {
  torch::manual_seed(6);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto codebook = torch::randn({8, 3}, opts);
  auto codes = torch::tensor({0, 3, 3, 5, 7}, torch::kInt64);
  auto pos = torch::tensor({1, 2, 4, 6, -1}, torch::kInt64);  // the last sample has no positive
  expect_gradient_matches([&](const torch::Tensor& c) { return diversity_loss(c, codes, pos); }, codebook, 1e-6,
                          "diversity loss");
  // Value by hand: CE over k != c of e_c . e_k toward p, samples with p >= 0.
  double expect = 0;
  for (int i = 0; i < 4; ++i) {
    auto c = codes[i].item<int64_t>();
    auto s = torch::mv(codebook, codebook[c]);
    s[c] = -1e12;
    expect += -(s[pos[i].item<int64_t>()] - s.logsumexp(0)).item<double>();
  }
  EXPECT_NEAR(diversity_loss(codebook, codes, pos).item<double>(), expect / 4, 1e-12);
}

TEST(QuantLosses, PositivesAreOtherMembersOfTheSameCluster) {
  auto labels = torch::tensor({0, 1, 0, 2, 1, 0, 2, 2, 0, 3}, torch::kInt64);  // cluster 3 is a singleton
  auto cl = CodeClusters::from_labels(labels, 4);
  auto codes = torch::arange(10, torch::kInt64).repeat({500});
  auto gen = at::detail::createCPUGenerator(1);
  auto p = sample_positives(cl, codes, gen);
  std::map<std::pair<int64_t, int64_t>, int64_t> count;
  for (int64_t i = 0; i < codes.numel(); ++i) {
    const int64_t c = codes[i].item<int64_t>(), q = p[i].item<int64_t>();
    if (c == 9) {
      EXPECT_EQ(q, -1);
      continue;
    }
    ASSERT_NE(q, c);
    ASSERT_EQ(labels[q].item<int64_t>(), labels[c].item<int64_t>());
    ++count[{c, q}];
  }
  // Uniform over the other members: code 0 (cluster of 4) -> each of 2, 5, 8 about 1/3.
  for (int64_t q : {2, 5, 8}) {
    const int64_t k = count[std::make_pair(int64_t{0}, q)];
    EXPECT_GT(k, 120) << q;
    EXPECT_LT(k, 215) << q;
  }
  auto gen2 = at::detail::createCPUGenerator(1);
  EXPECT_TRUE(torch::equal(p, sample_positives(cl, codes, gen2))) << "same seed, same draw";
}

// ---------------------------------------------------------------------------------------
// Collision resolution (b.8)

TEST(QuantCodes, HungarianResolutionOnAHandExample) {
  // Three items share (0, 1); item 3 has (0, 2). Last codebook K = 4 in 1-d: codes at 0, 1, 2, 3.
  auto codes = torch::tensor({0, 1, 0, 1, 0, 1, 0, 2}, torch::kInt64).view({4, 2});
  auto residual = torch::tensor({1.1f, 0.2f, 2.9f, 2.0f}).view({4, 1});
  auto codebook = torch::tensor({0.0f, 1.0f, 2.0f, 3.0f}).view({4, 1});
  ResolveReport rep;
  auto out = resolve_collisions(codes, residual, codebook, torch::Tensor(), &rep);
  // Free codes under prefix 0: {0, 1, 3} (2 is taken by item 3). Optimal: 1.1 -> 1, 0.2 -> 0, 2.9 -> 3.
  auto expect = torch::tensor({0, 1, 0, 0, 0, 3, 0, 2}, torch::kInt64).view({4, 2});
  EXPECT_TRUE(torch::equal(out, expect)) << out;
  EXPECT_EQ(rep.collisions_before, 2);
  EXPECT_EQ(rep.groups_before, 1);
  EXPECT_EQ(rep.max_group_before, 3);
  EXPECT_EQ(rep.reassigned, 2);
  EXPECT_FALSE(rep.extra_level);
  EXPECT_EQ(rep.distinct_after, 4);
}

TEST(QuantCodes, IdenticalEmbeddingsAndFullPrefixesGetAnExtraLevel) {
  // Items 0,1 identical; prefix (1) holds 3 distinct items for K = 2 last codes.
  auto codes = torch::tensor({0, 0, 0, 0, 1, 0, 1, 0, 1, 1}, torch::kInt64).view({5, 2});
  auto residual = torch::tensor({0.5f, 0.5f, 0.1f, 0.2f, 0.9f}).view({5, 1});
  auto codebook = torch::tensor({0.0f, 1.0f}).view({2, 1});
  auto identity = torch::tensor({0, 0, 2, 3, 4}, torch::kInt64);
  ResolveReport rep;
  auto out = resolve_collisions(codes, residual, codebook, identity, &rep);
  ASSERT_EQ(out.size(1), 3);
  EXPECT_TRUE(rep.extra_level);
  EXPECT_EQ(rep.identical_items, 2);
  EXPECT_EQ(rep.full_prefix_items, 2);
  EXPECT_EQ(std::get<0>(torch::unique_dim(out, 0)).size(0), 5);
  // Identical items keep their common L-tuple and differ in the extra level.
  EXPECT_TRUE(torch::equal(out[0].narrow(0, 0, 2), out[1].narrow(0, 0, 2)));
  EXPECT_EQ(out[0][2].item<int64_t>() + out[1][2].item<int64_t>(), 1);
}

TEST(QuantCodes, ResolutionAlwaysYieldsUniqueCodes) {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t n = 50 + rng() % 400, L = 1 + rng() % 3, K = 2 + rng() % 6, D = 3;
    auto gen = at::detail::createCPUGenerator(trial);
    // Few codes per level and many duplicate items: collisions, identical rows, full prefixes.
    auto codes = torch::randint(0, K, {n, L}, gen, torch::kInt64);
    codes.select(1, 0).clamp_max_(trial % 2);  // squeeze the first level
    auto residual = torch::randn({n, D}, gen);
    auto dup = torch::randint(0, n, {n / 3}, gen, torch::kInt64);
    for (int64_t i = 0; i < dup.numel(); ++i) {
      const int64_t src = dup[i].item<int64_t>(), dst = (src * 7 + 3) % n;
      residual[dst] = residual[src];
      codes[dst] = codes[src];
    }
    auto identity = identical_rows(residual);
    auto codebook = torch::randn({K, D}, gen);
    ResolveReport rep;
    auto out = resolve_collisions(codes, residual, codebook, identity, &rep);
    ASSERT_EQ(std::get<0>(torch::unique_dim(out, 0)).size(0), n) << "trial " << trial;
    EXPECT_EQ(rep.distinct_after, n);
    // Only the last level (and the extra one) may change; items that did not collide keep codes.
    if (L > 1) {
      EXPECT_TRUE(torch::equal(out.narrow(1, 0, L - 1), codes.narrow(1, 0, L - 1)));
    }
    auto [uniq, inverse, counts] = torch::unique_dim(codes, 0, true, true, true);
    auto single = counts.index_select(0, inverse) == 1;
    EXPECT_TRUE(torch::equal(out.narrow(1, 0, L).index({single}), codes.index({single})));
    EXPECT_EQ(out.size(1), rep.extra_level ? L + 1 : L);
  }
}

TEST(QuantCodes, IdenticalRows) {
  auto x = torch::tensor({1.f, 2.f, 3.f, 4.f, 1.f, 2.f, 1.f, 2.5f}).view({4, 2});
  auto id = identical_rows(x);
  EXPECT_TRUE(torch::equal(id, torch::tensor({0, 1, 0, 3}, torch::kInt64)));
}

// ---------------------------------------------------------------------------------------
// Report metrics

TEST(QuantReport, LevelStatsCollisionsAndTable4ByHand) {
  auto codes = torch::tensor({0, 1, 0, 1, 1, 2, 3, 2}, torch::kInt64).view({4, 2});
  auto st = level_stats(codes, 4);
  EXPECT_EQ(st[0]["used"], 3);                    // level a: codes 0, 0, 1, 3
  EXPECT_EQ(st[0]["largest_bucket"], 2);
  EXPECT_NEAR(st[0]["entropy_bits"].get<double>(), 1.5, 1e-12);  // p = 1/2, 1/4, 1/4
  EXPECT_NEAR(st[0]["perplexity"].get<double>(), std::pow(2.0, 1.5), 1e-12);
  EXPECT_NEAR(st[0]["usage"].get<double>(), 0.75, 1e-12);
  EXPECT_EQ(st[1]["used"], 2);
  EXPECT_NEAR(collision_stats(codes).rate(), 0.25, 1e-12);  // (0,1) twice
  // CF: items 0<->1 nearest each other, 2<->3 nearest each other.
  auto cf = torch::tensor({1.f, 0.f, 0.9f, 0.1f, 0.f, 1.f, 0.1f, 0.9f}).view({4, 2});
  // Pairs (0,1): codes equal in both positions -> 1; (2,3): (1,2) vs (3,2) -> 1/2.
  EXPECT_NEAR(cf_neighbor_overlap(codes, cf, 2), (1 + 1 + 0.5 + 0.5) / 4.0, 1e-12);
  EXPECT_NEAR(cf_neighbor_overlap(codes, cf, 1), (1 + 1 + 0 + 0) / 4.0, 1e-12);
}

TEST(QuantReport, SvgHasTitleAxesAndOneBarPerUsedCode) {
  auto svg = code_frequency_svg(torch::tensor({0, 0, 0, 2, 2, 5}, torch::kInt64), 8, "Level-1 <test>");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("Level-1 &lt;test&gt;"), std::string::npos);
  EXPECT_NE(svg.find("items per code"), std::string::npos);
  EXPECT_NE(svg.find("code rank"), std::string::npos);
  EXPECT_NE(svg.find("3 of 8 codes used"), std::string::npos);
  size_t bars = 0;
  for (size_t p = svg.find("fill=\"#3b6ea8\""); p != std::string::npos; p = svg.find("fill=\"#3b6ea8\"", p + 1)) ++bars;
  EXPECT_EQ(bars, 3u);
}

// ---------------------------------------------------------------------------------------
// Presets, methods, inputs

TEST(QuantTokenizer, PresetsAndMethods) {
  TokenizerOptions t;
  t.lr = 0.5;
  t.preset = TokenizerPreset::kPaper;
  auto changed = apply_preset(t);
  EXPECT_EQ(t.lr, 1e-3);
  EXPECT_EQ(t.epochs, 10000);
  EXPECT_EQ(changed, (std::vector<std::string>{"lr"}));
  t.preset = TokenizerPreset::kQuick;
  apply_preset(t);
  EXPECT_EQ(t.epochs, 1000);  // <= 1/10 of the paper's epochs (issue #5)
  EXPECT_EQ(t.lr, 6e-3);
  TokenizerOptions tg;
  tg.method = TokenizerMethod::kTiger;  // collapses at lr 6e-3: the previous quick schedule
  tg.preset = TokenizerPreset::kQuick;
  apply_preset(tg);
  EXPECT_EQ(tg.epochs, 800);
  EXPECT_EQ(tg.lr, 4e-3);
  EXPECT_EQ(t.schedule, LrSchedule::kCosine);
  EXPECT_GT(t.warmup_epochs, 0);
  // Keys set explicitly (--set, flags) keep their value.
  TokenizerOptions k;
  k.lr = 0.5;
  k.preset = TokenizerPreset::kQuick;
  EXPECT_EQ(apply_preset(k, {"lr"}), (std::vector<std::string>{"epochs", "eval_every", "schedule", "warmup_epochs"}));
  EXPECT_EQ(k.lr, 0.5);
  EXPECT_EQ(k.epochs, 1000);
  Config bad;
  EXPECT_THROW(bad.set("tokenizer.preset=fast"), UsageError);
  TokenizerOptions g;
  g.method = TokenizerMethod::kTiger;
  auto e = effective_options(g);
  EXPECT_EQ(e.alpha, 0.0);
  EXPECT_EQ(e.beta, 0.0);
  EXPECT_EQ(e.sk_epsilons, (std::vector<double>(4, 0.0)));
  EXPECT_EQ(init_size_bounds(12101, 256), (std::pair<int64_t, int64_t>{23, 92}));   // b.2 Beauty
  EXPECT_EQ(init_size_bounds(9922, 256), (std::pair<int64_t, int64_t>{19, 76}));    // b.2 Instruments
  EXPECT_EQ(cluster_size_bounds(256, 10), (std::pair<int64_t, int64_t>{10, 60}));   // b.5
}

TEST(QuantTokenizer, BadInputsNameTheProblem) {
  auto in = tiny_inputs();
  TokenizerInputs ti{in.emb, in.cf, "emb.npy", "cf.npy"};
  auto t = tiny_options();
  t.e_dim = 16;  // CF vectors are 32-d
  EXPECT_NE(error_of([&] { check_inputs(t, ti); }).find("tokenizer.e_dim=32"), std::string::npos);
  t.alpha = 0;
  EXPECT_EQ(error_of([&] { check_inputs(t, ti); }), "");  // fine without the collaborative loss
  t = tiny_options();
  TokenizerInputs rows{in.emb, in.cf.narrow(0, 0, 400), "emb.npy", "cf.npy"};
  EXPECT_NE(error_of([&] { check_inputs(t, rows); }).find("cf.npy has 400 rows but emb.npy has 407"),
            std::string::npos);
  auto bad = in.emb.clone();
  bad[17][3] = NAN;
  TokenizerInputs nan{bad, in.cf, "emb.npy", "cf.npy"};
  EXPECT_NE(error_of([&] { check_inputs(t, nan); }).find("row 17 contains NaN"), std::string::npos);
  TokenizerInputs nocf{in.emb, torch::Tensor(), "emb.npy", ""};
  EXPECT_NE(error_of([&] { check_inputs(t, nocf); }).find("needs CF vectors"), std::string::npos);
  t.codebook_size = 500;
  EXPECT_NE(error_of([&] { check_inputs(t, ti); }).find("exceeds the 407 items"), std::string::npos);
  TokenizerInputs vec{torch::rand({5}), torch::Tensor(), "emb.npy", ""};
  EXPECT_NE(error_of([&] { check_inputs(tiny_options(), vec); }).find("(N, D) matrix"), std::string::npos);
  test::TempDir dir;
  t = tiny_options();
  t.embeddings = dir.path("missing.npy");
  EXPECT_NE(error_of([&] { load_inputs(t, ""); }).find("embeddings not found"), std::string::npos);
  io::write_npy(dir.path("e.npy"), in.emb);
  t.embeddings = dir.path("e.npy");
  t.cf = dir.path("nocf.npy");
  EXPECT_NE(error_of([&] { load_inputs(t, ""); }).find("CF vectors not found"), std::string::npos);
  Config c;
  c.tokenizer.sk_epsilons = {0, 0, 0, 1e-4};
  EXPECT_THROW(c.validate(), UsageError);
}

// ---------------------------------------------------------------------------------------
// Training: planted topics, determinism, resume

namespace {
// The fraction of same-topic item pairs that share their first-level code, and that
// fraction over all pairs (chance).
std::pair<double, double> topic_sharing(const torch::Tensor& codes, const std::vector<int64_t>& topic) {
  auto c0 = codes.select(1, 0).contiguous();
  const int64_t* c = c0.data_ptr<int64_t>();
  const int64_t n = c0.size(0);
  int64_t same_topic = 0, same_topic_same_code = 0, pairs = 0, same_code = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const bool st = topic[i] == topic[j], sc = c[i] == c[j];
      ++pairs;
      same_code += sc;
      same_topic += st;
      same_topic_same_code += st && sc;
    }
  return {static_cast<double>(same_topic_same_code) / same_topic, static_cast<double>(same_code) / pairs};
}
}  // namespace

TEST(QuantTokenizer, PlantedTopicsShareFirstLevelCodes) {
  torch::set_num_threads(2);
  auto in = tiny_inputs();
  TokenizerInputs ti{in.emb, in.cf, "tiny-emb", "tiny-cf"};
  auto res = run_tokenizer(tiny_options(20), ti, TokenizerRunEnv{});
  const int64_t n = res.codes.size(0);
  auto [within, chance] = topic_sharing(res.codes, in.topic);
  EXPECT_GT(within, 5 * chance) << "same-topic pairs share level-1 codes " << within << " vs chance " << chance;
  EXPECT_GT(within, 0.5);
  EXPECT_EQ(std::get<0>(torch::unique_dim(res.codes, 0)).size(0), n);
  EXPECT_EQ(res.stats["collisions"]["collisions_after"], 0);
  EXPECT_GT(res.stats["table4_overlap"].get<double>(), 0.3);  // CF neighbours share topic codes
}

TEST(QuantTokenizer, DeterministicAndResumable) {
  torch::set_num_threads(2);
  auto in = tiny_inputs();
  TokenizerInputs ti{in.emb, in.cf, "tiny-emb", "tiny-cf"};
  auto t = tiny_options();
  t.cluster_every = 2;
  t.checkpoint_every = 2;
  test::TempDir d1, d2, d3;
  TokenizerRunEnv env;
  env.out = d1.path("run");
  auto a = run_tokenizer(t, ti, env);
  env.out = d2.path("run");
  auto b = run_tokenizer(t, ti, env);
  EXPECT_TRUE(torch::equal(a.argmin_codes, b.argmin_codes));
  EXPECT_TRUE(torch::equal(a.codes, b.codes));
  EXPECT_EQ(a.stats["recon_mse"], b.stats["recon_mse"]);
  // Interrupted after 3 epochs (cluster labels of epoch 2 in the checkpoint), then resumed.
  auto half = t;
  half.epochs = 3;
  env.out = d3.path("run");
  run_tokenizer(half, ti, env);
  env.resume = true;
  // The resumed run keeps the schedule of the full run: same lr horizon from the start.
  auto c = [&] {
    // A 3-epoch run uses a 3-epoch horizon only for cosine; the default schedule is constant.
    return run_tokenizer(t, ti, env);
  }();
  EXPECT_TRUE(torch::equal(a.argmin_codes, c.argmin_codes));
  EXPECT_EQ(a.stats["recon_mse"], c.stats["recon_mse"]);
  for (const char* f : {"codes.json", "codes.npy", "tokenizer.pt", "tokenizer.best.pt", "tokenizer.resume.pt",
                        "stats.json", "code_freq.svg"})
    EXPECT_TRUE(path_exists(d3.path(std::string("run/") + f))) << f;
  // A resume with a different architecture is refused.
  auto other = t;
  other.e_dim = 16;
  other.alpha = 0;
  EXPECT_NE(error_of([&] { run_tokenizer(other, ti, env); }).find("different method, architecture"),
            std::string::npos);
}

TEST(QuantTokenizer, Bfloat16TrainingTracksFloat32) {
  torch::set_num_threads(2);
  auto in = tiny_inputs();
  TokenizerInputs ti{in.emb, in.cf, "tiny-emb", "tiny-cf"};
  auto t = tiny_options(20);
  TokenizerRunEnv env;
  auto f = run_tokenizer(t, ti, env);
  t.dtype = MlpDtype::kBfloat16;
  auto h = run_tokenizer(t, ti, env);
  auto h2 = run_tokenizer(t, ti, env);
  EXPECT_TRUE(torch::equal(h.codes, h2.codes)) << "bfloat16 training must be deterministic";
  EXPECT_EQ(h.stats["training"]["arch"]["dtype"], "bfloat16");
  const double rf = f.stats["recon_mse"].get<double>(), rh = h.stats["recon_mse"].get<double>();
  // 20 epochs on 407 items: the float32 run's own reconstruction moves 0.0020-0.0024 over its
  // last evaluations; bfloat16 ends within half of it (0.0025 vs 0.0020 measured). On Beauty
  // (1,000 epochs) the two end within 1% (README).
  EXPECT_LT(rh, 1.5 * rf) << "recon " << rh << " (bfloat16) vs " << rf << " (float32)";
  EXPECT_LT(rh, 0.01) << "bfloat16 training must reduce the reconstruction error (init ~0.015)";
  EXPECT_EQ(std::get<0>(torch::unique_dim(h.codes, 0)).size(0), h.codes.size(0));
  auto [within, chance] = topic_sharing(h.codes, in.topic);
  EXPECT_GT(within, 5 * chance) << "same-topic pairs share level-1 codes " << within << " vs chance " << chance;
}

TEST(QuantTokenizer, TigerAndRkmeansMethods) {
  torch::set_num_threads(2);
  auto in = tiny_inputs();
  TokenizerInputs ti{in.emb, torch::Tensor(), "tiny-emb", ""};
  auto t = tiny_options();
  t.method = TokenizerMethod::kTiger;  // no CF vectors needed
  t.epochs = 4;
  auto r = run_tokenizer(t, ti, TokenizerRunEnv{});
  EXPECT_EQ(r.stats["training"]["alpha"], 0.0);
  EXPECT_TRUE(r.stats["table4_overlap"].is_null());
  EXPECT_EQ(std::get<0>(torch::unique_dim(r.codes, 0)).size(0), 407);
  t.method = TokenizerMethod::kRkmeans;
  auto k = run_tokenizer(t, ti, TokenizerRunEnv{});
  EXPECT_EQ(std::get<0>(torch::unique_dim(k.codes, 0)).size(0), 407);
  // Residual k-means with b.2 bounds: every level-1 code holds between 12 and 48 items.
  auto counts = torch::bincount(k.argmin_codes.select(1, 0), {}, 16);
  EXPECT_GE(counts.min().item<int64_t>(), 12);
  EXPECT_LE(counts.max().item<int64_t>(), 48);
  EXPECT_LT(k.stats["recon_mse"].get<double>(), in.emb.pow(2).mean().item<double>());
}

// ---------------------------------------------------------------------------------------
// CLI

TEST(QuantCli, TrainTokenizerAndImportCodes) {
  auto in = tiny_inputs();
  test::TempDir dir;
  const std::string run = dir.path("run");
  ensure_dir(run);
  io::write_npy(run + "/items.emb.npy", in.emb);
  io::write_npy(run + "/items.cf.npy", in.cf);
  auto r = run_cli({"train-tokenizer", "--config", std::string(LETTER_SOURCE_DIR) + "/configs/tiny.json", "--set",
                    "data.path=" + test::tiny_dir(), "--set", "tokenizer.epochs=3", "--set", "tokenizer.kmeans_restarts=1", "--out", run, "--quiet",
                    "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("collisions after resolution:  0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Table 4 overlap"), std::string::npos) << r.out;
  Dataset ds = load_dataset([] {
    DataOptions o;
    o.path = test::tiny_dir();
    return o;
  }());
  auto codes = read_index_json(run + "/codes.json", ds).codes;
  EXPECT_TRUE(torch::equal(codes, io::read_npy(run + "/codes.npy")));
  EXPECT_EQ(std::get<0>(torch::unique_dim(codes, 0)).size(0), 407);
  auto st = read_json_file(run + "/stats.json");
  EXPECT_EQ(st["method"], "letter");
  EXPECT_EQ(st["training"]["epochs"], 3);
  EXPECT_EQ(read_json_file(run + "/config.json")["tokenizer"]["epochs"], 3);
  // import-codes reads them back and reports the same usage.
  r = run_cli({"data", "import-codes", run + "/codes.json", test::tiny_dir(), "--cf", run + "/items.cf.npy",
               "--levels", "3", "--json", "--quiet", "--set", "tokenizer.codebook_size=16"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["collisions"]["collisions_before"], 0);
  EXPECT_EQ(j["collisions"]["groups_before"], 0);
  EXPECT_EQ(j["collisions"]["max_group_before"], 1);
  EXPECT_EQ(j["collisions"]["resolved"], false);
  EXPECT_EQ(j["code_levels"][0]["used"], st["code_levels"][0]["used"]);
  EXPECT_NEAR(j["table4_overlap"].get<double>(), st["table4_overlap"].get<double>(), 1e-12);
  // The printed table (what a user sees without --json).
  r = run_cli({"data", "import-codes", run + "/codes.json", test::tiny_dir(), "--cf", run + "/items.cf.npy",
               "--set", "tokenizer.codebook_size=16"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("collisions (codes as given, not resolved): 0 items (0.000%), 0 shared tuples, largest 1"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("distinct tuples: 407 of 407"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Table 4 overlap"), std::string::npos) << r.out;
  // Preset precedence: the preset overrides the config file, --set overrides the preset.
  r = run_cli({"train-tokenizer", "--config", std::string(LETTER_SOURCE_DIR) + "/configs/tiny.json", "--preset",
               "quick", "--set", "data.path=" + test::tiny_dir(), "--set", "tokenizer.epochs=2", "--set", "tokenizer.kmeans_restarts=1", "--out", run,
               "--quiet", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto cfg = read_json_file(run + "/config.json")["tokenizer"];
  EXPECT_EQ(cfg["epochs"], 2);
  EXPECT_EQ(cfg["schedule"], "cosine");
  EXPECT_EQ(cfg["preset"], "quick");
  // Errors.
  r = run_cli({"train-tokenizer", "--out", dir.path("empty"), "--quiet"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("embeddings not found"), std::string::npos) << r.err;
  r = run_cli({"train-tokenizer", "--method", "vqvae", "--quiet"});
  EXPECT_EQ(r.code, 2);
  r = run_cli({"data", "import-codes", run + "/codes.json", std::string(LETTER_SOURCE_DIR) + "/data/tiny", "--cf",
               dir.path("nope.npy"), "--quiet"});
  EXPECT_EQ(r.code, 1);
}

TEST(QuantCli, ImportOfficialCodes) {
  const std::string beauty = test::shared_data("Beauty");
  if (!path_exists(beauty + "/Beauty.index.json")) GTEST_SKIP() << "shared Beauty data not present";
  auto r = run_cli({"data", "import-codes", beauty + "/Beauty.index.json", beauty, "--json", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  // data/README.md: 12,088 distinct tuples of 12,101; level a uses 197 codes (algorithms.md a.1).
  EXPECT_EQ(j["distinct_tuples"], 12088);
  EXPECT_EQ(j["code_levels"][0]["used"], 197);
}
