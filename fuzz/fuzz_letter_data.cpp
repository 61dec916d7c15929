// LETTER / LC-Rec JSON datasets: X.inter.json and X.item.json (input parts separated by a
// line "#####"; an empty item part means no .item.json), loaded as `letter` loads them.
#include "fuzz_util.h"
#include "letter/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  const auto parts = fuzz::split(fuzz::as_text(data, size), 2);
  fuzz::load_folder("letter", DataFormat::kAuto, "X.inter.json", parts[0], "X.item.json", parts[1]);
  return 0;
}
