// The holes of a file's append stage. Azure's Path Update append takes a
// position "so the caller can upload data in parallel" (Data Lake Storage
// REST reference, Path - Update): appends may arrive out of order, and a
// flush needs what was appended to be contiguous. Sequential appends leave
// no gaps; an append past the stage's end leaves one, which later appends
// fill. The list is kept beside the staged bytes (an xattr of the stage
// file, see path_update.cc) only while it is not empty.
//
// Thread-safety: pure functions; the caller holds the blob's lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::dfs {

// Half-open byte ranges [first, second), sorted, disjoint, none empty.
using AppendGaps = std::vector<std::pair<uint64_t, uint64_t>>;

// After [pos, pos + n) was written to a stage that ended at `end`: the gap
// [end, pos) when pos is past it, less whatever the write covered.
void RecordAppend(AppendGaps* gaps, uint64_t end, uint64_t pos, uint64_t n);

// "first-second,first-second" and back; nullopt for anything else (a
// stored list this code did not write).
std::string FormatAppendGaps(const AppendGaps& gaps);
std::optional<AppendGaps> ParseAppendGaps(std::string_view text);

}  // namespace strata::dfs
