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
  auto* sub = app.add_subcommand(
      "embed",
      "Item text -> semantic embeddings: RUN_DIR/items.emb.npy (N x D float32, row i = item i) "
      "and items.emb.json");
  auto sc = std::make_shared<Shortcuts>();
  sc->add(sub, "path", "data.path", "Dataset folder or interaction file (default: config data.path)", "PATH");
  sc->add(sub, "--encoder", "embed.encoder", "hf = BERT-family Hugging Face folder (default) | tfidf = TF-IDF + SVD",
          "hf|tfidf");
  sc->add(sub, "--model", "embed.model",
          "Hugging Face model folder (config.json, vocab.txt, model.safetensors); default: installed "
          "all-MiniLM-L6-v2 ($LETTER_MINILM_DIR, .deps/python)",
          "DIR");
  sc->add(sub, "--from-npy", "embed.from_npy",
          "Import N x D embeddings made elsewhere instead of encoding (checked: rows, dtype, NaN)", "FILE");
  sc->add(sub, "--missing-text", "embed.missing_text", "Items without text: error (default) | zero (zero vector)",
          "error|zero");
  sc->add(sub, "--fields", "embed.fields",
          "Item text fields, comma-separated (default: title,brand,categories,description)", "LIST");
  sc->add(sub, "--pooling", "embed.pooling", "mean (default) | cls", "mean|cls");
  sc->add(sub, "--max-length", "embed.max_length", "Max tokens per text (default 256)", "N");
  sc->add(sub, "--batch-size", "embed.batch_size", "Texts per forward pass (default 64)", "N");
  sc->add(sub, "--dim", "embed.dim", "tfidf: output dimensions (default 384)", "D");
  add_common_options(sub, common);
  sub->callback([&common, sc] {
    LETTER_USAGE_CHECK(!common.out.empty(), "embed needs --out RUN_DIR (items.emb.npy goes there)");
    RunContext ctx = make_context(common, sc->sets());
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
