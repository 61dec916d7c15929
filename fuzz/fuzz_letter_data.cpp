// LETTER / LC-Rec JSON datasets: X.inter.json and X.item.json (input parts separated by a
// line "#####"; an empty item part means no .item.json), loaded as `letter` loads them.
#include "fuzz_util.h"
#include "letter/data/dataset.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  letter::fuzz::quiet();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  const auto parts = fuzz::split(fuzz::as_text(data, size), 2);
  std::filesystem::remove_all(fuzz::scratch() / "letter");
  fuzz::write_file("letter/X.inter.json", parts[0]);
  if (!parts[1].empty()) fuzz::write_file("letter/X.item.json", parts[1]);
  DataOptions opt;
  opt.path = (fuzz::scratch() / "letter").string();
  opt.kcore = 0;
  fuzz::run([&] { load_dataset(opt); });
  return 0;
}
