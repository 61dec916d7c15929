// letter: entry point. All logic lives in letter_core / letter_cli; errors end here as one
// "error: ..." line (exit 1 runtime, 2 usage).
#include <iostream>
#include <string>
#include <vector>

#include "app.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return letter::cli::run(args, std::cout, std::cerr);
}
