// keel::summary::SummaryWriter: the public face of EventFile.
#include "keel/tensorboard/summary.h"

#include "keel/core/error.h"
#include "tensorboard/event_file.h"

namespace keel::summary {
namespace {

tensorboard::EventFile& open_file(const std::unique_ptr<tensorboard::EventFile>& file) {
  KEEL_CHECK(file != nullptr, ValueError, "This SummaryWriter was moved from; it has no event file");
  return *file;
}

}  // namespace

SummaryWriter::SummaryWriter(const std::string& logdir) : file_(std::make_unique<tensorboard::EventFile>(logdir)) {}
SummaryWriter::~SummaryWriter() = default;
SummaryWriter::SummaryWriter(SummaryWriter&&) noexcept = default;
SummaryWriter& SummaryWriter::operator=(SummaryWriter&&) noexcept = default;

void SummaryWriter::scalar(const std::string& name, double value, int64_t step) {
  open_file(file_).scalar(name, value, step);
}

void SummaryWriter::histogram(const std::string& name, const Tensor& data, int64_t step, int buckets) {
  KEEL_CHECK(data.defined(), ValueError, "histogram '", name, "': the data tensor is undefined");
  const std::vector<double> values = data.to_vector<double>();
  open_file(file_).histogram(name, values, step, buckets);
}

void SummaryWriter::flush() { open_file(file_).flush(); }
void SummaryWriter::close() { open_file(file_).close(); }
const std::string& SummaryWriter::path() const { return open_file(file_).path(); }

SummaryWriter create_file_writer(const std::string& logdir) { return SummaryWriter(logdir); }

}  // namespace keel::summary
