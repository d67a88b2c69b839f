// The progress bar's text, as keras.utils.Progbar renders it (keras-reference §8.4).
#include <gtest/gtest.h>

#include "keel/training/progbar.h"

namespace keel {
namespace {

std::string cells(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "\xe2\x94\x81";  // ━
  return s;
}

TEST(Progbar, FinalLineShowsElapsedTimePerStepAndValues) {
  Progbar bar(32, 1, stdout, /*dynamic=*/false);
  EXPECT_EQ(bar.render(32, {{"accuracy", 0.90625}, {"loss", 0.2845}}, true, 1.0),
            "32/32 " + cells(20) + " 1s 31ms/step - accuracy: 0.9062 - loss: 0.2845");
}

TEST(Progbar, RunningLineShowsEtaAndPartialBarWithRightAlignedCount) {
  Progbar bar(32, 1, stdout, false);
  EXPECT_EQ(bar.render(8, {{"loss", 0.5}}, false, 2.0), " 8/32 " + cells(20) + " 6s 250ms/step - loss: 0.5000");
}

TEST(Progbar, SmallValuesUseScientificNotationAndTimesScaleUnits) {
  Progbar bar(1000, 1, stdout, false);
  EXPECT_EQ(bar.render(1000, {{"loss", 1e-4}}, true, 0.5), "1000/1000 " + cells(20) + " 0s 500us/step - loss: 1.0000e-04");
  EXPECT_EQ(bar.render(1000, {{"loss", -0.25}}, false, 200.0).substr(0, 10), "1000/1000 ");
}

TEST(Progbar, EtaOverAMinuteAndAnHour) {
  Progbar bar(100, 1, stdout, false);
  EXPECT_NE(bar.render(10, {}, false, 10.0).find(" 1:30 "), std::string::npos);      // 90 s left
  EXPECT_NE(bar.render(1, {}, false, 100.0).find(" 2:45:00 "), std::string::npos);   // 9900 s left
}

TEST(Progbar, VerboseTwoIsOneLinePerEpoch) {
  Progbar bar(32, 2, stdout, false);
  EXPECT_EQ(bar.render(32, {{"accuracy", 0.5}, {"loss", 0.0001}}, true, 3.0),
            "32/32 - 3s - 94ms/step - accuracy: 0.5000 - loss: 1.0000e-04");
}

TEST(Progbar, UnknownTarget) {
  Progbar bar(-1, 1, stdout, false);
  EXPECT_EQ(bar.render(12, {}, false, 1.2).substr(0, 15), "     12/Unknown");
}

}  // namespace
}  // namespace keel
