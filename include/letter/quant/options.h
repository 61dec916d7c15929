// Options of the quant module (`tokenizer` config section): the RQ-VAE tokenizer with the
// LETTER regularisers, TIGER's plain RQ-VAE and residual k-means (algorithms.md b;
// docs/algorithms.md "Tokenizer").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "letter/common/options.h"
#include "letter/common/schedule.h"

namespace letter {

/// Tokenizer methods (tokenizer.method).
enum class TokenizerMethod {
  kLetter,   ///< RQ-VAE + collaborative + diversity regularisers, Sinkhorn where epsilon > 0
  kTiger,    ///< plain RQ-VAE: alpha = beta = 0, argmin everywhere
  kRkmeans,  ///< residual size-constrained k-means on the embeddings, no training
};
LETTER_ENUM(TokenizerMethod, {TokenizerMethod::kLetter, "letter"}, {TokenizerMethod::kTiger, "tiger"},
            {TokenizerMethod::kRkmeans, "rkmeans"})

/// Schedule presets (tokenizer.preset; quant/presets.h).
enum class TokenizerPreset { kNone, kQuick, kPaper };
LETTER_ENUM(TokenizerPreset, {TokenizerPreset::kNone, ""}, {TokenizerPreset::kQuick, "quick"},
            {TokenizerPreset::kPaper, "paper"})

/// Arithmetic of the MLP matrix products (tokenizer.dtype).
enum class MlpDtype { kFloat32, kBfloat16 };
LETTER_ENUM(MlpDtype, {MlpDtype::kFloat32, "float32"}, {MlpDtype::kBfloat16, "bfloat16"})

/// Which weights give the codes (tokenizer.codes_from).
enum class CodesFrom { kLast, kBest };
LETTER_ENUM(CodesFrom, {CodesFrom::kLast, "last"}, {CodesFrom::kBest, "best"})

/// `letter train-tokenizer`: RQ-VAE with LETTER regularizers (algorithms.md b).
///
/// Presets (`preset`) set the training schedule (epochs, lr, warmup_epochs, schedule,
/// eval_every). Precedence: struct defaults < config file < preset < --set < flags, i.e. a
/// preset replaces the config file's schedule values, and `--set tokenizer.lr=...` still
/// overrides the preset (quant/presets.h resolve_tokenizer_options).
struct TokenizerOptions {
  TokenizerMethod method = TokenizerMethod::kLetter;
  TokenizerPreset preset = TokenizerPreset::kNone;  ///< none: use the fields as given
  /// Semantic embeddings (.npy, N x D); empty = <run dir>/items.emb.npy.
  std::string embeddings;
  /// Collaborative embeddings (.npy, N x e_dim); empty = <run dir>/items.cf.npy.
  std::string cf;
  /// Encoder hidden sizes; empty = automatic (paper [2048,...,64] for 4096-d input,
  /// proportionate for smaller inputs).
  std::vector<int64_t> layers;
  int64_t e_dim = 32;           ///< latent / code vector size (paper 32)
  int64_t levels = 4;           ///< code levels L (paper 4)
  int64_t codebook_size = 256;  ///< codes per level K (paper 256)
  double dropout = 0.0;         ///< MLP dropout (paper 0)
  bool bn = false;              ///< BatchNorm in the MLP (paper off)
  /// Arithmetic of the encoder/decoder matrix products: float32 (the paper's) or bfloat16
  /// (bfloat16 operands, float32 accumulation and master weights; AMX / AVX512-BF16 CPUs
  /// and CUDA GPUs run these products several times faster). Code assignment, Sinkhorn and
  /// the losses stay float32.
  MlpDtype dtype = MlpDtype::kFloat32;
  double mu = 0.25;           ///< commitment weight (paper 0.25)
  double quant_weight = 1.0;  ///< weight of the quantisation loss (paper 1.0)
  double alpha = 0.02;        ///< collaborative loss weight (paper best 0.02)
  double beta = 1e-4;         ///< diversity loss weight (paper best 1e-4)
  int64_t clusters = 10;      ///< diversity clusters per codebook (paper 10)
  int64_t cluster_every = 1;  ///< epochs between codebook cluster refreshes
  /// Sinkhorn epsilon per level; 0 = argmin (paper [0,0,0,0.003]).
  std::vector<double> sk_epsilons = {0.0, 0.0, 0.0, 0.003};
  int64_t sk_iters = 50;         ///< Sinkhorn iterations (paper 50)
  bool kmeans_init = true;       ///< constrained k-means codebook init over all items
  int64_t kmeans_iters = 10;     ///< Lloyd iterations of the constrained k-means (paper 10)
  int64_t kmeans_restarts = 10;  ///< k-means++ restarts, best inertia kept (paper n_init 10)
  double lr = 1e-3;              ///< AdamW learning rate (paper 1e-3)
  double weight_decay = 1e-4;    ///< AdamW weight decay (paper 1e-4)
  int64_t batch_size = 1024;     ///< items per batch (paper 1024)
  int64_t epochs = 10000;        ///< paper: 10,000 (released codes)
  int64_t eval_every = 2000;     ///< epochs between evaluations (paper 2000)
  int64_t warmup_epochs = 0;     ///< linear warm-up epochs
  LrSchedule schedule = LrSchedule::kConstant;  ///< constant (paper) | cosine
  int64_t checkpoint_every = 100;  ///< epochs between resume checkpoints (and at every eval)
  /// Which weights give the codes: last (the final epoch, as the released LETTER codes) or
  /// best (the evaluation with the lowest collision rate).
  CodesFrom codes_from = CodesFrom::kLast;

