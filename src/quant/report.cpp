// Code statistics, Table 4 metric, SVG plot and the printed report; see report.h.
#include "letter/quant/report.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "letter/common/error.h"
#include "letter/common/svg.h"
#include "letter/data/codes.h"

namespace letter::quant {

namespace {

void check_codes(const torch::Tensor& codes) {
  LETTER_CHECK(codes.defined() && codes.dim() == 2 && codes.scalar_type() == torch::kInt64,
               "codes must be an (N, L) int64 table, got ",
               codes.defined() ? codes.sizes() : torch::IntArrayRef{});
}

std::string fmt(double v, int prec) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(prec) << v;
  return os.str();
}

}  // namespace

nlohmann::json level_stats(const torch::Tensor& codes_in, int64_t level_size) {
  check_codes(codes_in);
  auto codes = codes_in.cpu().contiguous();
  const int64_t n = codes.size(0), L = codes.size(1);
  nlohmann::json out = nlohmann::json::array();
  for (int64_t l = 0; l < L; ++l) {
    auto col = codes.select(1, l).contiguous();
    const int64_t size = level_size > 0 ? level_size : (n ? col.max().item<int64_t>() + 1 : 0);
    auto counts = torch::bincount(col, {}, size).to(torch::kFloat64);
    const int64_t used = (counts > 0).sum().item<int64_t>();
    double entropy = 0.0;
    if (n > 0) {
      auto p = counts / static_cast<double>(n);
      auto nz = p.masked_select(p > 0);
      entropy = -(nz * nz.log2()).sum().item<double>();
    }
    out.push_back({{"level", l},
                   {"used", used},
                   {"size", size},
                   {"usage", size ? static_cast<double>(used) / size : 0.0},
                   {"entropy_bits", entropy},
                   {"perplexity", std::pow(2.0, entropy)},
                   {"largest_bucket", n ? counts.max().item<double>() : 0.0}});
    out.back()["largest_bucket"] = static_cast<int64_t>(out.back()["largest_bucket"].get<double>());
  }
  return out;
}

double cf_neighbor_overlap(const torch::Tensor& codes_in, const torch::Tensor& cf, int64_t levels) {
  check_codes(codes_in);
  LETTER_CHECK(cf.defined() && cf.dim() == 2 && cf.size(0) == codes_in.size(0),
               "Table 4 overlap: CF vectors ", cf.defined() ? cf.sizes() : torch::IntArrayRef{},
               " must have one row per item (", codes_in.size(0), ")");
  LETTER_CHECK(levels >= 1 && levels <= codes_in.size(1), "Table 4 overlap: levels ", levels,
               " outside 1..", codes_in.size(1));
  const int64_t n = cf.size(0);
  if (n < 2) return 0.0;
  torch::NoGradGuard no_grad;
  auto h = cf.detach().to(torch::kCPU, torch::kFloat32);
  h = h / h.norm(2, 1, true).clamp_min(1e-12);
  auto codes = codes_in.cpu().narrow(1, 0, levels);
  const int64_t block = 1024;
  double total = 0.0;
  for (int64_t s = 0; s < n; s += block) {
    const int64_t b = std::min(block, n - s);
    auto sim = torch::mm(h.narrow(0, s, b), h.t());  // (b, N)
    auto self = torch::arange(s, s + b, torch::kInt64);
    sim.index_put_({torch::arange(b, torch::kInt64), self}, -std::numeric_limits<float>::infinity());
    auto nn = sim.argmax(1);  // nearest other item
    auto eq = (codes.narrow(0, s, b) == codes.index_select(0, nn)).to(torch::kFloat64).mean(1);
    total += eq.sum().item<double>();
  }
  return total / n;
}

std::string code_frequency_svg(const torch::Tensor& level_codes, int64_t level_size,
                               const std::string& title) {
  LETTER_CHECK(level_codes.dim() == 1 && level_codes.scalar_type() == torch::kInt64,
               "code frequency plot: expected (N) int64 codes");
  const int64_t n = level_codes.size(0);
  const int64_t size = level_size > 0 ? level_size : (n ? level_codes.max().item<int64_t>() + 1 : 1);
  auto counts_t = torch::bincount(level_codes.cpu(), {}, size).contiguous();
  std::vector<double> counts(counts_t.data_ptr<int64_t>(), counts_t.data_ptr<int64_t>() + size);
  std::sort(counts.begin(), counts.end(), std::greater<double>());
  const int64_t used = std::count_if(counts.begin(), counts.end(), [](double c) { return c > 0; });
  const std::string subtitle = std::to_string(n) + " items, " + std::to_string(used) + " of " +
                               std::to_string(size) + " codes used, largest bucket " +
                               std::to_string(counts.empty() ? 0 : static_cast<int64_t>(counts.front()));
  return svg::bar_chart(title, subtitle, "code rank (codes sorted by number of items)", "items per code", counts);
}

