#include "keel/training/callback.h"

#include <cmath>
#include <limits>

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

void CallbackList::after_train_batch_end(int epoch, int64_t batch, const Logs& logs) {
  for (auto& cb : callbacks_) cb->after_train_batch_end(epoch, batch, logs);
}

void CallbackList::after_epoch_end(int epoch, const Logs& logs) {
  for (auto& cb : callbacks_) cb->after_epoch_end(epoch, logs);
}

namespace callbacks {

nlohmann::json double_to_json(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return value;
}

double json_to_double(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (value == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (value == "inf") return std::numeric_limits<double>::infinity();
  if (value == "-inf") return -std::numeric_limits<double>::infinity();
  throw ValueError("expected a number (or \"nan\", \"inf\", \"-inf\"); got " + value.dump());
}

void History::on_train_begin(Logs&) { epoch.clear(); }

void History::on_epoch_end(int epoch_index, Logs& logs) {
  epoch.push_back(epoch_index);
  for (const auto& [key, value] : logs) history[key].push_back(value);
}

}  // namespace callbacks
}  // namespace keel
