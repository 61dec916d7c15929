// The RQ-VAE trainer of the methods letter and tiger: codebook initialisation by
// constrained k-means (algorithms.md b.2), epochs of shuffled batches with the
// reconstruction, quantisation, collaborative and diversity losses (b.4-b.6) and the
// diversity cluster refresh (b.5), AdamW with the lr schedule (b.7), and the evaluation of
// all items with argmin codes.
//
// Shapes: N items, D_in input size, d CF size (= e_dim when alpha > 0), L levels, K codes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/quant/inputs.h"
#include "letter/quant/losses.h"
#include "letter/quant/options.h"
#include "letter/quant/rqvae.h"

namespace letter::quant {

/// Size bounds of the diversity clustering of one codebook (b.5): size_min =
/// min(K / 2G, 10), size_max = max(60, ceil(K / G)) (paper: 10 and 60 for K = 256, G = 10).
std::pair<int64_t, int64_t> cluster_size_bounds(int64_t k, int64_t groups);

/// One training epoch's averages.
struct EpochStats {
  int64_t epoch = 0;
  double loss = 0, recon = 0, quant = 0, cf = 0, diversity = 0;
  double lr = 0;
  double seconds = 0;          ///< wall time of the epoch, cluster refresh included
  double cluster_seconds = 0;  ///< of which: the diversity cluster refresh,
  double forward_seconds = 0;  ///< forward passes and losses (Sinkhorn included),
  double sinkhorn_seconds = 0;  ///< (Sinkhorn alone),
  double backward_seconds = 0;  ///< backward passes,
  double optimizer_seconds = 0;  ///< AdamW steps
};

/// Evaluation over all items with argmin codes (b.7).
struct EvalStats {
  int64_t epoch = 0;
  double recon_mse = 0;        ///< MSE(x_hat, x) over N x D_in
  double quant_loss = 0;       ///< mean over items of the per-level codebook+commitment loss
  double collision_rate = 0;   ///< (N - distinct tuples) / N
  std::vector<int64_t> used;   ///< used codes per level
  nlohmann::json to_json() const;
};

/// All items through the model (eval mode, argmin codes).
struct Encoded {
  torch::Tensor codes;          ///< (N, L) int64
  torch::Tensor residual_last;  ///< (N, D) residual entering the last level
  torch::Tensor latent;         ///< (N, D) quantized latent (sum of code vectors)
  double recon_mse = 0;
  double quant_loss = 0;
};

/// Trains one RQ-VAE (methods letter and tiger). Construct, initialize_codebooks() once
/// (unless resuming), then train_epoch(e) for e = 0, 1, ...; evaluate() at any time.
class RqvaeTrainer {
 public:
  /// `t` must be the effective options (effective_options) and `in` checked by
  /// check_inputs (run_tokenizer does both once); `seed` is the run's master seed.
  RqvaeTrainer(const TokenizerOptions& t, const TokenizerInputs& in, torch::Device device,
               uint64_t seed);

  /// b.2: encodes all items once and fills each codebook with size-constrained k-means
  /// centres of that level's residuals (argmin residuals passed on). Returns seconds.
  double initialize_codebooks();
  /// b.5: re-clusters every codebook into `clusters` groups (constrained k-means). Returns
  /// seconds. Called by train_epoch when epoch % cluster_every == 0 and beta > 0.
  double refresh_clusters(int64_t epoch);
  /// One pass over all items in shuffled batches (b.4-b.7).
  EpochStats train_epoch(int64_t epoch);
  /// b.7 evaluation over all items.
  EvalStats evaluate(int64_t epoch);
  /// All items, argmin codes, no gradients.
  Encoded encode_all();

  Rqvae& model() { return model_; }
  torch::optim::AdamW& optimizer() { return *optimizer_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  /// Cluster labels per level ((K) int64 each; empty before the first refresh).
  std::vector<torch::Tensor> cluster_labels() const;
  void set_cluster_labels(const std::vector<torch::Tensor>& labels);
  /// Matmul FLOPs of one training epoch (forward + backward of the MLPs, code distances,
  /// the regularisers' logits), for throughput reports.
  double flops_per_epoch() const;

 private:
  TokenizerOptions t_;
  torch::Device device_;
  uint64_t seed_;
  torch::Tensor x_, cf_;  // on device
  int64_t n_;
  Rqvae model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<CodeClusters> clusters_;
  int64_t steps_per_epoch_;
};

}  // namespace letter::quant
