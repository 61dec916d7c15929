// Size-constrained k-means speed (issue #5): the exact assignment step (min-cost flow) for
// N = 12,101 points, K = 256 clusters, D = 32, bounds of algorithms.md b.2 (23..92), from
// k-means++ centres (cold start) and along Lloyd iterations (warm-started prices); plus a
// whole constrained k-means run with the paper's 10 iterations x 10 restarts, and the
// diversity clustering of one codebook (256 codes into 10 groups, bounds 10..60).
//
// Usage: bench_kmeans [--items N] [--k K] [--dim D] [--threads T]
// Prints one JSON object.
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/common/bench.h"
#include "letter/common/runtime.h"
#include "letter/quant/assignment.h"
#include "letter/quant/kmeans.h"
#include "letter/quant/tokenizer.h"

using namespace letter;
using namespace letter::quant;


int main(int argc, char** argv) {
  letter::limit_openmp_spinning(argv);  // as the CLI does (runtime.h)
  auto args = parse_bench_args(argc, argv, {{"--items", "12101"}, {"--k", "256"}, {"--dim", "32"}, {"--threads", "0"}},
                               "usage: bench_kmeans [--items N] [--k K] [--dim D] [--threads T]\n");
  const int64_t n = std::stoll(args["--items"]), k = std::stoll(args["--k"]), dim = std::stoll(args["--dim"]);
  const int64_t threads = std::stoll(args["--threads"]);
  setup_logging(true);
  set_threads(threads);
  nlohmann::json out;
  out["bench"] = "kmeans";
  out["load_before"] = load_average();
  // Data: a mixture of 64 Gaussian blobs of very different sizes (Zipf weights), so that the
  // argmin assignment violates the bounds badly, plus isotropic noise.
  auto gen = at::detail::createCPUGenerator(3);
  auto centers = torch::randn({64, dim}, gen) * 3;
  auto w = torch::arange(1, 65, torch::kFloat64).pow(-1.0);
  auto blob = torch::multinomial(w, n, true, gen);
  auto x = (centers.index_select(0, blob) + torch::randn({n, dim}, gen)).contiguous();
  auto [smin, smax] = init_size_bounds(n, k);
  out["items"] = n;
  out["k"] = k;
  out["dim"] = dim;
  out["size_min"] = smin;
  out["size_max"] = smax;

  // Lloyd iterations with timing of the assignment step.
  auto c = kmeans_pp_init(x, k, 1);
  std::vector<double> prices;
  nlohmann::json iters = nlohmann::json::array();
  for (int it = 0; it < 10; ++it) {
    auto d = squared_distances(x, c).contiguous();
    std::vector<double> cost(d.data_ptr<double>(), d.data_ptr<double>() + n * k);
    auto argmin_sizes = torch::bincount(d.argmin(1), {}, k);
    const int64_t violation = (argmin_sizes - smax).clamp_min(0).sum().item<int64_t>() +
                              (smin - argmin_sizes).clamp_min(0).sum().item<int64_t>();
    TransportStats st;
    Timer t;
    auto labels = constrained_assignment(cost, n, k, smin, smax, &st, &prices);
    const double secs = t.seconds();
    iters.push_back({{"iteration", it},
                     {"seconds", secs},
                     {"augmentations", st.augmentations},
                     {"argmin_violation", violation},
                     {"cost", st.cost}});
    auto lab = torch::tensor(labels, torch::kInt64);
    auto sums = torch::zeros({k, dim}).index_add_(0, lab, x);
    c = sums / torch::bincount(lab, {}, k).to(torch::kFloat32).clamp_min(1).unsqueeze(1);
  }
  out["lloyd_iterations"] = iters;
  KMeansOptions o;
  o.k = k;
  o.size_min = smin;
  o.size_max = smax;
  Timer full;
  auto r = kmeans(x, o);
  out["constrained_kmeans_10x10_seconds"] = full.seconds();
  out["constrained_kmeans_inertia"] = r.inertia;
  KMeansOptions p = o;
  p.size_min = 0;
  p.size_max = 0;
  Timer plain;
  auto u = kmeans(x, p);
  out["plain_kmeans_10x10_seconds"] = plain.seconds();
  out["plain_kmeans_inertia"] = u.inertia;
  // Diversity clustering of one codebook (b.5).
  auto codes = torch::randn({256, dim}, gen);
  auto [cmin, cmax] = cluster_size_bounds(256, 10);
  KMeansOptions q;
  q.k = 10;
  q.size_min = cmin;
  q.size_max = cmax;
  Timer div;
  for (int l = 0; l < 4; ++l) kmeans(codes, q);
  out["diversity_refresh_4_levels_seconds"] = div.seconds();
  out["load_after"] = load_average();
  out["machine"] = machine_description(torch::kCPU);
  std::cout << out.dump(2) << std::endl;
  return 0;
}
