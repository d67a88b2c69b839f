#include "keel/training/callback.h"

#include "keel/core/error.h"

namespace keel {

Trainer& Callback::model() const {
  KEEL_CHECK(model_ != nullptr, ValueError, "This callback is not attached to a model yet (it is set by fit, evaluate "
                                            "and predict)");
  return *model_;
}

CallbackList::CallbackList(std::vector<std::shared_ptr<Callback>> callbacks, Trainer* model,
                           const CallbackParams& params)
    : callbacks_(std::move(callbacks)) {
  for (auto& cb : callbacks_) {
    cb->set_model(model);
    cb->set_params(params);
  }
}

#define KEEL_FORWARD_HOOK(hook)                             \
  void CallbackList::hook(Logs& logs) {                     \
    for (auto& cb : callbacks_) cb->hook(logs);             \
  }
#define KEEL_FORWARD_INDEXED_HOOK(hook, Index)              \
  void CallbackList::hook(Index i, Logs& logs) {            \
    for (auto& cb : callbacks_) cb->hook(i, logs);          \
  }
KEEL_FORWARD_HOOK(on_train_begin)
KEEL_FORWARD_HOOK(on_train_end)
KEEL_FORWARD_HOOK(on_test_begin)
KEEL_FORWARD_HOOK(on_test_end)
KEEL_FORWARD_HOOK(on_predict_begin)
KEEL_FORWARD_HOOK(on_predict_end)
KEEL_FORWARD_INDEXED_HOOK(on_epoch_begin, int)
KEEL_FORWARD_INDEXED_HOOK(on_epoch_end, int)
KEEL_FORWARD_INDEXED_HOOK(on_train_batch_begin, int64_t)
KEEL_FORWARD_INDEXED_HOOK(on_train_batch_end, int64_t)
KEEL_FORWARD_INDEXED_HOOK(on_test_batch_begin, int64_t)
KEEL_FORWARD_INDEXED_HOOK(on_test_batch_end, int64_t)
KEEL_FORWARD_INDEXED_HOOK(on_predict_batch_begin, int64_t)
KEEL_FORWARD_INDEXED_HOOK(on_predict_batch_end, int64_t)
#undef KEEL_FORWARD_HOOK
#undef KEEL_FORWARD_INDEXED_HOOK

namespace callbacks {

void History::on_train_begin(Logs&) { epoch.clear(); }

void History::on_epoch_end(int epoch_index, Logs& logs) {
  epoch.push_back(epoch_index);
  for (const auto& [key, value] : logs) history[key].push_back(value);
}

}  // namespace callbacks
}  // namespace keel
