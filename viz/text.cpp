// UTF-8 → ASCII transliteration for the Hershey fonts (cv::putText prints '?' for anything else).
#include <cstdint>
#include <string>

#include "viz/figure.hpp"

namespace sdm::viz {
namespace {

const char* superscript(std::uint32_t c) {
  switch (c) {
    case 0x2070: return "0";
    case 0x00B9: return "1";
    case 0x00B2: return "2";
    case 0x00B3: return "3";
    case 0x2074: return "4";
    case 0x2075: return "5";
    case 0x2076: return "6";
    case 0x2077: return "7";
    case 0x2078: return "8";
    case 0x2079: return "9";
    case 0x207A: return "+";
    case 0x207B: return "-";
    case 0x207F: return "n";
    default: return nullptr;
  }
}

const char* subscript(std::uint32_t c) {
  if (c >= 0x2080 && c <= 0x2089) {
    static const char* digits[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    return digits[c - 0x2080];
  }
  if (c == 0x208A) return "+";
  if (c == 0x208B) return "-";
  return nullptr;
}

const char* greek(std::uint32_t c) {
  static const char* lower[] = {"alpha", "beta",  "gamma", "delta", "epsilon", "zeta",  "eta",   "theta",
                                "iota",  "kappa", "lambda", "u",    "nu",      "xi",    "omicron", "pi",
                                "rho",   "sigma", "sigma", "tau",   "upsilon", "phi",   "chi",   "psi", "omega"};
  static const char* upper[] = {"Alpha", "Beta",  "Gamma", "Delta", "Epsilon", "Zeta",  "Eta",   "Theta",
                                "Iota",  "Kappa", "Lambda", "Mu",   "Nu",      "Xi",    "Omicron", "Pi",
                                "Rho",   "?",     "Sigma", "Tau",   "Upsilon", "Phi",   "Chi",   "Psi", "Ohm"};
  if (c >= 0x03B1 && c <= 0x03C9) return lower[c - 0x03B1];  // α..ω (μ → u as in µm)
  if (c >= 0x0391 && c <= 0x03A9) return upper[c - 0x0391];  // Α..Ω (Ω → Ohm)
  return nullptr;
}

// Latin-1 letters with diacritics → base letter(s), indexed from U+00C0.
const char* latin1(std::uint32_t c) {
  static const char* table[] = {
      "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",   // C0-CF
      "D", "N", "O", "O", "O", "O", "O",  "x", "O", "U", "U", "U", "U", "Y", "Th", "ss",  // D0-DF
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // E0-EF
      "d", "n", "o", "o", "o", "o", "o",  "/", "o", "u", "u", "u", "u", "y", "th", "y"};  // F0-FF
  if (c >= 0xC0 && c <= 0xFF) return table[c - 0xC0];
  return nullptr;
}

const char* symbol(std::uint32_t c) {
  switch (c) {
    case 0x00A0: case 0x2002: case 0x2003: case 0x2009: case 0x200A: case 0x202F: return " ";
    case 0x00B5: return "u";      // µ micro sign
    case 0x00B0: return "deg";
    case 0x00B1: return "+/-";
    case 0x00B7: case 0x22C5: return ".";
    case 0x00D7: return "x";
    case 0x00F7: return "/";
    case 0x00AB: return "<<";
    case 0x00BB: return ">>";
    case 0x00A9: return "(c)";
    case 0x00AE: return "(R)";
    case 0x00BC: return "1/4";
    case 0x00BD: return "1/2";
    case 0x00BE: return "3/4";
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015: case 0x2212: return "-";
    case 0x2018: case 0x2019: case 0x201A: case 0x2032: return "'";
    case 0x201C: case 0x201D: case 0x201E: case 0x2033: return "\"";
    case 0x2022: return "*";
    case 0x2026: return "...";
    case 0x2030: return "permille";
    case 0x2190: return "<-";
    case 0x2192: return "->";
    case 0x2194: return "<->";
    case 0x21D2: return "=>";
    case 0x2202: return "d";
    case 0x2206: return "Delta";
    case 0x2207: return "nabla";
    case 0x2211: return "sum";
    case 0x221A: return "sqrt";
    case 0x221D: return "~";
    case 0x221E: return "inf";
    case 0x2248: return "~";
    case 0x2260: return "!=";
    case 0x2261: return "==";
    case 0x2264: return "<=";
    case 0x2265: return ">=";
    case 0x226A: return "<<";
    case 0x226B: return ">>";
    case 0x212B: return "A";      // Å angstrom sign
    case 0x2126: return "Ohm";    // Ω ohm sign
    case 0x2103: return "degC";
    default: return nullptr;
  }
}

}  // namespace

std::string to_ascii(const std::string& utf8) {
  std::string out;
  out.reserve(utf8.size());
  enum { none, sup, sub } run = none;  // ^ / _ once per run of super/subscripts: m⁻¹ → m^-1
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto b0 = static_cast<unsigned char>(utf8[i]);
    std::uint32_t c = 0;
    std::size_t len = 1;
    if (b0 < 0x80) {
      c = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      c = b0 & 0x1F, len = 2;
    } else if ((b0 & 0xF0) == 0xE0) {
      c = b0 & 0x0F, len = 3;
    } else if ((b0 & 0xF8) == 0xF0) {
      c = b0 & 0x07, len = 4;
    } else {
      c = 0xFFFD;  // stray continuation byte
    }
    bool valid = i + len <= utf8.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto bk = static_cast<unsigned char>(utf8[i + k]);
      if ((bk & 0xC0) != 0x80) valid = false;
      c = (c << 6) | (bk & 0x3F);
    }
    if (!valid) c = 0xFFFD, len = 1;
    i += len;

    if (const char* s = superscript(c)) {
      if (run != sup) out += '^';
      out += s;
      run = sup;
      continue;
    }
    if (const char* s = subscript(c)) {
      if (run != sub) out += '_';
      out += s;
      run = sub;
      continue;
    }
    run = none;
    if (c == '\t' || c == '\n' || c == '\r') {
      out += ' ';
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else if (const char* s = symbol(c)) {
      out += s;
    } else if (const char* s = latin1(c)) {
      out += s;
    } else if (const char* s = greek(c)) {
      out += s;
    } else {
      out += '?';
    }
  }
  return out;
}

}  // namespace sdm::viz
