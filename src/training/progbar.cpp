#include "keel/training/progbar.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace keel {

namespace {
constexpr int kBarWidth = 20;
constexpr double kRedrawInterval = 0.05;  // seconds between redraws, as Keras
const char* kCell = "\xe2\x94\x81";       // ━

std::string format_fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Keras's value formatting: 4 decimals, or scientific for tiny values (absolute test on the bar,
// signed test on the verbose=2 line).
std::string format_value(double v, bool absolute_test) {
  const bool fixed = absolute_test ? std::abs(v) > 1e-3 : v > 1e-3;
  char buf[64];
  std::snprintf(buf, sizeof buf, fixed ? "%.4f" : "%.4e", v);
  return buf;
}

std::string format_time_per_step(double t) {
  // Appended rather than `" " + ...`, which GCC 12 misreads as an overlapping copy (-Wrestrict).
  std::string out(" ");
  if (t >= 1 || t == 0) return out.append(format_fixed(t, 0)).append("s/step");
  if (t >= 1e-3) return out.append(format_fixed(t * 1e3, 0)).append("ms/step");
  return out.append(format_fixed(t * 1e6, 0)).append("us/step");
}

std::string format_eta(double eta) {
  char buf[64];
  const long s = std::lround(std::floor(eta));
  if (eta > 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s % 3600) / 60, s % 60);
  else if (eta > 60) std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

int digits(int64_t n) { return n <= 0 ? 1 : static_cast<int>(std::floor(std::log10(static_cast<double>(n)))) + 1; }

/// "current/target" with current right-aligned to the target's width, as Keras prints it.
std::string step_count(int64_t current, int64_t target) {
  std::string c = std::to_string(current);
  const size_t width = static_cast<size_t>(digits(target));
  if (c.size() < width) c.insert(0, width - c.size(), ' ');
  return c + "/" + std::to_string(target);
}
}  // namespace

Progbar::Progbar(int64_t target, int verbose, std::FILE* out, std::optional<bool> dynamic)
    : target_(target),
      verbose_(verbose),
      out_(out),
      dynamic_(dynamic.value_or(isatty(fileno(out)) != 0)),
      start_(std::chrono::steady_clock::now()) {}

double Progbar::seconds_since_start() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progbar::render(int64_t current, const Logs& values, bool finalize, double now) const {
  // Time per step excludes the first step (compilation and warm-up) once a later one has run.
  double per_step = 0;
  if (current == 1 || !time_after_first_step_) per_step = current > 0 ? now / static_cast<double>(current) : 0;
  else per_step = (now - *time_after_first_step_) / static_cast<double>(current - 1);

  std::ostringstream os;
  if (verbose_ == 2) {
    os << (target_ > 0 ? step_count(current, target_) : std::to_string(current))
       << " - " << format_fixed(now, 0) << "s -" << format_time_per_step(per_step);
    for (const auto& [k, v] : values) os << " - " << k << ": " << format_value(v, false);
    return os.str();
  }
  const bool color = dynamic_;
  if (target_ > 0) {
    std::string count = step_count(current, target_);
    os << (color ? "\x1b[1m" + count + "\x1b[0m" : count) << ' ';
    const int done = static_cast<int>(kBarWidth * static_cast<double>(current) / static_cast<double>(target_));
    std::string done_cells, todo_cells;
    for (int i = 0; i < kBarWidth; ++i) (i < done ? done_cells : todo_cells) += kCell;
    if (color) {
      if (done > 0) os << "\x1b[32m" << done_cells << "\x1b[0m";
      if (done < kBarWidth) os << "\x1b[37m" << todo_cells << "\x1b[0m";
    } else {
      os << done_cells << todo_cells;
    }
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%7lld/Unknown", static_cast<long long>(current));
    os << buf;
  }
  if (finalize || target_ <= 0) os << ' ' << format_fixed(now, 0) << 's';
  else os << ' ' << format_eta(per_step * static_cast<double>(target_ - current));
  os << format_time_per_step(per_step);
  for (const auto& [k, v] : values) os << " - " << k << ": " << format_value(v, true);
  return os.str();
}

void Progbar::update(int64_t current, const Logs& values, bool finalize) {
  const double now = seconds_since_start();
  if (current == 1 && !time_after_first_step_) time_after_first_step_ = now;
  if (verbose_ != 1 && verbose_ != 2) return;
  if (verbose_ == 2 && !finalize) return;
  if (verbose_ == 1 && !dynamic_ && !finalize) return;  // logs and pipes get the final line only
  if (verbose_ == 1 && !finalize && last_update_ >= 0 && now - last_update_ < kRedrawInterval) return;
  last_update_ = now;
  std::string line = render(current, values, finalize, now);
  std::string message;
  if (verbose_ == 1 && dynamic_) {
    message.assign(previous_width_, '\b');
    message += '\r';
    // Pad with spaces so a shorter line fully covers the previous one.
    std::string padded = line;
    if (padded.size() < previous_width_) padded.append(previous_width_ - padded.size(), ' ');
    previous_width_ = line.size();
    message += padded;
  } else {
    message = line;
  }
  if (finalize) message += '\n';
  std::fputs(message.c_str(), out_);
  std::fflush(out_);
}

namespace callbacks {

void ProgbarLogger::start_bar() {
  seen_ = 0;
  bar_.emplace(params().steps, params().verbose);
}

void ProgbarLogger::on_train_begin(Logs&) { training_ = true; }

void ProgbarLogger::on_epoch_begin(int epoch, Logs&) {
  if (params().verbose != 0 && params().epochs > 1) {
    std::printf("Epoch %d/%d\n", epoch + 1, params().epochs);
    std::fflush(stdout);
  }
  start_bar();
}

void ProgbarLogger::on_train_batch_end(int64_t batch, Logs& logs) {
  seen_ = batch + 1;
  if (bar_) bar_->update(seen_, logs);
}

void ProgbarLogger::on_epoch_end(int, Logs& logs) {
  if (bar_) bar_->update(seen_, logs, /*finalize=*/true);
  bar_.reset();
}

// Inside fit the validation pass draws no bar of its own.
void ProgbarLogger::on_test_begin(Logs&) {
  if (!training_) start_bar();
}

void ProgbarLogger::on_test_batch_end(int64_t batch, Logs& logs) {
  if (training_) return;
  seen_ = batch + 1;
  if (bar_) bar_->update(seen_, logs);
}

void ProgbarLogger::on_test_end(Logs& logs) {
  if (training_ || !bar_) return;
  bar_->update(seen_, logs, true);
  bar_.reset();
}

void ProgbarLogger::on_predict_begin(Logs&) { start_bar(); }

void ProgbarLogger::on_predict_batch_end(int64_t batch, Logs&) {
  seen_ = batch + 1;
  if (bar_) bar_->update(seen_, {});
}

void ProgbarLogger::on_predict_end(Logs&) {
  if (!bar_) return;
  bar_->update(seen_, {}, true);
  bar_.reset();
}

}  // namespace callbacks
}  // namespace keel
