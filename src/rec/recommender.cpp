#include "letter/rec/recommender.h"

#include "letter/common/error.h"
#include "letter/common/runtime.h"
#include "letter/rec/data.h"

namespace letter::rec {

// ---- model ------------------------------------------------------------------------------

RecNetImpl::RecNetImpl(Arch a, const T5Options& o, const torch::Tensor& codes) : arch(a) {
  T5Options opt = o;
  opt.item_tokens = a == Arch::kCausalT5 ? codes.size(1) : 0;
  if (a == Arch::kDecoder)
    lm = register_module("lm", DecoderLM(opt));
  else
    t5 = register_module("t5", T5(opt));
  item_codes = register_buffer("item_codes", codes.to(torch::kInt64).clone());
}

GenerativeModel& RecNetImpl::generator() {
  if (lm) return *lm;
  return *t5;
}

const T5Options& RecNetImpl::options() const { return lm ? lm->options() : t5->options(); }

std::vector<torch::Tensor> RecNetImpl::decay_parameters(bool decay) {
  if (lm) return decay_group(*lm, decay);
  return decay_group(*t5, decay);
}

std::pair<torch::Tensor, torch::Tensor> RecNetImpl::training_logits(const RecBatch& b) {
  const int64_t L = item_codes.size(1);
  switch (arch) {
    case Arch::kT5:
      return {t5->forward(b.input, b.mask, b.dec_input), b.labels};
    case Arch::kCausalT5: {
      auto h = t5->decode_all_positions(b.dec_input, t5->encode(b.input, b.mask), b.mask);  // (B, R (L+1), D)
      return {t5->logits(h).view({-1, L + 1, t5->options().vocab_size}), b.labels.view({-1, L + 1})};
    }
    case Arch::kDecoder: {
      auto logits = lm->logits(lm->forward(b.input, b.mask));  // (B, R L, V)
      return {logits.view({-1, L, lm->options().vocab_size}), b.labels.view({-1, L})};
    }
  }
  LETTER_FAIL("internal: unknown architecture");
}

double RecNetImpl::forward_flops(const RecBatch& b) const {
  const double B = static_cast<double>(b.input.size(0)), S = static_cast<double>(b.input.size(1));
  if (lm) return B * lm->forward_flops(S);
  return B * t5->forward_flops(S, static_cast<double>(b.dec_input.size(1)));
}

nlohmann::json model_json(Arch arch, const T5Options& o) {
  return {{"arch", enum_name(arch)},
          {"vocab_size", o.vocab_size}, {"d_model", o.d_model},
          {"d_kv", o.d_kv},             {"heads", o.heads},
          {"d_ff", o.d_ff},             {"encoder_layers", o.encoder_layers},
          {"decoder_layers", o.decoder_layers}, {"rel_buckets", o.rel_buckets},
          {"rel_max_distance", o.rel_max_distance}, {"dropout", o.dropout}};
}

namespace {

T5Options t5_from_json(const nlohmann::json& j, const std::string& path) {
  T5Options o;
  try {
    o.vocab_size = j.at("vocab_size").get<int64_t>();
    o.d_model = j.at("d_model").get<int64_t>();
    o.d_kv = j.at("d_kv").get<int64_t>();
    o.heads = j.at("heads").get<int64_t>();
    o.d_ff = j.at("d_ff").get<int64_t>();
    o.encoder_layers = j.at("encoder_layers").get<int64_t>();
    o.decoder_layers = j.at("decoder_layers").get<int64_t>();
    o.rel_buckets = j.at("rel_buckets").get<int64_t>();
    o.rel_max_distance = j.at("rel_max_distance").get<int64_t>();
    o.dropout = j.at("dropout").get<double>();
  } catch (const nlohmann::json::exception& e) {
    LETTER_FAIL("checkpoint ", path, " has no valid model description: ", e.what());
  }
  return o;
}

}  // namespace

Recommender::Recommender(const RecommenderOptions& opt, const ItemCodes& codes, const torch::Device& dev,
                         uint64_t seed)
    : options(opt), device(dev), vocab(codes.codes) {
  torch::manual_seed(derive_seed(seed, "rec.init"));
  net = RecNet(opt.arch, T5Options::from(opt, vocab.size()), vocab.codes());
  net->to(device);
  table = PrefixTable(vocab, device);
}

Recommender Recommender::load(const std::string& path, const torch::Device& dev, CheckpointHeader* header) {
  CheckpointHeader h = read_checkpoint_header(path);
  LETTER_CHECK(h.format == kModelFormat || h.format == kStateFormat, "checkpoint ", path, " holds '", h.format,
               "', not a recommender: pass the recommender.pt written by 'letter train-recommender'");
  LETTER_CHECK(h.state.contains("model") && h.state.contains("num_items") && h.state.contains("levels"),
               "checkpoint ", path, " lacks the model description: re-run 'letter train-recommender'");
  T5Options o = t5_from_json(h.state["model"], path);
  const Arch arch = parse_enum<Arch>(h.state["model"].value("arch", std::string("t5")), path + ": model.arch");
  const int64_t n = h.state["num_items"].get<int64_t>(), L = h.state["levels"].get<int64_t>();
  Recommender r;
  r.device = dev;
  r.net = RecNet(arch, o, torch::zeros({n, L}, torch::kInt64));
  load_checkpoint(path, *r.net, nullptr, h.format, kFormatVersion);
  r.vocab = CodeVocab(r.net->item_codes);
  LETTER_CHECK(r.vocab.size() == o.vocab_size, "checkpoint ", path, ": the stored codes give ", r.vocab.size(),
               " tokens but the model has ", o.vocab_size, " (corrupt file?)");
  r.net->to(dev);
  r.table = PrefixTable(r.vocab, dev);
  r.options.softmax = parse_enum<SoftmaxMode>(h.state.value("softmax", std::string("all")), path + ": softmax");
  r.options.beam_scores =
      parse_enum<BeamScores>(h.state.value("beam_scores", std::string("renormalized")), path + ": beam_scores");
  r.options.arch = arch;
  if (header) *header = h;
  return r;
}

void Recommender::save(const std::string& path, const nlohmann::json& config, const nlohmann::json& state) const {
  CheckpointHeader h;
  h.format = kModelFormat;
  h.version = kFormatVersion;
  h.config = config;
  h.state = state;
  h.state["model"] = model_json(net->arch, net->options());
  h.state["num_items"] = vocab.num_items();
  h.state["levels"] = vocab.levels();
  h.state["softmax"] = enum_name(options.softmax);
  h.state["beam_scores"] = enum_name(options.beam_scores);
  save_checkpoint(path, *net, nullptr, h);
}

BeamSearchOptions Recommender::search_options(int64_t beam) const {
  BeamSearchOptions b;
  // More beams than distinct code tuples find nothing more and only cost memory.
  b.beam = std::min(beam, std::max<int64_t>(1, table.num_tuples()));
  b.renormalize = options.beam_scores != BeamScores::kHf;
  b.softmax = options.softmax;
  return b;
}

}  // namespace letter::rec
