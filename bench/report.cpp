#include "bench/report.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

#include "core/error.hpp"

namespace sdm::bench {

std::string base64(const std::vector<unsigned char>& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned(in[i]) << 16) | (unsigned(in[i + 1]) << 8) | unsigned(in[i + 2]);
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = unsigned(in[i]) << 16;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned(in[i]) << 16) | (unsigned(in[i + 1]) << 8);
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string html_escape(const std::string& t) {
  std::string o;
  o.reserve(t.size());
  for (char c : t) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {
std::vector<unsigned char> read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw Error("report: cannot read plot " + p.string());
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void table_html(std::ostringstream& o, const Table& t) {
  o << "<h3 id=\"" << html_escape(t.id) << "\">" << html_escape(t.title) << "</h3>\n<p class=\"cap\">"
    << html_escape(t.caption) << "</p>\n<table>\n<tr>";
  for (const std::string& h : t.header) o << "<th>" << html_escape(h) << "</th>";
  o << "</tr>\n";
  for (const auto& r : t.rows) {
    o << "<tr>";
    for (std::size_t i = 0; i < r.size(); ++i) o << (i ? "<td>" : "<td class=\"k\">") << html_escape(r[i]) << "</td>";
    o << "</tr>\n";
  }
  o << "</table>\n";
}
}  // namespace

std::string report_html(const Summary& s, const std::vector<PlotFile>& plots, const ReportContext& ctx) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>sdm bench: " << html_escape(s.scenario)
    << "</title>\n<style>\n"
       "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1280px;padding:0 1em;"
       "color:#222;line-height:1.45}\n"
       "h1{font-size:1.7em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{margin-bottom:.2em}\n"
       "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}\n"
       "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;white-space:nowrap}\n"
       "th{background:#f0f0f0}td.k{text-align:left;font-weight:600}\n"
       ".cap{color:#555;font-size:.9em;margin:.2em 0}\n"
       ".note{background:#fff8e1;border-left:4px solid #f0b400;padding:.6em 1em}\n"
       ".fail{background:#fdecea;border-left:4px solid #d93025;padding:.6em 1em}\n"
       "figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #ddd}\n"
       "pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:.85em}\n"
       "ul.facts{columns:2;list-style:none;padding:0}\n"
       "</style>\n</head>\n<body>\n";
  o << "<h1>sdm bench: " << html_escape(s.scenario) << "</h1>\n";
  if (!s.description.empty()) o << "<p>" << html_escape(s.description) << "</p>\n";
  o << "<ul class=\"facts\">\n<li><b>Strategies:</b> ";
  for (std::size_t i = 0; i < s.strategies.size(); ++i) o << (i ? ", " : "") << html_escape(s.strategies[i]);
  o << " (reference: " << html_escape(s.reference) << ")</li>\n<li><b>Seeds:</b> ";
  for (std::size_t i = 0; i < s.seeds.size(); ++i) o << (i ? ", " : "") << s.seeds[i];
  o << "</li>\n<li><b>Budgets:</b> ";
  for (std::size_t i = 0; i < s.budgets.size(); ++i) o << (i ? ", " : "") << s.budgets[i];
  o << " measurements</li>\n";
  for (const std::string& f : ctx.facts) o << "<li>" << html_escape(f) << "</li>\n";
  o << "</ul>\n";
  if (!s.failures.empty()) {
    o << "<div class=\"fail\"><b>Campaigns without metrics (" << s.failures.size() << "):</b><ul>";
    for (const std::string& f : s.failures) o << "<li>" << html_escape(f) << "</li>";
    o << "</ul>The tables use the campaigns that finished; n in each cell says how many.</div>\n";
  }
  o << "<p class=\"note\"><b>Statistics.</b> " << html_escape(statistics_note(s)) << "</p>\n";
  for (const std::string& n : s.notes) o << "<p class=\"note\">" << html_escape(n) << "</p>\n";

  const std::vector<Table> tables = summary_tables(s);
  o << "<h2>Verdict</h2>\n<ul>\n";
  for (const std::string& v : verdict_sentences(s)) o << "<li>" << html_escape(v) << "</li>\n";
  o << "</ul>\n";
  for (const Table& t : tables)
    if (t.id == "verdict") table_html(o, t);

  o << "<h2>Figures</h2>\n";
  for (const PlotFile& p : plots) {
    o << "<figure><img alt=\"" << html_escape(p.path.filename().string()) << "\" src=\"data:image/png;base64,"
      << base64(read_bytes(p.path)) << "\"><figcaption class=\"cap\"><b>" << html_escape(p.path.filename().string())
      << ".</b> " << html_escape(p.caption) << "</figcaption></figure>\n";
  }

  o << "<h2>Metrics by budget</h2>\n";
  for (const Table& t : tables)
    if (t.id.rfind("metric-", 0) == 0 || t.id == "campaign-level") table_html(o, t);
  o << "<h2>Paired comparisons with " << html_escape(s.reference) << "</h2>\n";
  for (const Table& t : tables)
    if (t.id.rfind("compare-", 0) == 0) table_html(o, t);

  if (!ctx.ground_truth.empty()) {
    o << "<h2>Ground truth and metric definitions</h2>\n<ul>\n";
    for (const std::string& g : ctx.ground_truth) o << "<li>" << html_escape(g) << "</li>\n";
    o << "</ul>\n";
  }
  o << "<h2>Scenario</h2>\n<p class=\"cap\">" << html_escape(ctx.scenario_path) << "</p>\n<pre>"
    << html_escape(ctx.scenario_text) << "</pre>\n</body>\n</html>\n";
  return o.str();
}

}  // namespace sdm::bench
