// `letter data stats|convert`: inspect a dataset and write it in LETTER's JSON layout.
#include <iomanip>
#include <ostream>

#include <spdlog/spdlog.h>

#include "app.h"
#include "letter/common/error.h"
#include "letter/common/fs.h"
#include "letter/data/dataset.h"
#include "letter/data/stats.h"

namespace letter::cli {

namespace {

void print_stats_table(std::ostream& os, const nlohmann::json& s) {
  auto num = [](const nlohmann::json& v) {
    std::ostringstream ss;
    if (v.is_number_float())
      ss << std::fixed << std::setprecision(2) << v.get<double>();
    else
      ss << v.dump();
    return ss.str();
  };
  auto row = [&](const std::string& k, const std::string& v) {
    os << "  " << std::left << std::setw(22) << k << v << "\n";
  };
  os << "dataset " << s["name"].get<std::string>() << "\n";
  row("users", num(s["users"]));
  row("items", num(s["items"]));
  row("interactions", num(s["interactions"]));
  std::ostringstream sp;
  sp << std::fixed << std::setprecision(4) << 100.0 * s["sparsity"].get<double>() << "%";
  row("sparsity", sp.str());
  const auto& l = s["length"];
  row("sequence length", "min " + num(l["min"]) + "  p25 " + num(l["p25"]) + "  median " +
                             num(l["median"]) + "  mean " + num(l["mean"]) + "  p75 " +
                             num(l["p75"]) + "  p90 " + num(l["p90"]) + "  max " + num(l["max"]));
  const auto& c = s["item_count"];
  row("item interactions", "min " + num(c["min"]) + "  median " + num(c["median"]) + "  mean " +
                               num(c["mean"]) + "  max " + num(c["max"]));
  row("items with text", num(s["items_with_text"]));
  row("split samples", "train " + num(s["split"]["train"]) + "  valid " + num(s["split"]["valid"]) +
                           "  test " + num(s["split"]["test"]) + "  (histories cut to " +
                           num(s["max_history"]) + " items)");
}

std::vector<std::string> path_sets(const std::string& path) {
  if (path.empty()) return {};
  return {"data.path=" + path};
}

}  // namespace

void register_data(CLI::App& app, CommonOptions& common) {
  auto* data = app.add_subcommand("data", "Inspect, convert and import datasets");
  data->require_subcommand(1);

  struct StatsArgs {
    std::string path;
    bool json = false;
  };
  auto sa = std::make_shared<StatsArgs>();
  auto* stats = data->add_subcommand(
      "stats", "Users, items, interactions, length distribution, sparsity and split sizes");
  stats->add_option("path", sa->path,
                    "Dataset folder or interaction file (default: config data.path)")
      ->type_name("PATH");
  stats->add_flag("--json", sa->json, "Print JSON instead of a table");
  add_common_options(stats, common);
  stats->callback([&common, sa] {
    RunContext ctx = make_context(common, path_sets(sa->path));
    LoadReport rep;
    Dataset ds = load_dataset(ctx.config.data, &rep);
    nlohmann::json s = dataset_stats(ds, ctx.config.data.max_history);
    s["format"] = rep.format;
    s["kcore_rounds"] = nlohmann::json::array();
    for (const auto& r : rep.kcore)
      s["kcore_rounds"].push_back({{"users_removed", r.users_removed},
                                   {"items_removed", r.items_removed},
                                   {"interactions_removed", r.interactions_removed}});
    if (sa->json)
      out_stream() << s.dump(2) << "\n";
    else
      print_stats_table(out_stream(), s);
    if (!ctx.out.empty()) write_json_atomic(join(ctx.out, "data_stats.json"), s);
  });

  auto convert_path = std::make_shared<std::string>();
  auto* convert = data->add_subcommand(
      "convert",
      "Write a dataset (any supported format) in LETTER's JSON layout: <name>.inter.json, "
      "<name>.item.json, <name>.user2id, <name>.item2id in --out");
  convert->add_option("path", *convert_path,
                      "Dataset folder or interaction file (default: config data.path)")
      ->type_name("PATH");
  add_common_options(convert, common);
  convert->callback([&common, convert_path] {
    LETTER_USAGE_CHECK(!common.out.empty(), "data convert needs --out DIR for the converted files");
    RunContext ctx = make_context(common, path_sets(*convert_path), /*write_config=*/false);
    Dataset ds = load_dataset(ctx.config.data);
    write_letter_format(ds, ctx.out);
    spdlog::info("wrote {}/{}.inter.json{} and id maps", ctx.out, ds.name,
                 ds.has_text() ? ", " + ds.name + ".item.json" : "");
  });

  register_import_codes(data, common);
}

}  // namespace letter::cli
