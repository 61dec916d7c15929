#include "letter/common/svg.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

namespace letter::svg {

namespace {

constexpr double kW = 900, kH = 460, kLeft = 80, kRight = 30, kTop = 60, kBottom = 70;
constexpr double kPw = kW - kLeft - kRight, kPh = kH - kTop - kBottom;
const char* const kColours[] = {"#3b6ea8", "#e08a2c", "#3a9a4a", "#c8403a", "#8456b0", "#7a7a7a"};

std::string fmt(double v, int prec) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(prec) << v;
  return os.str();
}

// A round tick step that divides [0, hi] into about `target` parts.
double nice_step(double hi, int target) {
  if (hi <= 0) return 1;
  const double raw = hi / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

// Tick label of value v for ticks `step` apart.
std::string tick(double v, double step) {
  const int prec = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return fmt(v, prec);
}

// An axis range [lo, hi] with round ends and its tick step.
struct Range {
  double lo, hi, step;
};
Range nice_range(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double step = nice_step(hi - lo, target);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

// The frame: canvas, title, subtitle, axes with ticks and labels for x in xr and y in yr.
void frame(std::ostringstream& s, const std::string& title, const std::string& subtitle, const std::string& x_label,
           const std::string& y_label, const Range& xr, const Range& yr) {
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH << "\" viewBox=\"0 0 " << kW
    << " " << kH << "\" font-family=\"sans-serif\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << kW / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"17\">" << xml_escape(title)
    << "</text>\n";
  s << "<text x=\"" << kW / 2 << "\" y=\"48\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\">"
    << xml_escape(subtitle) << "</text>\n";
  s << "<line x1=\"" << kLeft << "\" y1=\"" << kTop + kPh << "\" x2=\"" << kLeft + kPw << "\" y2=\"" << kTop + kPh
    << "\" stroke=\"black\"/>\n";
  s << "<line x1=\"" << kLeft << "\" y1=\"" << kTop << "\" x2=\"" << kLeft << "\" y2=\"" << kTop + kPh
    << "\" stroke=\"black\"/>\n";
  for (double v = yr.lo; v <= yr.hi + 1e-9 * yr.step; v += yr.step) {
    const double y = kTop + kPh - kPh * (v - yr.lo) / (yr.hi - yr.lo);
    s << "<line x1=\"" << kLeft - 5 << "\" y1=\"" << fmt(y, 2) << "\" x2=\"" << kLeft << "\" y2=\"" << fmt(y, 2)
      << "\" stroke=\"black\"/>\n";
    s << "<text x=\"" << kLeft - 8 << "\" y=\"" << fmt(y + 4, 2) << "\" text-anchor=\"end\" font-size=\"11\">"
      << tick(v, yr.step) << "</text>\n";
  }
  for (double v = xr.lo; v <= xr.hi + 1e-9 * xr.step; v += xr.step) {
    const double x = kLeft + kPw * (v - xr.lo) / (xr.hi - xr.lo);
    s << "<line x1=\"" << fmt(x, 2) << "\" y1=\"" << kTop + kPh << "\" x2=\"" << fmt(x, 2) << "\" y2=\""
      << kTop + kPh + 5 << "\" stroke=\"black\"/>\n";
    s << "<text x=\"" << fmt(x, 2) << "\" y=\"" << kTop + kPh + 19 << "\" text-anchor=\"middle\" font-size=\"11\">"
      << tick(v, xr.step) << "</text>\n";
  }
  s << "<text x=\"" << kLeft + kPw / 2 << "\" y=\"" << kH - 20 << "\" text-anchor=\"middle\" font-size=\"13\">"
    << xml_escape(x_label) << "</text>\n";
  s << "<text x=\"20\" y=\"" << kTop + kPh / 2 << "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 20 "
    << kTop + kPh / 2 << ")\">" << xml_escape(y_label) << "</text>\n";
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    switch (ch) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += ch;
    }
  }
  return o;
}

std::string line_chart(const std::string& title, const std::string& subtitle, const std::string& x_label,
                       const std::string& y_label, const std::vector<Series>& series) {
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = 0.0, yhi = -xlo;
  for (const auto& se : series)
    for (size_t i = 0; i < std::min(se.x.size(), se.y.size()); ++i) {
      xlo = std::min(xlo, se.x[i]);
      xhi = std::max(xhi, se.x[i]);
      ylo = std::min(ylo, se.y[i]);
      yhi = std::max(yhi, se.y[i]);
    }
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1, yhi = 1;
  bool integral = true;  // epochs, counts: whole-number ticks
  for (const auto& se : series)
    for (double v : se.x) integral = integral && v == std::floor(v);
  Range xr = nice_range(xlo, xhi, 8);
  if (integral && xr.step < 1) xr = {std::floor(xlo), std::max(std::ceil(xhi), std::floor(xlo) + 1), 1.0};
  const Range yr = nice_range(ylo, yhi, 6);
  std::ostringstream s;
  frame(s, title, subtitle, x_label, y_label, xr, yr);
  auto px = [&](double v) { return kLeft + kPw * (v - xr.lo) / (xr.hi - xr.lo); };
  auto py = [&](double v) { return kTop + kPh - kPh * (v - yr.lo) / (yr.hi - yr.lo); };
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& se = series[k];
    const char* colour = kColours[k % (sizeof(kColours) / sizeof(kColours[0]))];
    const size_t n = std::min(se.x.size(), se.y.size());
    std::ostringstream pts;
    for (size_t i = 0; i < n; ++i) pts << (i ? " " : "") << fmt(px(se.x[i]), 2) << "," << fmt(py(se.y[i]), 2);
    if (n > 1)
      s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"" << pts.str() << "\"/>\n";
    for (size_t i = 0; i < n; ++i)
      s << "<circle cx=\"" << fmt(px(se.x[i]), 2) << "\" cy=\"" << fmt(py(se.y[i]), 2) << "\" r=\"3\" fill=\""
        << colour << "\"/>\n";
    const double ly = kTop + 14 + 18 * static_cast<double>(k);
    s << "<line x1=\"" << kLeft + kPw - 190 << "\" y1=\"" << ly - 4 << "\" x2=\"" << kLeft + kPw - 170 << "\" y2=\""
      << ly - 4 << "\" stroke=\"" << colour << "\" stroke-width=\"2\"/>\n";
    s << "<text x=\"" << kLeft + kPw - 164 << "\" y=\"" << ly << "\" font-size=\"12\">" << xml_escape(se.name)
      << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::string bar_chart(const std::string& title, const std::string& subtitle, const std::string& x_label,
                      const std::string& y_label, const std::vector<double>& values) {
  const double n = static_cast<double>(std::max<size_t>(values.size(), 1));
  double ymax = 1.0;
  for (double v : values) ymax = std::max(ymax, v);
  const Range xr{0.0, n, nice_step(n, 8)};
  const Range yr = nice_range(0.0, ymax, 6);
  std::ostringstream s;
  frame(s, title, subtitle, x_label, y_label, xr, yr);
  const double bw = kPw / n;
  for (size_t r = 0; r < values.size(); ++r) {
    if (values[r] == 0) continue;
    const double h = kPh * values[r] / yr.hi;
    s << "<rect x=\"" << fmt(kLeft + static_cast<double>(r) * bw, 2) << "\" y=\"" << fmt(kTop + kPh - h, 2)
      << "\" width=\"" << fmt(std::max(bw * 0.85, 0.5), 2) << "\" height=\"" << fmt(h, 2)
      << "\" fill=\"#3b6ea8\"/>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace letter::svg
