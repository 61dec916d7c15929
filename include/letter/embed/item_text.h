// Item text for the encoders: the fields of each item, cleaned as LETTER's
// data_process/utils.py clean_text does (algorithms.md a.2), then joined (one text per item)
// or kept apart (one text per field, embeddings averaged as in a.2).
//
// Cleaning of one field (a.2): strip; HTML-unescape; delete tags </?\w+[^>]*>; delete '"',
// '\n', '\r'; trailing dots collapse to exactly one final '.' (added if missing); a text of
// >= 2000 characters becomes empty.
// Departure: a field that is empty after cleaning counts as absent (LETTER would embed the
// lone "." it produces), so items without any text can be found and reported.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "letter/data/dataset.h"
#include "letter/embed/options.h"

namespace letter::embed {

/// Python's html.unescape for the HTML 4 named entities (with ';', and the legacy ones
/// such as &amp without it) and numeric references (&#39; &#x27;; 0x80-0x9F map through
/// Windows-1252, invalid values become U+FFFD, as in HTML5).
std::string html_unescape(const std::string& s);

/// The a.2 cleaning of one field; "" when nothing is left (see the departure above).
std::string clean_field(const std::string& raw);

/// How item texts are assembled.
struct ItemTextOptions {
  /// Fields, in order; absent or empty fields are skipped.
  std::vector<std::string> fields = {"title", "brand", "categories", "description"};
  /// Template with {field} placeholders ("{{" and "}}" are literal braces); empty = the
  /// cleaned fields joined with single spaces. White space runs collapse to one space.
  std::string text_template;
  /// concat = one text per item; mean = one text per field (embeddings averaged, a.2).
  Combine combine = Combine::kConcat;
};

/// The texts of every item.
struct ItemTexts {
  /// parts[i] = the texts of item i: one (concat) or one per present field (mean);
  /// empty when the item has no text.
  std::vector<std::vector<std::string>> parts;
  std::vector<int64_t> missing;               ///< items without any text, ascending
  std::map<std::string, int64_t> field_counts;  ///< items where each field is present
  int64_t emptied_long = 0;  ///< fields dropped because they had >= 2000 characters
  int64_t missing_long = 0;  ///< of `missing`: items whose only text was such long fields

  int64_t num_items() const { return static_cast<int64_t>(parts.size()); }
  /// All texts in item order, flattened, and for each the item it belongs to.
  void flatten(std::vector<std::string>& texts, std::vector<int64_t>& owner) const;
};

/// Builds the texts of `num_items` items from `items` (which may be shorter or empty when
/// the dataset has no text: those items are missing). Throws UsageError on a malformed
/// template or an unknown `combine`.
ItemTexts build_item_texts(const std::vector<ItemText>& items, int64_t num_items,
                           const ItemTextOptions& opt);

}  // namespace letter::embed
