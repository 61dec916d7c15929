#include "letter/cf/options.h"

namespace letter {

void validate_options(const CfOptions& o) {
  LETTER_USAGE_CHECK(o.hidden % o.heads == 0, "config cf.hidden = ", o.hidden, " must be divisible by cf.heads = ",
                     o.heads);
  LETTER_USAGE_CHECK(!o.freeze_items || !o.init_items.empty(),
                     "config cf.freeze_items = true needs cf.init_items (the vectors to keep fixed)");
}

}  // namespace letter
