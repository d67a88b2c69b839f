// read_csv on small hand-written files (fixtures/make_fixtures.py writes them).
#include <gtest/gtest.h>

#include <cmath>

#include "keel/data/csv.h"
#include "temp_dir.h"
#include "test_util.h"

namespace keel::data {
namespace {

using keel::testing::expect_error;

const std::string kFixtures = std::string(KEEL_TEST_DATA_DIR) + "/data/fixtures/";

TEST(Csv, ReadsHeaderQuotesSpacesBlankLinesNanInf) {
  // 'a,b,"c"\n1,2.5,-3\n\n4e2, 5 ,"6"\n7,nan,-inf\n'
  CsvTable t = read_csv(kFixtures + "table.csv");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.values.dtype(), DType::f32);
  EXPECT_EQ(t.values.shape(), (Shape{3, 3}));
  std::vector<float> v = t.values.to_vector<float>();
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + 7), (std::vector<float>{1, 2.5f, -3, 400, 5, 6, 7}));
  EXPECT_TRUE(std::isnan(v[7]));
  EXPECT_EQ(v[8], -INFINITY);
}

TEST(Csv, NoHeaderOtherDelimiterSkipRows) {
  keel::testing::TempDir dir;
  keel::testing::write_text(dir.file("t.csv"), "# a comment line\nignored;line\n1;2\r\n+3;-4.5e-1\r\n1e39;-1e-50\r\n");
  CsvTable t = read_csv(dir.file("t.csv"), {.delimiter = ';', .header = false, .skip_rows = 2});
  EXPECT_EQ(t.columns, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(t.values.shape(), (Shape{3, 2}));
  // Beyond float32's range: overflow to inf, underflow to (signed) zero, as numpy.float32("1e39") does.
  EXPECT_EQ(t.values.to_vector<float>(), (std::vector<float>{1, 2, 3, -0.45f, INFINITY, -0.0f}));
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  // "a,b\n1,2\n3,x7\n"
  expect_error<ValueError>([] { read_csv(kFixtures + "bad_cell.csv"); },
                           {"bad_cell.csv", "line 3", "column 2 (b)", "not a number: 'x7'"});
  // "1;2;3\n4;5\n"
  expect_error<ValueError>([] { read_csv(kFixtures + "ragged.csv", {.delimiter = ';', .header = false}); },
                           {"ragged.csv", "line 2", "expected 3 cells", "got 2"});
  keel::testing::TempDir dir;
  keel::testing::write_text(dir.file("e.csv"), "a,b\n1,\n");
  expect_error<ValueError>([&] { read_csv(dir.file("e.csv")); }, {"e.csv", "line 2", "column 2", "empty cell"});
  expect_error<NotFoundError>([] { read_csv(kFixtures + "missing.csv"); }, {"read_csv", "missing.csv"});
}

}  // namespace
}  // namespace keel::data
