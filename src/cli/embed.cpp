// `letter embed`: item text -> items.emb.npy (+ items.emb.json) in the run directory, with a
// BERT-family Hugging Face encoder, TF-IDF + SVD, or imported from a .npy.
#include <spdlog/spdlog.h>

#include "app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/dataset.h"
#include "letter/embed/embed.h"

namespace letter::cli {

void register_embed(CLI::App& app, CommonOptions& common) {
  // Shortcut flags; each becomes a --set of the embed section (so config.json records it).
  struct Args {
    std::string path, encoder, model, from_npy, missing_text, pooling, fields;
    int64_t max_length = -1, batch_size = -1, dim = -1;
  };
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand(
      "embed",
      "Item text -> semantic embeddings: RUN_DIR/items.emb.npy (N x D float32, row i = item i) "
      "and items.emb.json");
  sub->add_option("path", a->path, "Dataset folder or interaction file (default: config data.path)")
      ->type_name("PATH");
  sub->add_option("--encoder", a->encoder,
                  "hf = BERT-family Hugging Face folder (default) | tfidf = TF-IDF + SVD")
      ->type_name("hf|tfidf");
  sub->add_option("--model", a->model,
                  "Hugging Face model folder (config.json, vocab.txt, model.safetensors); default: "
                  "installed all-MiniLM-L6-v2 ($LETTER_MINILM_DIR, .deps/python)")
      ->type_name("DIR");
  sub->add_option("--from-npy", a->from_npy,
                  "Import N x D embeddings made elsewhere instead of encoding (checked: rows, "
                  "dtype, NaN)")
      ->type_name("FILE");
  sub->add_option("--missing-text", a->missing_text,
                  "Items without text: error (default) | zero (zero vector)")
      ->type_name("error|zero");
  sub->add_option("--fields", a->fields, "Item text fields, comma-separated (default: "
                                         "title,brand,categories,description)")
      ->type_name("LIST");
  sub->add_option("--pooling", a->pooling, "mean (default) | cls")->type_name("mean|cls");
  sub->add_option("--max-length", a->max_length, "Max tokens per text (default 256)")->type_name("N");
  sub->add_option("--batch-size", a->batch_size, "Texts per forward pass (default 64)")->type_name("N");
  sub->add_option("--dim", a->dim, "tfidf: output dimensions (default 384)")->type_name("D");
  add_common_options(sub, common);
  sub->callback([&common, a] {
    LETTER_USAGE_CHECK(!common.out.empty(), "embed needs --out RUN_DIR (items.emb.npy goes there)");
    std::vector<std::string> sets;
    auto str = [&](const std::string& key, const std::string& v) {
      if (!v.empty()) sets.push_back(key + "=" + v);
    };
    auto num = [&](const std::string& key, int64_t v) {
      if (v >= 0) sets.push_back(key + "=" + std::to_string(v));
    };
    str("data.path", a->path);
    str("embed.encoder", a->encoder);
    str("embed.model", a->model);
    str("embed.from_npy", a->from_npy);
    str("embed.missing_text", a->missing_text);
    str("embed.fields", a->fields);
    str("embed.pooling", a->pooling);
    num("embed.max_length", a->max_length);
    num("embed.batch_size", a->batch_size);
    num("embed.dim", a->dim);
    RunContext ctx = make_context(common, sets);
    Dataset ds = load_dataset(ctx.config.data);
    const auto& opt = ctx.config.embed;
    embed::EmbedResult r =
        opt.from_npy.empty()
            ? embed::embed_items(ds, opt, ctx.device, static_cast<uint64_t>(ctx.config.seed))
            : embed::import_npy(opt.from_npy, ds.num_items());
    r.info["dataset"] = ds.name;
    r.info["data_path"] = ctx.config.data.path;
    embed::write_embeddings(ctx.out, r);
    spdlog::info("wrote {} ({} x {} float32) and {}", join(ctx.out, "items.emb.npy"),
                 r.embeddings.size(0), r.embeddings.size(1), join(ctx.out, "items.emb.json"));
  });
}

}  // namespace letter::cli
