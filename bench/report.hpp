#pragma once
// report.html: one self-contained page (no external files: every PNG is embedded as a base64
// data URI, styles inline) with the verdict, all tables, all plots, the ground-truth notes and
// the scenario text, to open in any browser or attach to a message.
#include <filesystem>
#include <string>
#include <vector>

#include "bench/plots.hpp"
#include "bench/summary.hpp"

namespace sdm::bench {

/// Extra facts printed in the report's header.
struct ReportContext {
  std::string scenario_text;              ///< verbatim scenario file
  std::string scenario_path;
  std::vector<std::string> facts;         ///< "label: value" lines (run folder, wall time, build, workers...)
  std::vector<std::string> ground_truth;  ///< how ground truth and metrics were defined for this run
};

/// Base64 (RFC 4648, with padding).
std::string base64(const std::vector<unsigned char>& bytes);
/// Escapes &, <, >, " and ' for HTML text and attributes.
std::string html_escape(const std::string& text);

/// The page as a string; reads each plot file to embed it (throws sdm::Error if one is unreadable).
std::string report_html(const Summary& summary, const std::vector<PlotFile>& plots, const ReportContext& context);

}  // namespace sdm::bench
