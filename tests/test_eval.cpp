// Metrics against hand-computed values (algorithms.md d: NDCG@K = 1/log2(rank+2), IDCG = 1).
#include <gtest/gtest.h>

#include <cmath>

#include "letter/eval/metrics.h"

using namespace letter;

TEST(Metrics, HandComputedRecallAndNdcg) {
  // ranks: 0 (top), 3, 7, not found, 12
  auto ranks = torch::tensor({0, 3, 7, -1, 12}, torch::kInt64);
  auto j = ranking_metrics(ranks, {1, 5, 10, 20});
  EXPECT_EQ(j["users"], 5);
  EXPECT_DOUBLE_EQ(j["recall@1"].get<double>(), 1.0 / 5);
  EXPECT_DOUBLE_EQ(j["recall@5"].get<double>(), 2.0 / 5);
  EXPECT_DOUBLE_EQ(j["recall@10"].get<double>(), 3.0 / 5);
  EXPECT_DOUBLE_EQ(j["recall@20"].get<double>(), 4.0 / 5);
  EXPECT_NEAR(j["ndcg@5"].get<double>(), (1.0 + 1.0 / std::log2(5.0)) / 5, 1e-12);
  EXPECT_NEAR(j["ndcg@10"].get<double>(), (1.0 + 1.0 / std::log2(5.0) + 1.0 / std::log2(9.0)) / 5, 1e-12);
  EXPECT_NEAR(j["ndcg@20"].get<double>(),
              (1.0 + 1.0 / std::log2(5.0) + 1.0 / std::log2(9.0) + 1.0 / std::log2(14.0)) / 5, 1e-12);
  EXPECT_DOUBLE_EQ(j["ndcg@1"].get<double>(), j["recall@1"].get<double>());
}

TEST(Metrics, TargetRanksBreakTiesByItemId) {
  auto scores = torch::tensor({0.1f, 0.9f, 0.5f, 0.9f, 0.2f,   // target 3: one higher? no: 0.9 tie with id 1
                               1.0f, 0.0f, 0.0f, 0.0f, 0.0f},  // target 0: best
                              torch::kFloat32).view({2, 5});
  auto r = target_ranks(scores, torch::tensor({3, 0}, torch::kInt64));
  EXPECT_EQ(r[0].item<int64_t>(), 1);  // item 1 ties and has a smaller id
  EXPECT_EQ(r[1].item<int64_t>(), 0);
  auto r2 = target_ranks(scores, torch::tensor({4, 2}, torch::kInt64));
  EXPECT_EQ(r2[0].item<int64_t>(), 3);  // 0.9, 0.5, 0.9 are higher
  EXPECT_EQ(r2[1].item<int64_t>(), 2);  // 1.0 higher; item 1 ties (0.0) with a smaller id
}

TEST(Metrics, BootstrapIntervalContainsMeanAndIsSeeded) {
  auto ranks = torch::randint(-1, 30, {2000}, torch::kInt64);
  auto a = ranking_metrics(ranks, {10}, 500, 7);
  auto b = ranking_metrics(ranks, {10}, 500, 7);
  EXPECT_EQ(a, b);
  double m = a["recall@10"], lo = a["ci95"]["recall@10"][0], hi = a["ci95"]["recall@10"][1];
  EXPECT_LT(lo, m);
  EXPECT_GT(hi, m);
  // Width about 2 * 1.96 * sqrt(p (1 - p) / U).
  double expect = 2 * 1.96 * std::sqrt(m * (1 - m) / 2000);
  EXPECT_NEAR(hi - lo, expect, 0.25 * expect);
}
