// `letter recommend` requests (JSON Lines) answered by a small random model on data/tiny.
#include <sstream>

#include "fuzz_util.h"
#include "letter/data/codes.h"
#include "letter/rec/serve.h"

namespace {
letter::rec::Recommender* model = nullptr;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace letter;
  torch::set_num_threads(1);
  ItemCodes codes;
  const int64_t n = fuzz::tiny().num_items();
  auto ids = torch::arange(n, torch::kInt64);
  codes.codes = torch::stack({ids.div(32, "floor"), ids.remainder(32)}, 1);
  model = new rec::Recommender(test::tiny_recommender_options(), codes, torch::kCPU, 1);
  model->net->eval();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace letter;
  rec::ServeOptions so;
  so.beam = 4;
  so.batch_size = 3;
  std::istringstream in{std::string(fuzz::as_text(data, size))};
  std::ostringstream out;
  torch::NoGradGuard ng;
  fuzz::run([&] { rec::recommend_jsonl(*model, fuzz::tiny(), so, in, out); });
  return 0;
}
