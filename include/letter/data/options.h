// Options of the data module (`data` config section): where the interactions are, how
// they are read, filtered and split (algorithms.md a.4; docs/algorithms.md "Data").
#pragma once

#include <cstdint>
#include <string>

#include "letter/common/options.h"

namespace letter {

/// Input formats (data.format).
enum class DataFormat { kAuto, kLetter, kRecBole, kCsv };
LETTER_ENUM(DataFormat, {DataFormat::kAuto, "auto"}, {DataFormat::kLetter, "letter"},
            {DataFormat::kRecBole, "recbole"}, {DataFormat::kCsv, "csv"})

/// What to do with a timestamped user whose rows are out of time order (data.unsorted).
enum class Unsorted { kSort, kError };
LETTER_ENUM(Unsorted, {Unsorted::kSort, "sort"}, {Unsorted::kError, "error"})

/// Dataset location and the interaction protocol (algorithms.md a.4).
struct DataOptions {
  /// Dataset folder (LETTER JSON or RecBole atomic files) or one interaction file
  /// (.inter.json, .inter, .csv, .tsv).
  std::string path;
  /// Dataset name = file prefix inside the folder ("Beauty" for Beauty.inter.json);
  /// empty = the folder's name.
  std::string name;
  DataFormat format = DataFormat::kAuto;  ///< auto = from the path
  /// Iterative k-core: drop users and items with fewer than k interactions until stable;
  /// 0 or 1 = off. LETTER's data are already 5-core.
  int64_t kcore = 5;
  /// Histories are cut to their last `max_history` items (LETTER-TIGER max_his_len = 20).
  int64_t max_history = 20;
  /// A timestamped file that lists a user's rows out of time order: sort (stable, with a
  /// warning) or error.
  Unsorted unsorted = Unsorted::kSort;
  /// Keep repeated (user, item) interactions (LETTER's counts include repeats).
  bool keep_repeats = true;

  template <class V>
  void visit(V& v) {
    v.field("path", path, "dataset folder or interaction file (.inter.json, .inter, .csv, .tsv)");
    v.field("name", name, "dataset name = file prefix in the folder; empty = folder name");
    v.field("format", format, "input format");
    v.field("kcore", kcore, "iterative k-core filter on users and items (0/1 = off)", range(0, 1000000));
    v.field("max_history", max_history, "histories keep their last N items (paper: 20)", range(1, 100000));
    v.field("unsorted", unsorted, "timestamped rows out of order: sort (warn) or error");
    v.field("keep_repeats", keep_repeats, "keep repeated (user, item) interactions");
  }
};

}  // namespace letter
