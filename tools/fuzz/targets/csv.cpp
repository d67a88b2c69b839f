// data::read_csv with a header row, as datasets of numbers are read.
#include "../fuzz_target.h"
#include "keel/data/csv.h"

KEEL_FUZZ_TARGET(".csv", [](const std::string& path) { keel::data::read_csv(path, {.header = true}); })