  template <class V>
  void visit(V& v) {
    v.field("method", method, "tokenizer method");
    v.field("preset", preset, "schedule preset (overrides the config file's schedule keys)");
    v.field("embeddings", embeddings, "semantic embeddings .npy; empty = run dir items.emb.npy");
    v.field("cf", cf, "CF embeddings .npy; empty = run dir items.cf.npy");
    v.field("layers", layers, "encoder hidden sizes; empty = automatic", range(1, 1 << 20));
    v.field("e_dim", e_dim, "latent and code vector size", range(1, 4096));
    v.field("levels", levels, "code levels L", range(1, 16));
    v.field("codebook_size", codebook_size, "codes per level K", range(2, 1 << 16));
    v.field("dropout", dropout, "MLP dropout", range(0, 0.99));
    v.field("bn", bn, "BatchNorm in the MLP");
    v.field("dtype", dtype,
            "encoder/decoder matmul type (bfloat16: bfloat16 products, float32 accumulation and weights)");
    v.field("mu", mu, "commitment weight", range(0, 100));
    v.field("quant_weight", quant_weight, "quantisation loss weight", range(0, 100));
    v.field("alpha", alpha, "collaborative loss weight", range(0, 100));
    v.field("beta", beta, "diversity loss weight", range(0, 100));
    v.field("clusters", clusters, "diversity clusters per codebook", range(1, 1 << 16));
    v.field("cluster_every", cluster_every, "epochs between cluster refreshes", range(1, 1000000));
    v.field("sk_epsilons", sk_epsilons, "Sinkhorn epsilon per level (0 = argmin)", range(0, 10));
    v.field("sk_iters", sk_iters, "Sinkhorn iterations", range(1, 10000));
    v.field("kmeans_init", kmeans_init, "constrained k-means codebook initialisation");
    v.field("kmeans_iters", kmeans_iters, "constrained k-means Lloyd iterations", range(1, 10000));
    v.field("kmeans_restarts", kmeans_restarts, "constrained k-means restarts", range(1, 1000));
    v.field("lr", lr, "learning rate", range(0, 10));
    v.field("weight_decay", weight_decay, "AdamW weight decay", range(0, 10));
    v.field("batch_size", batch_size, "items per batch", range(1, 1 << 24));
    v.field("epochs", epochs, "training epochs", range(1, 10000000));
    v.field("eval_every", eval_every, "epochs between evaluations", range(1, 10000000));
    v.field("warmup_epochs", warmup_epochs, "linear warm-up epochs", range(0, 10000000));
    v.field("schedule", schedule, "learning-rate schedule");
    v.field("checkpoint_every", checkpoint_every, "epochs between resume checkpoints", range(1, 10000000));
    v.field("codes_from", codes_from, "weights that give the codes");
  }
};

/// Cross-field checks of `tokenizer` (throws UsageError naming the keys).
void validate_options(const TokenizerOptions& o);

}  // namespace letter
