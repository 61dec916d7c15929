// Small SVG charts for the figures stages write into their run folders (the tokenizer's
// level-1 code frequency, the recommender's validation curves): a white 900 x 460 canvas,
// title and subtitle, axes with "nice" ticks and axis labels. No dependencies.
#pragma once

#include <string>
#include <vector>

namespace letter::svg {

/// One line of a line chart: points (x[i], y[i]) joined in order, with markers.
struct Series {
  std::string name;  ///< legend entry
  std::vector<double> x, y;
};

/// Line chart of `series` (colours in order: blue, orange, green, red, purple, ...). The
/// y axis starts at 0 unless a value is negative; the x axis spans the data.
std::string line_chart(const std::string& title, const std::string& subtitle, const std::string& x_label,
                       const std::string& y_label, const std::vector<Series>& series);

/// Bar chart of values[0..n-1] at ranks 0..n-1 (zero bars are not drawn).
std::string bar_chart(const std::string& title, const std::string& subtitle, const std::string& x_label,
                      const std::string& y_label, const std::vector<double>& values);

/// `s` with <, >, & and " escaped for SVG text.
std::string xml_escape(const std::string& s);

}  // namespace letter::svg
