// OffloadJournal: the capacity tier's intents, one small JSON file per
// operation under ROOT/.strata/journal/GATEWAY-ID (each gateway its own; an
// older strata wrote them directly in ROOT/.strata/journal), replayed by
// the tier leader once that gateway is gone.
//
// An entry is written (temp file, fsync, rename) before the first step of an
// offload, a recall or a remote clean-up, rewritten when the operation moves
// to a step that recovery must treat differently, and removed when the
// operation is complete. Every step it guards is idempotent, so replaying an
// entry any number of times resumes or rolls back the operation
// (invariant 3). Thread-safe; entries for one blob are written by one
// operation at a time (a move holds the blob's cross-gateway move lock).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "fs/fs.h"

namespace strata::tier {

struct JournalEntry {
  enum class Op { kOffload, kRecall, kRemoteDelete };
  Op op = Op::kOffload;
  // Offload: "upload" (remote copy not yet recorded) | "release" (recorded
  // premigrated; local data may be partly released). Recall: "download" |
  // "commit" (the recalled file may have replaced the stub). Remote delete:
  // "delete".
  std::string step;
  std::string container, blob;
  std::string remote_name;
  std::string etag;          // the blob's ETag when the operation began
  std::string target_tier;   // offload: Cool | Cold | Archive; recall: Hot | ...
  bool keep_remote = false;  // recall: leave the remote copy (premigrated)
  // Fingerprint of the file when the release began (size, inode, mtime).
  uint64_t fp_size = 0, fp_ino = 0;
  int64_t fp_mtime = 0;

  // The file name of the entry: one per blob for offload/recall, one per
  // remote name for deletes.
  std::string Key() const;
};

class OffloadJournal {
 public:
  // `dir` holds the entries (ROOT/.strata/journal/GATEWAY-ID); `sync`
  // fsyncs entries and the directory.
  OffloadJournal(Fs* fs, std::string dir, bool sync);
  Status Open();  // creates the directory, removes half-written temp files
  Status Put(const JournalEntry& e);
  Status Remove(const JournalEntry& e);
  // Every entry (unreadable ones are skipped and reported in *bad).
  std::vector<JournalEntry> List(std::vector<std::string>* bad = nullptr);
  size_t Size();
  const std::string& dir() const { return dir_; }

  static std::string Encode(const JournalEntry& e);
  static Result<JournalEntry> Decode(const std::string& text);

 private:
  Fs* fs_;
  std::string dir_;
  bool sync_;
};

}  // namespace strata::tier
