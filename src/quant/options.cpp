#include "letter/quant/options.h"

namespace letter {

void validate_options(const TokenizerOptions& o) {
  LETTER_USAGE_CHECK(static_cast<int64_t>(o.sk_epsilons.size()) == o.levels, "config tokenizer.sk_epsilons has ",
                     o.sk_epsilons.size(), " entries but tokenizer.levels = ", o.levels,
                     "; give one epsilon per level");
  LETTER_USAGE_CHECK(o.clusters <= o.codebook_size, "config tokenizer.clusters = ", o.clusters,
                     " must not exceed tokenizer.codebook_size = ", o.codebook_size);
  for (double eps : o.sk_epsilons)
    LETTER_USAGE_CHECK(eps == 0.0 || eps >= 0.0015, "config tokenizer.sk_epsilons entry ", eps,
                       " is too small: exp(1/eps) overflows float64; use 0 (argmin) or >= 0.0015");
}

}  // namespace letter
