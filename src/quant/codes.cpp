// Collision resolution (algorithms.md b.8, "Better"); see codes.h.
#include "letter/quant/codes.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>
#include <unordered_map>

#include "letter/common/error.h"
#include "letter/data/codes.h"
#include "letter/quant/assignment.h"

namespace letter::quant {

nlohmann::json ResolveReport::to_json() const {
  return {{"items", items},
          {"levels", levels},
          {"distinct_before", distinct_before},
          {"collisions_before", collisions_before},
          {"collision_rate_before", items ? static_cast<double>(collisions_before) / items : 0.0},
          {"groups_before", groups_before},
          {"max_group_before", max_group_before},
          {"reassigned", reassigned},
          {"identical_items", identical_items},
          {"full_prefix_items", full_prefix_items},
          {"distinct_after_l", distinct_after_l},
          {"collisions_after_l", collisions_after_l},
          {"extra_level", extra_level},
          {"extra_level_max", extra_level_max},
          {"distinct_after", distinct_after},
          {"collisions_after", items - distinct_after},
          {"resolved", true}};
}

torch::Tensor identical_rows(const torch::Tensor& x_in) {
  LETTER_CHECK(x_in.dim() == 2, "identical_rows: expected an (N, D) matrix, got ", x_in.sizes());
  auto x = x_in.detach().cpu().contiguous();
  const int64_t n = x.size(0);
  const size_t bytes = static_cast<size_t>(x.size(1)) * x.element_size();
  const char* base = static_cast<const char*>(x.data_ptr());
  std::unordered_map<std::string_view, int64_t> first;
  first.reserve(static_cast<size_t>(n) * 2);
  std::vector<int64_t> id(n);
  for (int64_t i = 0; i < n; ++i) {
    std::string_view key(base + i * bytes, bytes);
    auto [it, inserted] = first.emplace(key, i);
    id[i] = it->second;
  }
  return torch::tensor(id, torch::kInt64);
}

namespace {

using Tuple = std::vector<int64_t>;

Tuple row(const int64_t* p, int64_t len) { return Tuple(p, p + len); }

}  // namespace

torch::Tensor resolve_collisions(const torch::Tensor& codes_in, const torch::Tensor& residual_in,
                                 const torch::Tensor& codebook_in, const torch::Tensor& identity_in,
                                 ResolveReport* report) {
  LETTER_CHECK(codes_in.dim() == 2 && codes_in.scalar_type() == torch::kInt64 && codes_in.size(1) >= 1,
               "resolve_collisions: codes must be (N, L) int64, got ", codes_in.sizes(), " ",
               codes_in.scalar_type());
  const int64_t n = codes_in.size(0), L = codes_in.size(1);
  LETTER_CHECK(residual_in.dim() == 2 && residual_in.size(0) == n, "resolve_collisions: residuals ",
               residual_in.sizes(), " must have one row per item (", n, ")");
  LETTER_CHECK(codebook_in.dim() == 2 && codebook_in.size(1) == residual_in.size(1),
               "resolve_collisions: last codebook ", codebook_in.sizes(),
               " must have the residual size ", residual_in.size(1));
  const int64_t K = codebook_in.size(0);
  auto codes = codes_in.cpu().contiguous().clone();
  int64_t* cp = codes.data_ptr<int64_t>();
  LETTER_CHECK(n == 0 || (codes.min().item<int64_t>() >= 0 && codes.select(1, L - 1).max().item<int64_t>() < K),
               "resolve_collisions: codes out of range [0, ", K, ")");
  std::vector<int64_t> identity(n);
  if (identity_in.defined()) {
    LETTER_CHECK(identity_in.dim() == 1 && identity_in.size(0) == n, "resolve_collisions: identity must be (N)");
    auto idc = identity_in.to(torch::kCPU, torch::kInt64).contiguous();
    std::copy(idc.data_ptr<int64_t>(), idc.data_ptr<int64_t>() + n, identity.begin());
  } else {
    for (int64_t i = 0; i < n; ++i) identity[i] = i;
  }
  auto residual = residual_in.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  auto codebook = codebook_in.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t D = residual.size(1);
  const double* rp = residual.data_ptr<double>();
  const double* ep = codebook.data_ptr<double>();

  ResolveReport rep;
  rep.items = n;
  rep.levels = L;
  // Groups by full tuple (ordered map: deterministic processing order) and per-prefix usage.
  std::map<Tuple, std::vector<int64_t>> groups;
  for (int64_t i = 0; i < n; ++i) groups[row(cp + i * L, L)].push_back(i);
  std::map<Tuple, std::vector<int64_t>> usage;  // prefix -> items per last code (K)
  for (const auto& [t, members] : groups) {
    auto& u = usage[Tuple(t.begin(), t.end() - 1)];
    if (u.empty()) u.assign(K, 0);
    u[t.back()] += static_cast<int64_t>(members.size());
  }
  const CollisionStats before = collision_stats(codes);
  rep.distinct_before = before.distinct;
  rep.collisions_before = n - before.distinct;
  rep.groups_before = before.groups;
  rep.max_group_before = before.max_group;

  for (const auto& [t, members] : groups) {
    if (members.size() < 2) continue;
    auto& used = usage[Tuple(t.begin(), t.end() - 1)];
    const int64_t c = t.back();
    // Units: identical-embedding classes inside the group (first member represents).
    std::vector<std::vector<int64_t>> units;
    {
      std::map<int64_t, size_t> unit_of;
      for (int64_t i : members) {
        auto [it, inserted] = unit_of.emplace(identity[i], units.size());
        if (inserted) units.emplace_back();
        units[it->second].push_back(i);
      }
    }
    for (const auto& u : units)
      if (u.size() >= 2) rep.identical_items += static_cast<int64_t>(u.size());
    if (units.size() < 2) continue;  // all identical: only the extra level can separate them
    // Free last-level codes: unused under this prefix, plus the group's own code.
    std::vector<int64_t> free_codes;
    for (int64_t k = 0; k < K; ++k)
      if (used[k] == 0 || k == c) free_codes.push_back(k);
    const int64_t nu = static_cast<int64_t>(units.size()), nf = static_cast<int64_t>(free_codes.size());
    auto cost_of = [&](int64_t unit, int64_t code) {
      const double* r = rp + units[unit].front() * D;
      const double* e = ep + code * D;
      double s = 0;
      for (int64_t j = 0; j < D; ++j) s += (r[j] - e[j]) * (r[j] - e[j]);
      return s;
    };
    std::vector<int64_t> code_of_unit(nu, c);
    if (nf >= nu) {
      std::vector<double> cost(nu * nf);
      for (int64_t a = 0; a < nu; ++a)
        for (int64_t b = 0; b < nf; ++b) cost[a * nf + b] = cost_of(a, free_codes[b]);
      auto col = min_cost_assignment(cost, nu, nf);
      for (int64_t a = 0; a < nu; ++a) code_of_unit[a] = free_codes[col[a]];
    } else {
      // Full prefix: the free codes go to the units that fit them best (transposed
      // assignment); the remaining units stay on the group's code.
      rep.full_prefix_items += static_cast<int64_t>(members.size());
      std::vector<double> cost(nf * nu);
      for (int64_t b = 0; b < nf; ++b)
        for (int64_t a = 0; a < nu; ++a) cost[b * nu + a] = cost_of(a, free_codes[b]);
      auto col = min_cost_assignment(cost, nf, nu);
      for (int64_t b = 0; b < nf; ++b) code_of_unit[col[b]] = free_codes[b];
    }
    for (int64_t a = 0; a < nu; ++a) {
      const int64_t k = code_of_unit[a];
      for (int64_t i : units[a]) {
        if (k != c) {
          cp[i * L + L - 1] = k;
          ++rep.reassigned;
          --used[c];
          ++used[k];
        }
      }
    }
  }

  // Remaining groups (identical embeddings, full prefixes): append the rank inside the group.
  std::map<Tuple, std::vector<int64_t>> final_groups;
  for (int64_t i = 0; i < n; ++i) final_groups[row(cp + i * L, L)].push_back(i);
  rep.distinct_after_l = static_cast<int64_t>(final_groups.size());
  rep.collisions_after_l = n - rep.distinct_after_l;
  torch::Tensor out = codes;
  if (rep.collisions_after_l > 0) {
    rep.extra_level = true;
    auto extra = torch::zeros({n, 1}, torch::kInt64);
    int64_t* xp = extra.data_ptr<int64_t>();
    for (const auto& [t, members] : final_groups)
      for (size_t r = 0; r < members.size(); ++r) {
        xp[members[r]] = static_cast<int64_t>(r);
        rep.extra_level_max = std::max<int64_t>(rep.extra_level_max, static_cast<int64_t>(r));
      }
    out = torch::cat({codes, extra}, 1);
  }
  rep.distinct_after = n == 0 ? 0 : std::get<0>(torch::unique_dim(out, 0)).size(0);
  LETTER_CHECK(rep.distinct_after == n, "resolve_collisions: internal error, ", n - rep.distinct_after,
               " collisions left");
  if (report) *report = rep;
  return out;
}

}  // namespace letter::quant
