// Keel's exceptions, named after Keras/TensorFlow's, and KEEL_CHECK, which builds the message from
// its arguments (an op name, shapes, dtypes...) only when the check fails.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace keel {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ValueError : public Error { public: using Error::Error; };
class ShapeError : public ValueError { public: using ValueError::ValueError; };
class DTypeError : public ValueError { public: using ValueError::ValueError; };
class IndexError : public ValueError { public: using ValueError::ValueError; };
class NotFoundError : public Error { public: using Error::Error; };
class ResourceExhaustedError : public Error { public: using Error::Error; };
class UnimplementedError : public Error { public: using Error::Error; };
/// Misuse of state, e.g. backward through a graph that was already freed.
class RuntimeError : public Error { public: using Error::Error; };
/// A peer process is gone or cannot be reached (tf.errors.UnavailableError).
class UnavailableError : public Error { public: using Error::Error; };
/// A wait ran past its timeout (tf.errors.DeadlineExceededError).
class DeadlineExceededError : public Error { public: using Error::Error; };

namespace detail {
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace keel

/// KEEL_CHECK(cond, ErrorType, message parts...): throws ErrorType(concatenated parts) when !cond.
#define KEEL_CHECK(cond, ErrorType, ...)                          \
  do {                                                            \
    if (!(cond)) [[unlikely]]                                     \
      throw ::keel::ErrorType(::keel::detail::cat(__VA_ARGS__));  \
  } while (0)
