# Sourced by scripts/test.sh --sanitize and scripts/fuzz.sh: the one sanitizer build
# (build-san/: clang, AddressSanitizer + UndefinedBehaviorSanitizer on every target, libFuzzer
# coverage, the fuzz targets) and the sanitizer run-time options both use.
SAN_BUILD=build-san

configure_sanitize_build() {
  command -v clang++ >/dev/null || { echo "sanitize: clang++ not found (scripts/setup.sh installs it)" >&2; exit 2; }
  CC=clang CXX=clang++ cmake -S . -B "$SAN_BUILD" -DCMAKE_BUILD_TYPE=Release -DLETTER_FUZZ=ON >/dev/null
}

# Any finding ends the process with an error; leaks inside LibTorch itself are suppressed
# (fuzz/lsan.supp says which and why).
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:allocator_may_return_null=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
