// RecBole atomic files: X.inter and X.item (input parts separated by a line "#####"; an
// empty item part means no .item file).
#include "fuzz_util.h"
#include "letter/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  const auto parts = fuzz::split(fuzz::as_text(data, size), 2);
  fuzz::load_folder("recbole", DataFormat::kRecBole, "X.inter", parts[0], "X.item", parts[1]);
  return 0;
}
