// Interaction data: users' chronological item sequences, the item catalog (text fields),
// and the raw <-> contiguous id maps. Loaders for LETTER/LC-Rec JSON, RecBole atomic files
// and CSV/TSV live in loaders.cpp; the k-core filter in kcore.cpp.
//
// Ids: users 0..U-1 and items 0..N-1, contiguous. `user_ids[u]` / `item_ids[i]` keep the id
// the input used (for LETTER JSON the decimal string of the original integer id).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "letter/data/options.h"

namespace letter {

/// Text fields of one item ("title" -> "...").
using ItemText = std::map<std::string, std::string>;

/// One dataset in memory.
struct Dataset {
  std::string name;                            ///< dataset name (file prefix)
  std::vector<std::vector<int64_t>> sequences;  ///< user -> chronological item ids
  std::vector<std::string> user_ids;            ///< user -> raw id
  std::vector<std::string> item_ids;            ///< item -> raw id
  std::vector<ItemText> items;                  ///< item -> text fields (empty when no text)

  int64_t num_users() const { return static_cast<int64_t>(sequences.size()); }
  int64_t num_items() const { return static_cast<int64_t>(item_ids.size()); }
  int64_t num_interactions() const;
  /// True when at least one item has a text field.
  bool has_text() const;
  /// Raw item id -> contiguous id (built on demand).
  std::unordered_map<std::string, int64_t> item_index() const;
  /// Raw user id -> contiguous id (built on demand).
  std::unordered_map<std::string, int64_t> user_index() const;
  /// Throws when ids are out of range, a sequence is empty or maps disagree in size.
  void check_consistent() const;
};

/// One round of the iterative k-core filter.
struct KcoreRound {
  int64_t users_removed = 0;
  int64_t items_removed = 0;
  int64_t interactions_removed = 0;
};

/// What loading did: files read, format, filter rounds, warnings.
struct LoadReport {
  std::string format;               ///< letter | recbole | csv
  std::vector<std::string> files;   ///< files read
  std::vector<KcoreRound> kcore;    ///< rounds that removed something
  std::vector<std::string> warnings;
  int64_t users_reordered = 0;      ///< users whose rows were sorted by timestamp
  int64_t repeats_dropped = 0;      ///< repeated interactions dropped (keep_repeats = false)
};

/// Loads the dataset named by `opt` (format auto-detected from the path when "auto"),
/// applies the k-core filter and checks consistency. Logs a summary.
Dataset load_dataset(const DataOptions& opt, LoadReport* report = nullptr);

/// Iterative k-core: removes users and items with fewer than `k` interactions until none
/// is left; re-indexes items and users contiguously (raw ids and text follow). Returns the
/// rounds that removed something. k <= 1 is a no-op.
std::vector<KcoreRound> kcore_filter(Dataset& ds, int64_t k);

/// Writes the LETTER/LC-Rec JSON layout into `dir`: <name>.inter.json (indent 4),
/// <name>.item.json (when there is text), <name>.user2id and <name>.item2id. Atomic per file.
void write_letter_format(const Dataset& ds, const std::string& dir);

/// Writes raw -> contiguous id maps (`raw<TAB>id` lines) as <dir>/user2id and <dir>/item2id.
void write_id_maps(const Dataset& ds, const std::string& dir, const std::string& prefix = "");

}  // namespace letter
