// Dataset statistics for `letter data stats`: sizes, sequence-length distribution,
// sparsity, item popularity and the leave-one-out split sizes.
#pragma once

#include <nlohmann/json.hpp>

#include "letter/data/dataset.h"

namespace letter {

/// {"users", "items", "interactions", "sparsity", "length": {min,p25,median,mean,p75,p90,max},
///  "item_count": {min,median,mean,max}, "split": {train,valid,test}, "max_history",
///  "items_with_text"}.
nlohmann::json dataset_stats(const Dataset& ds, int64_t max_history);

}  // namespace letter
