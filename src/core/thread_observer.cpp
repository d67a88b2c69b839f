#include "core/thread_observer.h"

namespace keel::detail {
namespace {
thread_local ThreadObserver* tls_observer = nullptr;
}  // namespace

ThreadObserver* exchange_thread_observer(ThreadObserver* observer) {
  ThreadObserver* previous = tls_observer;
  tls_observer = observer;
  return previous;
}
ThreadObserver* thread_observer() { return tls_observer; }

}  // namespace keel::detail
