// `letter data import-codes`: read item codes made elsewhere (LETTER's released
// <name>.index.json, or a codes.npy), check them against the dataset, write codes.npy /
// codes.json and the same code report train-tokenizer prints (per-level usage, collisions,
// Table 4 overlap when CF vectors are given), so official and own codes compare directly.
#include <ostream>

#include <spdlog/spdlog.h>

#include "app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/codes.h"
#include "letter/data/dataset.h"
#include "letter/io/npy.h"
#include "letter/quant/report.h"

namespace letter::cli {

namespace {

struct ImportArgs {
  std::string codes;
  std::string dataset;
  std::string cf;
  int64_t levels = 0;
  bool json = false;
};

}  // namespace

void register_import_codes(CLI::App* data, CommonOptions& common) {
  auto a = std::make_shared<ImportArgs>();
  auto* sub = data->add_subcommand(
      "import-codes",
      "Import item codes (LETTER index.json or codes.npy), report per-level usage, collisions "
      "and the Table 4 CF overlap; with --out write codes.npy, codes.json, stats.json, "
      "code_freq.svg");
  sub->add_option("codes", a->codes, "Codes file: <name>.index.json or an (N, L) int .npy")
      ->required()
      ->type_name("FILE");
  sub->add_option("dataset", a->dataset, "Dataset folder or file (default: config data.path)")
      ->type_name("PATH");
  sub->add_option("--cf", a->cf, "CF vectors .npy (N x d) for the Table 4 overlap")->type_name("FILE");
  sub->add_option("--levels", a->levels,
                  "Code positions compared by the Table 4 overlap (default: all; give L to leave out "
                  "an appended disambiguation level)")
      ->check(CLI::Range(int64_t{0}, int64_t{26}));
  sub->add_flag("--json", a->json, "Print the report as JSON instead of a table");
  add_common_options(sub, common);
  sub->callback([&common, a] {
    std::vector<std::string> sets;
    if (!a->dataset.empty()) sets.push_back("data.path=" + a->dataset);
    RunContext ctx = make_context(common, sets, /*write_config=*/false);
    LETTER_USAGE_CHECK(!ctx.config.data.path.empty(),
                       "data import-codes needs the dataset (positional DATASET or data.path) to map item ids");
    Dataset ds = load_dataset(ctx.config.data);
    const torch::Tensor codes = load_item_codes(a->codes, ds).codes;
    torch::Tensor cf;
    if (!a->cf.empty()) {
      cf = io::read_npy(a->cf).to(torch::kFloat32);
      LETTER_CHECK(cf.dim() == 2 && cf.size(0) == ds.num_items(), a->cf, " has shape ", cf.sizes(),
                   ", expected one row per item of ", ds.name, " (", ds.num_items(), ")");
      LETTER_CHECK(torch::isfinite(cf).all().item<bool>(), a->cf, " contains NaN or Inf");
    }
    const int64_t k = std::max<int64_t>(ctx.config.tokenizer.codebook_size,
                                        codes.numel() ? codes.max().item<int64_t>() + 1 : 0);
    auto st = quant::codes_report(codes, cf, a->codes, a->levels);
    st["code_levels"] = quant::level_stats(codes, k);
    st["dataset"] = ds.name;
    if (!ctx.out.empty()) {
      ensure_dir(ctx.out);
      io::write_npy(join(ctx.out, "codes.npy"), codes);
      write_index_json(join(ctx.out, "codes.json"), codes, ds);
      write_json_atomic(join(ctx.out, "stats.json"), st);
      write_text_atomic(join(ctx.out, "code_freq.svg"),
                        quant::code_frequency_svg(codes.select(1, 0).contiguous(), k,
                                                  "Level-1 code frequency, sorted (imported, " + ds.name + ")"));
      spdlog::info("wrote {}/codes.npy, codes.json, stats.json, code_freq.svg", ctx.out);
    }
    if (a->json) {
      out_stream() << st.dump(2) << "\n";
    } else {
      quant::print_report(out_stream(), st);
      out_stream() << "  distinct tuples: " << st["distinct_tuples"].get<int64_t>() << " of "
                   << codes.size(0) << "\n";
    }
  });
}

}  // namespace letter::cli
