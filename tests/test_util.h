// Helpers shared by the test suites: asserting that a call throws a given error whose message names
// what was wrong.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace keel::testing {

/// Succeeds when f() throws E and the message contains every string in `parts`.
template <class E, class F>
::testing::AssertionResult throws_with(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const E& e) {
    std::string m = e.what();
    for (const std::string& p : parts)
      if (m.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message '" << m << "' lacks '" << p << "'";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw another exception type: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

/// EXPECT form of throws_with.
template <class E, class F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  EXPECT_TRUE(throws_with<E>(std::forward<F>(f), parts));
}

/// expect_error<E>(f, "part", "other part", ...).
template <class E, class F, class... Rest>
void expect_error(F&& f, const std::string& first, const Rest&... rest) {
  EXPECT_TRUE(throws_with<E>(std::forward<F>(f), {first, std::string(rest)...}));
}

}  // namespace keel::testing
