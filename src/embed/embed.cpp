// `letter embed` pipeline: item texts -> encoder -> (N, D) rows, missing-text policy,
// .npy import with checks, and the sidecar JSON (see embed.h).
#include "letter/embed/embed.h"

#include <algorithm>
#include <sstream>

#include <spdlog/spdlog.h>

#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/common/runtime.h"
#include "letter/embed/bert.h"
#include "letter/embed/item_text.h"
#include "letter/embed/tfidf.h"
#include "letter/embed/wordpiece.h"
#include "letter/io/npy.h"
#include "letter/version.h"

namespace letter::embed {

namespace {

std::string list_items(const Dataset& ds, const std::vector<int64_t>& items, size_t max = 5) {
  std::ostringstream os;
  for (size_t k = 0; k < std::min(max, items.size()); ++k) {
    if (k) os << ", ";
    os << items[k];
    if (items[k] < ds.num_items() && ds.item_ids[items[k]] != std::to_string(items[k]))
      os << " ('" << ds.item_ids[items[k]] << "')";
  }
  if (items.size() > max) os << ", ...";
  return os.str();
}

std::string join_fields(const std::vector<std::string>& f) {
  std::string s;
  for (const auto& x : f) s += (s.empty() ? "" : ",") + x;
  return s;
}

// Mean of the rows of `vecs` (T, D) that belong to each item: (N, D); rows of items with no
// text stay zero.
torch::Tensor average_by_owner(const torch::Tensor& vecs, const std::vector<int64_t>& owner,
                               int64_t n) {
  auto idx = torch::tensor(owner, torch::kLong);
  auto sum = torch::zeros({n, vecs.size(1)}, torch::kFloat).index_add_(0, idx, vecs);
  auto cnt = torch::zeros({n}, torch::kFloat).index_add_(0, idx, torch::ones({vecs.size(0)}));
  return sum / cnt.clamp_min(1).unsqueeze(1);
}

torch::Tensor l2_normalize_rows(const torch::Tensor& x) {
  return x / x.norm(2, 1, true).clamp_min(1e-12);  // zero rows stay zero
}

}  // namespace

EmbedResult embed_items(const Dataset& ds, const EmbedOptions& opt, const torch::Device& device,
                        uint64_t seed) {
  Timer total;
  const int64_t N = ds.num_items();
  LETTER_CHECK(N > 0, "empty catalog: dataset '", ds.name, "' has no items to embed");
  ItemTextOptions to;
  to.fields = opt.fields;
  to.text_template = opt.text_template;
  to.combine = opt.combine;
  ItemTexts it = build_item_texts(ds.items, N, to);
  const int64_t missing = static_cast<int64_t>(it.missing.size());
  const std::string where = opt.text_template.empty()
                                ? "fields [" + join_fields(opt.fields) + "]"
                                : "template '" + opt.text_template + "'";
  LETTER_CHECK(missing < N, "dataset '", ds.name, "': none of its ", N, " items has text in ",
               where, ds.has_text() ? "" : " (the dataset has no item text at all)",
               "; choose other fields with --set embed.fields=..., or bring embeddings made "
               "elsewhere with --from-npy FILE");
  if (it.emptied_long > 0)
    spdlog::warn("{} fields had >= 2000 characters and were dropped, as LETTER's preprocessing "
                 "does (docs/algorithms.md a.2)", it.emptied_long);
  const std::string long_note =
      it.missing_long > 0 ? letter::detail::concat("; ", it.missing_long,
                                           " of them only had fields of >= 2000 characters, which are dropped")
                          : std::string();
  if (missing > 0) {
    LETTER_CHECK(opt.missing_text == MissingText::kZero, "dataset '", ds.name, "': ", missing, " of ", N,
                 " items have no text in ", where, " (items ", list_items(ds, it.missing), long_note,
                 "); use --missing-text zero to give them zero vectors, or choose other fields");
    spdlog::warn("{} of {} items have no text in {} (items {}{}); their embeddings are zero "
                 "(--missing-text zero)", missing, N, where, list_items(ds, it.missing), long_note);
  }

  EmbedResult res;
  nlohmann::json& info = res.info;
  info["letter_version"] = LETTER_VERSION;
  info["dataset"] = ds.name;
  info["encoder"] = enum_name(opt.encoder);
  info["items"] = N;
  info["items_with_text"] = N - missing;
  info["items_missing_text"] = missing;
  info["missing_text"] = enum_name(opt.missing_text);
  std::vector<int64_t> first_missing(it.missing.begin(),
                                     it.missing.begin() + std::min<int64_t>(missing, 100));
  info["missing_items_first_100"] = first_missing;
  info["fields"] = opt.fields;
  info["field_counts"] = it.field_counts;
  info["text_template"] = opt.text_template;
  info["combine"] = enum_name(opt.combine);
  info["normalize"] = opt.normalize;
  info["device"] = device.str();
  info["threads"] = torch::get_num_threads();

  torch::Tensor emb;
  TokenizeStats tstats;
  Timer encode_timer;
  if (opt.encoder == TextEncoder::kHf) {
    SentenceEncoderOptions so;
    so.pooling = opt.pooling;
    so.normalize = opt.normalize;
    so.max_length = opt.max_length;
    so.batch_size = opt.batch_size;
    so.dtype = opt.dtype;
    SentenceEncoder enc(resolve_model_folder(opt.model), so, device);
    std::vector<std::string> texts;
    std::vector<int64_t> owner;
    it.flatten(texts, owner);
    Progress progress("embed", static_cast<int64_t>(texts.size()), "texts");
    EncodeReport rep;
    auto vecs = enc.encode(texts, &rep, [&](int64_t n) { progress.update(n); });
    progress.finish();
    emb = average_by_owner(vecs, owner, N);
    if (opt.combine == Combine::kMean && opt.normalize) emb = l2_normalize_rows(emb);
    tstats = rep.tokens;
    info["model"] = enc.folder();
    info["model_type"] = "bert";
    info["layers"] = enc.config().num_hidden_layers;
    info["hidden_size"] = enc.config().hidden_size;
    info["non_embedding_params"] = enc.config().non_embedding_params();
    info["pooling"] = enum_name(opt.pooling);
    info["max_length"] = opt.max_length;
    info["batch_size"] = opt.batch_size;
    info["dtype"] = c10::toString(enc.dtype());
    info["texts"] = tstats.texts;
    info["tokens"] = tstats.tokens;
    info["padded_tokens"] = rep.padded_tokens;
    info["truncated_texts"] = tstats.truncated;
    info["unk_words"] = tstats.unk_words;
    info["tokenize_seconds"] = rep.tokenize_seconds;
    info["forward_seconds"] = rep.forward_seconds;
  } else {
    std::vector<std::string> docs;
    std::vector<int64_t> owner;
    for (int64_t i = 0; i < N; ++i) {
      if (it.parts[i].empty()) continue;
      std::string d;
      for (const auto& p : it.parts[i]) d += (d.empty() ? "" : " ") + p;
      int64_t bad = 0;
      detail::decode_utf8(d, &bad);
      tstats.invalid_bytes += bad;
      tstats.invalid_texts += bad > 0;
      docs.push_back(std::move(d));
      owner.push_back(i);
    }
    TfidfOptions tf;
    tf.dim = opt.dim;
    tf.seed = derive_seed(seed, "tfidf");
    TfidfReport rep;
    auto vecs = tfidf_embed(docs, tf, &rep);
    if (opt.normalize) vecs = l2_normalize_rows(vecs);
    emb = torch::zeros({N, vecs.size(1)}, torch::kFloat);
    emb.index_copy_(0, torch::tensor(owner, torch::kLong), vecs);
    info["tfidf"] = {{"documents", rep.documents},
                     {"terms_kept", rep.terms_kept},
                     {"nonzeros", rep.nonzeros},
                     {"empty_documents", rep.empty_documents},
                     {"explained_variance", rep.explained},
                     {"hash_bits", tf.hash_bits},
                     {"min_df", tf.min_df},
                     {"oversample", tf.oversample},
                     {"power_iters", tf.power_iters},
                     {"bigrams", tf.bigrams}};
    info["dtype"] = "float32";
  }
  const double enc_s = encode_timer.seconds();
  if (tstats.invalid_bytes > 0)
    spdlog::warn("{} item texts held {} bytes of invalid UTF-8; they were replaced by U+FFFD "
                 "(and dropped by the tokenizer)", tstats.invalid_texts, tstats.invalid_bytes);
  info["invalid_utf8_bytes"] = tstats.invalid_bytes;
  info["invalid_utf8_texts"] = tstats.invalid_texts;
  info["dims"] = emb.size(1);
  info["encode_seconds"] = enc_s;
  info["items_per_s"] = enc_s > 0 ? N / enc_s : 0.0;
  if (info.contains("tokens")) info["tokens_per_s"] = enc_s > 0 ? info["tokens"].get<double>() / enc_s : 0.0;
  info["seconds"] = total.seconds();
  LETTER_CHECK(torch::isfinite(emb).all().item<bool>(), "embedding produced non-finite values");
  res.embeddings = emb.contiguous();
  spdlog::info("embed: {} items x {} dims with {} in {:.1f}s ({:.0f} items/s)", N, emb.size(1),
               enum_name(opt.encoder), enc_s, enc_s > 0 ? N / enc_s : 0.0);
  return res;
}

EmbedResult import_npy(const std::string& path, int64_t num_items) {
  LETTER_CHECK(num_items > 0, "empty catalog: no items to import embeddings for");
  LETTER_CHECK(path_exists(path), "--from-npy ", path, ": file not found");
  io::NpyHeader h = io::read_npy_header(path);
  const std::string kind = h.descr.size() >= 2 ? h.descr.substr(1) : h.descr;
  LETTER_CHECK(kind == "f2" || kind == "f4" || kind == "f8", path, ": dtype '", h.descr,
               "' is not floating point; embeddings must be float16, float32 or float64");
  LETTER_CHECK(h.shape.size() == 2, path, ": expected a 2-D array (items x dims), got ",
               h.shape.size(), " dimensions");
  LETTER_CHECK(h.shape[0] == num_items, path, ": has ", h.shape[0], " rows but the catalog has ",
               num_items, " items (row i must be item i)");
  LETTER_CHECK(h.shape[1] >= 1, path, ": has 0 columns");
  Timer t;
  torch::Tensor e = io::read_npy(path).to(torch::kFloat);
  auto bad_rows = (~torch::isfinite(e)).any(1);
  const int64_t nbad = bad_rows.sum().item<int64_t>();
  if (nbad > 0) {
    const int64_t first = bad_rows.nonzero()[0][0].item<int64_t>();
    LETTER_FAIL(path, ": ", nbad, " rows hold NaN or infinite values (first: row ", first,
                "); fix the embeddings before using them");
  }
  if (h.descr != "<f4")
    spdlog::info("{}: converted {} to float32", path, h.descr);
  EmbedResult res;
  res.embeddings = e.contiguous();
  res.info = {{"letter_version", LETTER_VERSION},
              {"encoder", "npy"},
              {"source", path},
              {"source_dtype", h.descr},
              {"items", num_items},
              {"dims", h.shape[1]},
              {"seconds", t.seconds()}};
  return res;
}

void write_embeddings(const std::string& dir, const EmbedResult& result) {
  LETTER_CHECK(result.embeddings.defined() && result.embeddings.dim() == 2,
               "write_embeddings: expected (N, D) embeddings");
  ensure_dir(dir);
  io::write_npy(join(dir, "items.emb.npy"), result.embeddings.to(torch::kFloat).contiguous());
  write_json_atomic(join(dir, "items.emb.json"), result.info);
}

}  // namespace letter::embed
