// Options of the rec module (`recommender` config section): the generative recommender
// (algorithms.md c; docs/algorithms.md "Recommender").
#pragma once

#include <cstdint>
#include <string>

#include "letter/common/options.h"

namespace letter {
namespace rec {

/// Model architectures (recommender.arch; rec/data.h, rec/t5.h, rec/decoder_lm.h).
enum class Arch {
  kT5,        ///< "t5": bidirectional encoder-decoder, one sample per prefix (the paper)
  kCausalT5,  ///< "causal_t5": item-causal encoder, all positions per pass
  kDecoder,   ///< "decoder": decoder-only over code tokens, all positions per pass
};
LETTER_ENUM(Arch, {Arch::kT5, "t5"}, {Arch::kCausalT5, "causal_t5"}, {Arch::kDecoder, "decoder"})

/// Which tokens the output softmax at a code position spans (recommender.softmax).
enum class SoftmaxMode {
  kAll,    ///< every token (LETTER)
  kLevel,  ///< only the current level's code tokens (eos alone at the eos position)
};
LETTER_ENUM(SoftmaxMode, {SoftmaxMode::kAll, "all"}, {SoftmaxMode::kLevel, "level"})

/// Beam scores (recommender.beam_scores; algorithms.md c.5).
enum class BeamScores {
  kRenormalized,  ///< log-probabilities renormalised over the allowed tokens
  kHf,            ///< Hugging Face's constrained generate: unrenormalised, + eos
};
LETTER_ENUM(BeamScores, {BeamScores::kRenormalized, "renormalized"}, {BeamScores::kHf, "hf"})

/// Training schedule presets (recommender.preset; rec/presets.h).
enum class RecPreset {
  kNone,   ///< the fields as given
  kQuick,  ///< the decoder-only model with all-positions training: converges on a CPU in about an hour
  kPaper,  ///< LETTER-TIGER's schedule (algorithms.md c.4): t5, lr 5e-4, batch 1024, 200 epochs
};
LETTER_ENUM(RecPreset, {RecPreset::kNone, ""}, {RecPreset::kQuick, "quick"}, {RecPreset::kPaper, "paper"})

}  // namespace rec

/// `letter train-recommender`: the generative recommender (algorithms.md c).
struct RecommenderOptions {
  /// Item codes (LETTER index.json or codes.npy); empty = <run dir>/codes.json.
  std::string codes;
  /// Schedule preset: sets arch, lr, warmup_ratio, epochs, batch_size, dropout, patience,
  /// valid_users (rec/presets.h); fields given by --set keep their value.
  rec::RecPreset preset = rec::RecPreset::kNone;
  /// t5 = the paper's encoder-decoder, one sample per training prefix; causal_t5 = the same
  /// T5 with an item-causal encoder, every next-item target of a window in one pass;
  /// decoder = decoder-only over code tokens (decoder_layers deep), all positions per pass.
  rec::Arch arch = rec::Arch::kT5;
  int64_t encoder_layers = 4;      ///< paper 4
  int64_t decoder_layers = 4;      ///< paper 4
  int64_t d_model = 128;           ///< paper 128
  int64_t heads = 6;               ///< paper 6
  int64_t d_kv = 64;               ///< per-head size (paper 64)
  int64_t d_ff = 1024;             ///< feed-forward size (paper 1024)
  double dropout = 0.1;            ///< paper 0.1
  int64_t rel_buckets = 32;        ///< relative position buckets (paper 32)
  int64_t rel_max_distance = 128;  ///< paper 128
  double tau = 0.7;                ///< ranking-guided loss temperature (paper best 0.7)
  /// Output softmax over: level (the current level's K codes; default, chosen by
  /// measurement: better validation NDCG@10 on Beauty and Instruments, docs/algorithms.md)
  /// | all (every code token, LETTER's behaviour).
  rec::SoftmaxMode softmax = rec::SoftmaxMode::kLevel;
  double lr = 5e-4;            ///< AdamW (paper 5e-4)
  double weight_decay = 0.01;  ///< not on norms (paper 0.01)
  double warmup_ratio = 0.01;  ///< share of steps for linear warm-up (paper 0.01)
  int64_t epochs = 200;        ///< paper 200
  int64_t batch_size = 1024;   ///< effective batch (paper 1024); next-item targets per batch
  double grad_clip = 1.0;      ///< global gradient-norm clip (paper 1.0)
  int64_t eval_every = 1;      ///< epochs between validations
  int64_t patience = 20;       ///< validations without NDCG@10 improvement (paper 20)
  int64_t beam = 20;           ///< validation beam size (paper 20)
  /// Validation users scored for early stopping (a seeded subset; 0 = all, the paper).
  int64_t valid_users = 0;
  /// Beam scores: log-probabilities renormalised over the allowed tokens, or "hf" = HF's
  /// unrenormalised log-probabilities of the full softmax (LETTER-TIGER, algorithms.md c.5).
  rec::BeamScores beam_scores = rec::BeamScores::kRenormalized;
  /// bf16 autocast for training where bfloat16 products run in hardware: CUDA, and CPUs with
  /// AMX or AVX512-BF16 (others: float32). Evaluation and beam search stay float32.
  bool bf16 = true;

  template <class V>
  void visit(V& v) {
    v.field("codes", codes, "item codes (index.json or codes.npy); empty = run dir codes.json");
    v.field("preset", preset, "schedule preset: quick (decoder, converges on a CPU) | paper (LETTER-TIGER's)");
    v.field("arch", arch, "model: t5 (paper, per prefix) | causal_t5 | decoder (all positions)");
    v.field("encoder_layers", encoder_layers, "encoder layers", range(1, 64));
    v.field("decoder_layers", decoder_layers, "decoder layers", range(1, 64));
    v.field("d_model", d_model, "model width", range(1, 16384));
    v.field("heads", heads, "attention heads", range(1, 256));
    v.field("d_kv", d_kv, "per-head size", range(1, 4096));
    v.field("d_ff", d_ff, "feed-forward size", range(1, 65536));
    v.field("dropout", dropout, "dropout rate", range(0, 0.99));
    v.field("rel_buckets", rel_buckets, "relative position buckets", range(2, 4096));
    v.field("rel_max_distance", rel_max_distance, "relative position max distance", range(2, 1 << 20));
    v.field("tau", tau, "ranking-guided loss temperature (1 = plain CE)", range(0.01, 100));
    v.field("softmax", softmax, "output softmax over");
    v.field("lr", lr, "learning rate", range(0, 10));
    v.field("weight_decay", weight_decay, "AdamW weight decay (not on norms)", range(0, 10));
    v.field("warmup_ratio", warmup_ratio, "share of steps in linear warm-up", range(0, 1));
    v.field("epochs", epochs, "max epochs", range(1, 1000000));
    v.field("batch_size", batch_size, "next-item targets per batch", range(1, 1 << 20));
    v.field("grad_clip", grad_clip, "gradient-norm clip (0 = off)", range(0, 1e6));
    v.field("eval_every", eval_every, "epochs between validations", range(1, 1000000));
    v.field("patience", patience, "validations without improvement before stopping", range(1, 1000000));
    v.field("beam", beam, "validation beam size", range(1, 1024));
    v.field("valid_users", valid_users, "validation users for early stopping (0 = all)", range(0, 1e12));
    v.field("beam_scores", beam_scores, "beam scores over allowed tokens");
    v.field("bf16", bf16, "bf16 autocast for training (CUDA; CPUs with AMX or AVX512-BF16)");
  }
};

}  // namespace letter
