#include "dfs/append_gaps.h"

#include "common/strings.h"

namespace strata::dfs {

void RecordAppend(AppendGaps* gaps, uint64_t end, uint64_t pos, uint64_t n) {
  if (pos > end) gaps->emplace_back(end, pos);  // past every gap: stays sorted
  if (n == 0) return;
  uint64_t lo = pos, hi = pos + n;
  AppendGaps out;
  out.reserve(gaps->size() + 1);
  for (const auto& [a, b] : *gaps) {
    if (b <= lo || a >= hi) {
      out.emplace_back(a, b);
      continue;
    }
    if (a < lo) out.emplace_back(a, lo);
    if (b > hi) out.emplace_back(hi, b);
  }
  *gaps = std::move(out);
}

std::string FormatAppendGaps(const AppendGaps& gaps) {
  std::string out;
  for (const auto& [a, b] : gaps) {
    if (!out.empty()) out += ',';
    out += std::to_string(a) + '-' + std::to_string(b);
  }
  return out;
}

std::optional<AppendGaps> ParseAppendGaps(std::string_view text) {
  AppendGaps out;
  uint64_t last = 0;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty()) return std::nullopt;
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto a = ParseUint(item.substr(0, dash));
    auto b = ParseUint(item.substr(dash + 1));
    if (!a || !b || *a >= *b || (!out.empty() && *a < last)) return std::nullopt;
    out.emplace_back(*a, *b);
    last = *b;
  }
  return out;
}

}  // namespace strata::dfs
