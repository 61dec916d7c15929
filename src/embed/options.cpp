#include "letter/embed/options.h"

namespace letter {

void validate_options(const EmbedOptions& o) {
  LETTER_USAGE_CHECK(o.text_template.empty() || o.combine == Combine::kConcat,
                     "config embed.text_template needs embed.combine = concat (mean embeds each field on its own)");
}

}  // namespace letter
