// `letter train-tokenizer` as a library: inputs and their checks, presets and methods,
// the RQ-VAE trainer (codebook init b.2, epochs with cluster refresh b.5, losses b.4-b.6,
// AdamW b.7, evaluation), residual k-means, collision-free codes (b.8) and the report.
//
// Methods: letter (RQ-VAE + collaborative + diversity regularisers, Sinkhorn at the levels
// with epsilon > 0), tiger (plain RQ-VAE: alpha = beta = 0, argmin everywhere), rkmeans
// (residual size-constrained k-means on the input embeddings, no training).
//
// Shapes: N items, D_in input size, d CF size (= e_dim when alpha > 0), L levels, K codes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/common/config.h"
#include "letter/quant/codes.h"
#include "letter/quant/losses.h"
#include "letter/quant/rqvae.h"

namespace letter::quant {

/// Checkpoint format tag and version of tokenizer checkpoints.
inline constexpr const char* kTokenizerFormat = "letter.tokenizer";
inline constexpr int64_t kTokenizerVersion = 1;

/// Applies a schedule preset to `t` ("" = nothing; quick | paper; anything else throws
/// UsageError). Sets epochs, lr, warmup_epochs, schedule and eval_every (quick depends on
/// t.method: tiger trains at a lower lr); returns the names of the fields it changed.
std::vector<std::string> apply_preset(TokenizerOptions& t, const std::string& preset);

/// The settings a method actually trains with: tiger forces alpha = beta = 0 and all
/// Sinkhorn epsilons to 0; letter and rkmeans keep `t`.
TokenizerOptions effective_options(const TokenizerOptions& t);

/// Size bounds of the codebook-initialisation k-means (b.2): size_min = min(N / 2K, 50),
/// size_max = max(4 size_min, ceil(N / K)) (the official code hard-codes K = 256 and
/// 4 size_min; the ceil keeps small N feasible).
std::pair<int64_t, int64_t> init_size_bounds(int64_t n, int64_t k);

/// Size bounds of the diversity clustering of one codebook (b.5): size_min =
/// min(K / 2G, 10), size_max = max(60, ceil(K / G)) (paper: 10 and 60 for K = 256, G = 10).
std::pair<int64_t, int64_t> cluster_size_bounds(int64_t k, int64_t groups);

/// Tokenizer inputs.
struct TokenizerInputs {
  torch::Tensor embeddings;     ///< (N, D_in) float32
  torch::Tensor cf;             ///< (N, d) float32, or undefined
  std::string embeddings_path;  ///< for messages and the report
  std::string cf_path;
};

/// Reads the .npy inputs named by `t` (empty paths fall back to <run_dir>/items.emb.npy and
/// <run_dir>/items.cf.npy). The CF file is required when the method uses alpha > 0 and
/// otherwise read when present (for the Table 4 metric). Runs check_inputs.
TokenizerInputs load_inputs(const TokenizerOptions& t, const std::string& run_dir);

/// Throws letter::Error naming the file for: wrong rank, no rows, NaN/Inf, CF row count
/// different from the embeddings', CF width != e_dim while alpha > 0, K > N.
void check_inputs(const TokenizerOptions& effective, const TokenizerInputs& in);

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
  /// `t` must be the effective options; `seed` the run's master seed.
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

/// Residual k-means (method rkmeans): level by level, size-constrained k-means (bounds of
/// init_size_bounds) of the residuals of the input embeddings; argmin codes.
struct ResidualKMeans {
  std::vector<torch::Tensor> codebooks;  ///< L x (K, D_in)
  torch::Tensor codes;                   ///< (N, L) int64 argmin codes
  torch::Tensor residual_last;           ///< (N, D_in)
  double recon_mse = 0;                  ///< MSE(sum of code vectors, x)
};
ResidualKMeans residual_kmeans(const TokenizerOptions& t, const torch::Tensor& x, uint64_t seed);

/// The level loop shared by residual_kmeans and the RQ-VAE codebook initialisation (b.2):
/// level l's seed is derive_seed(seed, stream + "." + l); logs per level at info when
/// verbose, else at debug.
ResidualKMeans fit_residual_levels(const TokenizerOptions& t, torch::Tensor r, uint64_t seed,
                                   const std::string& stream, bool verbose);

/// Where and how a run writes.
struct TokenizerRunEnv {
  torch::Device device{torch::kCPU};
  uint64_t seed = 42;
  std::string out;                    ///< run directory ("" = write nothing)
  bool resume = false;                ///< continue from <out>/tokenizer.resume.pt
  nlohmann::json config;              ///< resolved config (stored in checkpoints)
  std::vector<std::string> item_ids;  ///< raw item ids for codes.json ("" = 0..N-1)
  std::string title;                  ///< name used in the plot title (dataset)
};

/// Result of a run.
struct TokenizerRunResult {
  torch::Tensor argmin_codes;  ///< (N, L)
  torch::Tensor codes;         ///< (N, L) or (N, L+1), unique rows
  ResolveReport resolve;
  nlohmann::json stats;        ///< the report (also written as stats.json)
};

/// The whole stage: trains (or clusters), evaluates, resolves collisions, writes
/// codes.json, codes.npy, tokenizer.pt (+ tokenizer.best.pt, tokenizer.resume.pt while
/// training), stats.json and code_freq.svg into env.out. `t` is the resolved config section
/// (presets applied); the method's effective options are derived here.
TokenizerRunResult run_tokenizer(const TokenizerOptions& t, const TokenizerInputs& in,
                                 const TokenizerRunEnv& env);

/// Report of a code table alone (data import-codes): level stats, collisions, optional
/// Table 4 with `cf` (undefined = skipped) over the first `table4_levels` columns (0 = all).
nlohmann::json codes_report(const torch::Tensor& codes, const torch::Tensor& cf,
                            const std::string& source, int64_t table4_levels = 0);

}  // namespace letter::quant