void print_report(std::ostream& os, const nlohmann::json& st) {
  auto get = [&](const char* k, double dflt = 0) {
    return st.contains(k) && st[k].is_number() ? st[k].get<double>() : dflt;
  };
  os << "tokenizer report";
  if (st.contains("method")) os << ": method " << st["method"].get<std::string>();
  if (st.contains("source")) os << " (" << st["source"].get<std::string>() << ")";
  os << ", " << static_cast<int64_t>(get("items")) << " items\n";
  if (st.contains("code_levels")) {
    os << "  level  used / K     usage   entropy (bits)  perplexity  largest bucket\n";
    for (const auto& l : st["code_levels"]) {
      std::ostringstream used;
      used << l["used"].get<int64_t>() << " / " << l["size"].get<int64_t>();
      os << "  " << std::left << std::setw(7)
         << std::string(1, static_cast<char>('a' + l["level"].get<int64_t>())) << std::setw(13)
         << used.str() << std::setw(8) << (fmt(100.0 * l["usage"].get<double>(), 1) + "%")
         << std::setw(16) << fmt(l["entropy_bits"].get<double>(), 3) << std::setw(12)
         << fmt(l["perplexity"].get<double>(), 1) << l["largest_bucket"].get<int64_t>() << "\n"
         << std::right;
    }
  }
  if (st.contains("collisions")) {
    const auto& c = st["collisions"];
    const bool resolved = c.value("resolved", true);
    os << (resolved ? "  collisions before resolution: " : "  collisions (codes as given, not resolved): ")
       << c["collisions_before"].get<int64_t>() << " items ("
       << fmt(100.0 * c["collision_rate_before"].get<double>(), 3) << "%), "
       << c["groups_before"].get<int64_t>() << " shared tuples, largest "
       << c["max_group_before"].get<int64_t>() << "\n";
    if (resolved)
      os << "  collisions after resolution:  " << c["collisions_after"].get<int64_t>()
         << " (last-level codes re-assigned: " << c["reassigned"].get<int64_t>() << " items; extra level: "
         << (c["extra_level"].get<bool>() ? "yes, " + std::to_string(c["collisions_after_l"].get<int64_t>()) +
                                                " items (identical embeddings " +
                                                std::to_string(c["identical_items"].get<int64_t>()) +
                                                ", full prefixes " +
                                                std::to_string(c["full_prefix_items"].get<int64_t>()) + ")"
                                          : std::string("no"))
         << ")\n";
  }
  if (st.contains("recon_mse") && st["recon_mse"].is_number())
    os << "  reconstruction MSE: " << std::setprecision(6) << st["recon_mse"].get<double>() << "\n";
  if (st.contains("table4_overlap")) {
    if (st["table4_overlap"].is_number())
      os << "  Table 4 overlap (nearest item by CF cosine, equal code positions): "
         << fmt(st["table4_overlap"].get<double>(), 4) << "\n";
    else
      os << "  Table 4 overlap: n/a (no CF vectors)\n";
  }
  if (st.contains("training")) {
    const auto& t = st["training"];
    os << "  training: " << t.value("epochs", int64_t{0}) << " epochs, "
       << fmt(t.value("train_seconds", 0.0), 1) << " s (" << fmt(t.value("seconds_per_epoch", 0.0), 3)
       << " s/epoch), codebook init " << fmt(t.value("init_seconds", 0.0), 1) << " s\n";
  }
}

nlohmann::json codes_report(const torch::Tensor& codes, const torch::Tensor& cf, const std::string& source,
                            int64_t table4_levels) {
  nlohmann::json st;
  st["source"] = source;
  st["items"] = codes.size(0);
  st["levels"] = codes.size(1);
  st["code_levels"] = level_stats(codes, 0);
  const CollisionStats cs = collision_stats(codes);
  const int64_t n = cs.items, distinct = cs.distinct;
  const double rate = cs.rate();
  st["collision_rate"] = rate;
  st["distinct_tuples"] = distinct;
  // The schema of ResolveReport's "before" fields, so that imported and trained codes read
  // alike; "resolved": false says these codes are reported as given.
  st["collisions"] = {{"items", n},
                      {"levels", codes.size(1)},
                      {"distinct_before", distinct},
                      {"collisions_before", n - distinct},
                      {"collision_rate_before", rate},
                      {"groups_before", cs.groups},
                      {"max_group_before", cs.max_group},
                      {"resolved", false}};
  const int64_t t4 = table4_levels > 0 ? std::min<int64_t>(table4_levels, codes.size(1)) : codes.size(1);
  st["table4_levels"] = t4;
  if (cf.defined())
    st["table4_overlap"] = cf_neighbor_overlap(codes, cf, t4);
  else
    st["table4_overlap"] = nullptr;
  return st;
}

}  // namespace letter::quant
