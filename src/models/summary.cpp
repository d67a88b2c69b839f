// model.summary(): Keras 3's table (keras/src/utils/summary_utils.py, keras-reference §1.4): heavy
// header rules, a rule between rows, right-aligned parameter counts with thousands separators, then
// the totals with their memory size.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "keel/models/model.h"

namespace keel {

namespace {

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string readable_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s", bytes, units[u]);
  return buf;
}

// Display width of UTF-8 text (box-drawing characters are one column each).
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

std::string repeat(const char* s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string cell(const std::string& text, size_t width, bool right) {
  const size_t inner = width > 2 ? width - 2 : 0;
  std::string t = text;
  if (display_width(t) > inner && inner > 1) t = t.substr(0, inner - 1) + "\u2026";  // ellipsis
  const size_t w = display_width(t);
  const size_t pad = inner > w ? inner - w : 0;
  std::string out(1, ' ');
  if (right) out.append(pad, ' ');
  out += t;
  if (!right) out.append(pad, ' ');
  out += ' ';
  return out;
}

std::string rule(const std::vector<size_t>& widths, const char* left, const char* mid, const char* right,
                 const char* line) {
  std::string s = left;
  for (size_t i = 0; i < widths.size(); ++i) s += repeat(line, widths[i]) + (i + 1 < widths.size() ? mid : right);
  return s;
}

std::string row(const std::vector<size_t>& widths, const std::vector<std::string>& cells,
                const std::vector<bool>& right, const char* bar) {
  std::string s = bar;
  for (size_t i = 0; i < widths.size(); ++i) s += cell(cells[i], widths[i], right[i]) + bar;
  return s;
}

int64_t weight_bytes(const std::vector<Variable>& vars) {
  int64_t b = 0;
  for (const auto& v : vars) b += v.numel() * static_cast<int64_t>(dtype_size(v.dtype()));
  return b;
}

int64_t count(const std::vector<Variable>& vars) {
  int64_t n = 0;
  for (const auto& v : vars) n += v.numel();
  return n;
}

}  // namespace

void ModelImpl::summary(std::ostream& os, SummaryOptions options) const {
  const bool chain = is_sequential_like();
  // Column widths of Keras's default layout (88 columns for chains, 108 with "Connected to").
  std::vector<size_t> widths = chain ? std::vector<size_t>{33, 24, 15} : std::vector<size_t>{29, 23, 11, 35};
  std::vector<std::string> headers = {"Layer (type)", "Output Shape", "Param #"};
  std::vector<bool> right = {false, false, true};
  if (!chain) {
    headers.push_back("Connected to");
    right.push_back(false);
  }
  if (options.show_trainable) {
    widths.push_back(11);
    headers.push_back("Trainable");
    right.push_back(false);
  }
  if (options.line_length) {
    const size_t total = static_cast<size_t>(std::max(*options.line_length, 40));
    size_t current = widths.size() + 1;
    for (size_t w : widths) current += w;
    widths[0] = std::max<size_t>(12, widths[0] + total - std::min(total, current));
  }

  os << "Model: \"" << name() << "\"\n";
  os << rule(widths, "┏", "┳", "┓", "━") << "\n";
  os << row(widths, headers, right, "┃") << "\n";
  os << rule(widths, "┡", "╇", "┩", "━") << "\n";

  auto functional = dynamic_cast<const FunctionalImpl*>(this);
  std::vector<LayerHandle> ls = layers();
  for (size_t i = 0; i < ls.size(); ++i) {
    const Layer& l = *ls[i];
    Shape out = layer_output_shape(l);
    std::vector<std::string> cells = {l.name() + " (" + l.class_name() + ")",
                                      out.empty() && !l.built() ? "?" : partial_shape_str(out),
                                      l.built() ? with_commas(l.count_params()) : "0 (unbuilt)"};
    if (!chain) {
      std::string connected;
      if (functional)
        for (const auto& node : functional->nodes())
          if (node->layer.get() == &l)
            for (const auto& in : node->inputs)
              connected += (connected.empty() ? "" : ", ") + in.node->layer->name() + "[0][" +
                           std::to_string(in.index) + "]";
      cells.push_back(connected.empty() ? "-" : connected);
    }
    if (options.show_trainable)
      cells.push_back(l.weights().empty() ? "-" : (l.trainable() ? "Y" : "N"));
    os << row(widths, cells, right, "│") << "\n";
    if (i + 1 < ls.size()) os << rule(widths, "├", "┼", "┤", "─") << "\n";
  }
  os << rule(widths, "└", "┴", "┘", "─") << "\n";

  const auto trainable = trainable_weights();
  const auto non_trainable = non_trainable_weights();
  int64_t optimizer_params = 0, optimizer_bytes = 0;
  if (compiled() && optimizer_ptr() && optimizer_ptr()->built()) {
    optimizer_params = count(optimizer_ptr()->variables());
    optimizer_bytes = weight_bytes(optimizer_ptr()->variables());
  }
  const int64_t total = count(trainable) + count(non_trainable) + optimizer_params;
  const int64_t total_bytes = weight_bytes(trainable) + weight_bytes(non_trainable) + optimizer_bytes;
  os << " Total params: " << with_commas(total) << " (" << readable_bytes(static_cast<double>(total_bytes)) << ")\n";
  os << " Trainable params: " << with_commas(count(trainable)) << " ("
     << readable_bytes(static_cast<double>(weight_bytes(trainable))) << ")\n";
  os << " Non-trainable params: " << with_commas(count(non_trainable)) << " ("
     << readable_bytes(static_cast<double>(weight_bytes(non_trainable))) << ")\n";
  if (optimizer_params > 0)
    os << " Optimizer params: " << with_commas(optimizer_params) << " ("
       << readable_bytes(static_cast<double>(optimizer_bytes)) << ")\n";
}

}  // namespace keel
