// Numeric CSV files into a float32 matrix, like numpy.loadtxt / pandas.read_csv(...).to_numpy("float32").
//   CsvTable t = data::read_csv("iris.csv", {.delimiter = ',', .header = true});
//   t.columns;   // names from the header line ("0", "1", ... without one)
//   t.values;    // float32 (rows, columns)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::data {

struct CsvOptions {
  char delimiter = ',';
  bool header = true;     // the first line (after skip_rows) names the columns
  int64_t skip_rows = 0;  // lines dropped before the header or the first data line
  char comment = '#';     // lines starting with it are skipped; '\0' for none
};

struct CsvTable {
  std::vector<std::string> columns;
  Tensor values;  // float32 (rows, columns)
};

/// Reads a CSV file of numbers. Cells may be quoted ("1.5") and surrounded by spaces; "nan" and "inf"
/// are accepted; blank lines are skipped. A cell that is not a number, an empty cell or a row with the
/// wrong number of cells raises ValueError naming the file, line and column; NotFoundError if missing.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace keel::data
