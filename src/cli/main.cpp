// letter: entry point. All logic lives in letter_core / letter_cli; errors end here as one
// "error: ..." line (exit 1 runtime, 2 usage).
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "app.h"
#include "letter/common/runtime.h"

int main(int argc, char** argv) {
  // Compute subcommands (not --help, config, data) may re-execute this program once: loading
  // LibTorch twice costs 0.3-0.7 s, negligible next to training or evaluation.
  static const std::set<std::string> kCompute = {"embed", "train-cf", "train-tokenizer",
                                                 "train-recommender", "evaluate", "recommend"};
  if (argc > 1 && kCompute.count(argv[1]) != 0) letter::limit_openmp_spinning(argv);
  std::vector<std::string> args(argv, argv + argc);
  return letter::cli::run(args, std::cout, std::cerr);
}
