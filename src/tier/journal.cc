#include "tier/journal.h"

#include <atomic>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/strings.h"

namespace strata::tier {

using nlohmann::json;

namespace {
const char* OpName(JournalEntry::Op op) {
  switch (op) {
    case JournalEntry::Op::kOffload:
      return "offload";
    case JournalEntry::Op::kRecall:
      return "recall";
    case JournalEntry::Op::kRemoteDelete:
      return "remote-delete";
  }
  return "?";
}
}  // namespace

std::string JournalEntry::Key() const {
  if (op == Op::kRemoteDelete) return "d" + HexEncode(Md5(remote_name)) + ".json";
  return "b" + HexEncode(Md5(container + "/" + blob)) + ".json";
}

OffloadJournal::OffloadJournal(Fs* fs, std::string dir, bool sync)
    : fs_(fs), dir_(std::move(dir)), sync_(sync) {}

Status OffloadJournal::Open() {
  STRATA_RETURN_IF_ERROR(fs_->MkdirAll(dir_));
  auto entries = fs_->ListDir(dir_);
  if (!entries.ok()) return entries.status();
  for (const auto& e : *entries)
    if (e.name.size() > 4 && e.name.compare(e.name.size() - 4, 4, ".tmp") == 0)
      (void)fs_->Unlink(dir_ + "/" + e.name);
  return Status::Ok();
}

std::string OffloadJournal::Encode(const JournalEntry& e) {
  // Names are stored base64: blob names may hold any octets.
  json j{{"op", OpName(e.op)},
         {"step", e.step},
         {"c", Base64Encode(e.container)},
         {"b", Base64Encode(e.blob)},
         {"remote", Base64Encode(e.remote_name)},
         {"etag", e.etag},
         {"tier", e.target_tier},
         {"keep", e.keep_remote},
         {"size", e.fp_size},
         {"ino", e.fp_ino},
         {"mtime", e.fp_mtime}};
  return j.dump();
}

Result<JournalEntry> OffloadJournal::Decode(const std::string& text) {
  try {
    json j = json::parse(text);
    JournalEntry e;
    std::string op = j.at("op").get<std::string>();
    if (op == "offload")
      e.op = JournalEntry::Op::kOffload;
    else if (op == "recall")
      e.op = JournalEntry::Op::kRecall;
    else if (op == "remote-delete")
      e.op = JournalEntry::Op::kRemoteDelete;
    else
      return Status(ErrorKind::kInvalidArgument, "unknown journal op " + op);
    auto b64 = [&](const char* k) {
      auto v = Base64Decode(j.at(k).get<std::string>());
      if (!v) throw std::runtime_error("bad base64");
      return *v;
    };
    e.step = j.at("step").get<std::string>();
    e.container = b64("c");
    e.blob = b64("b");
    e.remote_name = b64("remote");
    e.etag = j.value("etag", "");
    e.target_tier = j.value("tier", "");
    e.keep_remote = j.value("keep", false);
    e.fp_size = j.value("size", uint64_t{0});
    e.fp_ino = j.value("ino", uint64_t{0});
    e.fp_mtime = j.value("mtime", int64_t{0});
    return e;
  } catch (const std::exception& ex) {
    return Status(ErrorKind::kInvalidArgument, std::string("bad journal entry: ") + ex.what());
  }
}

Status OffloadJournal::Put(const JournalEntry& e) {
  static std::atomic<uint64_t> seq{0};
  std::string path = dir_ + "/" + e.Key();
  std::string tmp = path + "." + std::to_string(seq++) + ".tmp";
  std::string text = Encode(e);
  {
    auto f = fs_->OpenWrite(tmp, true, true);
    if (!f.ok()) return f.status();
    Status s = (*f)->PWrite(text.data(), text.size(), 0);
    if (s.ok() && sync_) s = (*f)->Sync();
    if (!s.ok()) {
      (void)fs_->Unlink(tmp);
      return s;
    }
  }
  Status r = fs_->Rename(tmp, path);
  if (!r.ok()) {
    (void)fs_->Unlink(tmp);
    return r;
  }
  if (sync_) return fs_->SyncDir(dir_);
  return Status::Ok();
}

Status OffloadJournal::Remove(const JournalEntry& e) {
  Status s = fs_->Unlink(dir_ + "/" + e.Key());
  if (!s.ok() && s.kind() != ErrorKind::kNotFound) return s;
  if (sync_) return fs_->SyncDir(dir_);
  return Status::Ok();
}

std::vector<JournalEntry> OffloadJournal::List(std::vector<std::string>* bad) {
  std::vector<JournalEntry> out;
  auto entries = fs_->ListDir(dir_);
  if (!entries.ok()) return out;
  for (const auto& d : *entries) {
    if (!d.is_file || d.name.size() < 5 || d.name.compare(d.name.size() - 5, 5, ".json") != 0)
      continue;
    auto f = fs_->OpenRead(dir_ + "/" + d.name);
    if (!f.ok()) continue;
    auto st = (*f)->Stat();
    if (!st.ok() || st->size > (1 << 20)) continue;
    std::string text(st->size, '\0');
    auto n = (*f)->PRead(text.data(), text.size(), 0);
    if (!n.ok() || *n != text.size()) continue;
    auto e = Decode(text);
    if (e.ok())
      out.push_back(std::move(*e));
    else if (bad)
      bad->push_back(d.name);
  }
  return out;
}

size_t OffloadJournal::Size() {
  auto entries = fs_->ListDir(dir_);
  return entries.ok() ? entries->size() : 0;
}

}  // namespace strata::tier
