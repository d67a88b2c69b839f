// Line-by-line CSV reading into float32. No embedded delimiters or newlines inside quotes: the files
// this is for (datasets of numbers) do not have them.
#include "keel/data/csv.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "data/byte_source.h"

namespace keel::data {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = trim(s.substr(1, s.size() - 2));
  return s;
}

std::vector<std::string_view> split(std::string_view line, char delimiter) {
  std::vector<std::string_view> cells;
  for (size_t start = 0;;) {
    const size_t end = line.find(delimiter, start);
    cells.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return cells;
    start = end + 1;
  }
}

// A whole cell as a float (from_chars: locale-independent, correctly rounded); false if anything is left.
bool parse_float(std::string_view cell, float& value) {
  if (cell.starts_with('+')) cell.remove_prefix(1);
  if (cell.empty()) return false;
  auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  // Out of range: from_chars leaves `value` alone; strtof gives +-inf or the underflowed value, as NumPy does.
  if (ec == std::errc::result_out_of_range && end == cell.data() + cell.size()) {
    value = std::strtof(std::string(cell).c_str(), nullptr);
    return true;
  }
  return ec == std::errc() && end == cell.data() + cell.size();
}

}  // namespace

namespace {
CsvTable read_csv_file(const std::string& path, const CsvOptions& options) {
  std::error_code ec;
  KEEL_CHECK(std::filesystem::is_regular_file(path, ec), NotFoundError, "read_csv: no such file: ", path);
  KEEL_CHECK(options.skip_rows >= 0, ValueError, "read_csv: skip_rows must be >= 0, got ", options.skip_rows);
  KEEL_CHECK(options.delimiter != '\n' && options.delimiter != '"', ValueError,
             "read_csv: the delimiter cannot be a newline or a double quote");
  std::ifstream in(path);
  KEEL_CHECK(in, Error, "read_csv: cannot open ", path);

  CsvTable table;
  std::vector<float> values;
  int64_t columns = -1, rows = 0, line_no = 0;
  bool header_pending = options.header;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no <= options.skip_rows) continue;
    std::string_view text = line;
    if (line_no == 1 && text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
    if (trim(text).empty() || (options.comment && trim(text).front() == options.comment)) continue;
    const std::vector<std::string_view> cells = split(text, options.delimiter);
    if (header_pending) {
      for (std::string_view c : cells) table.columns.emplace_back(unquote(c));
      columns = static_cast<int64_t>(cells.size());
      header_pending = false;
      continue;
    }
    if (columns < 0) {
      columns = static_cast<int64_t>(cells.size());
      for (int64_t c = 0; c < columns; ++c) table.columns.push_back(std::to_string(c));
    }
    KEEL_CHECK(static_cast<int64_t>(cells.size()) == columns, ValueError, "read_csv: ", path, ", line ", line_no,
               ": expected ", columns, " cells", options.header ? " (as in the header)" : " (as in the first row)",
               ", got ", cells.size());
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string_view cell = unquote(cells[c]);
      float v;
      KEEL_CHECK(parse_float(cell, v), ValueError, "read_csv: ", path, ", line ", line_no, ", column ", c + 1, " (",
                 table.columns[c], "): ", cell.empty() ? "empty cell" : "not a number: '" + std::string(cell) + "'");
      values.push_back(v);
    }
    ++rows;
  }
  KEEL_CHECK(!in.bad(), Error, "read_csv: reading ", path, " failed after line ", line_no);
  table.values = from_vector(values, {rows, std::max<int64_t>(columns, 0)});
  return table;
}

}  // namespace

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  return detail::translate_allocation_failures("read_csv", path, [&] { return read_csv_file(path, options); });
}

}  // namespace keel::data
