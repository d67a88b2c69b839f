// LambdaCallback (keras/src/callbacks/lambda_callback.py): each hook calls its function when one is given.
#include "keel/training/callbacks.h"

namespace keel::callbacks {

void LambdaCallback::on_train_begin(Logs& logs) {
  if (f_.on_train_begin) f_.on_train_begin(logs);
}
void LambdaCallback::on_train_end(Logs& logs) {
  if (f_.on_train_end) f_.on_train_end(logs);
}
void LambdaCallback::on_epoch_begin(int epoch, Logs& logs) {
  if (f_.on_epoch_begin) f_.on_epoch_begin(epoch, logs);
}
void LambdaCallback::on_epoch_end(int epoch, Logs& logs) {
  if (f_.on_epoch_end) f_.on_epoch_end(epoch, logs);
}
void LambdaCallback::on_batch_begin(int64_t batch, Logs& logs) {
  if (f_.on_batch_begin) f_.on_batch_begin(batch, logs);
}
void LambdaCallback::on_batch_end(int64_t batch, Logs& logs) {
  if (f_.on_batch_end) f_.on_batch_end(batch, logs);
}
// Without an on_train_batch_* function the base default runs, which calls on_batch_* (as in Keras).
void LambdaCallback::on_train_batch_begin(int64_t batch, Logs& logs) {
  if (f_.on_train_batch_begin)
    f_.on_train_batch_begin(batch, logs);
  else
    Callback::on_train_batch_begin(batch, logs);
}
void LambdaCallback::on_train_batch_end(int64_t batch, Logs& logs) {
  if (f_.on_train_batch_end)
    f_.on_train_batch_end(batch, logs);
  else
    Callback::on_train_batch_end(batch, logs);
}
void LambdaCallback::on_test_begin(Logs& logs) {
  if (f_.on_test_begin) f_.on_test_begin(logs);
}
void LambdaCallback::on_test_end(Logs& logs) {
  if (f_.on_test_end) f_.on_test_end(logs);
}
void LambdaCallback::on_test_batch_begin(int64_t batch, Logs& logs) {
  if (f_.on_test_batch_begin) f_.on_test_batch_begin(batch, logs);
}
void LambdaCallback::on_test_batch_end(int64_t batch, Logs& logs) {
  if (f_.on_test_batch_end) f_.on_test_batch_end(batch, logs);
}
void LambdaCallback::on_predict_begin(Logs& logs) {
  if (f_.on_predict_begin) f_.on_predict_begin(logs);
}
void LambdaCallback::on_predict_end(Logs& logs) {
  if (f_.on_predict_end) f_.on_predict_end(logs);
}
void LambdaCallback::on_predict_batch_begin(int64_t batch, Logs& logs) {
  if (f_.on_predict_batch_begin) f_.on_predict_batch_begin(batch, logs);
}
void LambdaCallback::on_predict_batch_end(int64_t batch, Logs& logs) {
  if (f_.on_predict_batch_end) f_.on_predict_batch_end(batch, logs);
}

}  // namespace keel::callbacks
