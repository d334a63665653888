// Put Block bodies written in place into a per-blob assembly file, so that
// Put Block List of blocks uploaded in order is one rename (store.h).
//
// Invariants:
//   - every byte of an assembly file below Assembly::end belongs to one
//     reservation; a published block's bytes are never written again;
//   - a block entry naming an assembly file is published only while that
//     file is still in the blob's block directory (checked under LockBlob,
//     which every drop of the directory holds), else its bytes are copied;
//   - the file becomes the blob only when the list covers it exactly and no
//     reservation into it is in flight, so no later write can reach a blob.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <random>

#include "common/strings.h"
#include "ns/assembly.h"
#include "ns/store.h"

namespace strata::ns {

namespace {

// Names this process's assembly files apart from those of other processes
// sharing the file system (and of its own earlier lives).
const std::string& ProcessToken() {
  static const std::string token = [] {
    std::random_device rd;
    uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    char buf[48];
    std::snprintf(buf, sizeof(buf), "%d.%016llx", static_cast<int>(::getpid()),
                  static_cast<unsigned long long>(r));
    return std::string(buf);
  }();
  return token;
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// "NAME OFFSET" of a block entry, or nullopt when malformed.
std::optional<std::pair<std::string, uint64_t>> ParseRef(const std::string& v) {
  size_t sp = v.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  std::string name = v.substr(0, sp);
  auto off = ParseUint(std::string_view(v).substr(sp + 1));
  if (!off || !StartsWith(name, kAssemblyPrefix) || name.find('/') != std::string::npos)
    return std::nullopt;
  return std::make_pair(std::move(name), *off);
}

}  // namespace

BlockSlot::~BlockSlot() {
  if (store_ && !published_) store_->ReleaseSlot(*this);
}

std::unique_ptr<BlockSlot> Store::ReserveBlock(const std::string& c, const std::string& b,
                                               uint64_t size) {
  if (size == 0) return nullptr;
  if (auto* v = View(c); v && v->cfg.read_only) return nullptr;
  auto cst = fs_->Stat(ContainerDir(c));
  if (!cst.ok() || !cst->is_dir()) return nullptr;
  const std::string key = AssemblyKey(c, b);
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::shared_ptr<Assembly> a;
    {
      std::lock_guard<std::mutex> l(asm_mu_);
      if (auto it = assemblies_.find(key); it != assemblies_.end()) a = it->second;
    }
    if (!a) {
      // The first block of an upload: make the file. Under LockBlob, so no
      // drop of the directory races its making.
      static std::atomic<uint64_t> gen{0};
      auto lock = LockBlob(c, b);
      {
        std::lock_guard<std::mutex> l(asm_mu_);
        if (auto it = assemblies_.find(key); it != assemblies_.end()) continue;
      }
      if (!EnsureBlockDir(c, b).ok()) return nullptr;
      auto fresh = std::make_shared<Assembly>();
      fresh->path = BlockDir(c, b) + "/" + kAssemblyPrefix + ProcessToken() + "." +
                    std::to_string(gen++);
      if (!fs_->OpenWrite(fresh->path, true, true).ok()) return nullptr;
      std::lock_guard<std::mutex> l(asm_mu_);
      assemblies_[key] = fresh;
      a = fresh;
    }
    auto f = fs_->OpenWrite(a->path, false, false);
    std::lock_guard<std::mutex> l(asm_mu_);
    if (!f.ok() || a->dead) {
      // Dropped meanwhile, or removed behind our back: start a new one.
      if (auto it = assemblies_.find(key); it != assemblies_.end() && it->second == a) {
        a->dead = true;
        assemblies_.erase(it);
      }
      continue;
    }
    std::unique_ptr<BlockSlot> slot(new BlockSlot());
    slot->store_ = this;
    slot->c_ = c;
    slot->b_ = b;
    slot->asm_ = a;
    slot->file_ = std::move(*f);
    slot->offset_ = a->end;
    slot->size_ = size;
    a->end += size;
    ++a->in_flight;
    return slot;
  }
  return nullptr;
}

void Store::ReleaseSlot(BlockSlot& s) {
  Assembly& a = *s.asm_;
  bool punch = false, empty = false;
  {
    std::lock_guard<std::mutex> l(asm_mu_);
    --a.in_flight;
    if (!a.dead) {
      if (a.end == s.offset_ + s.size_) {
        // The last reservation: cut it off, so the file stays exact.
        if (s.file_->Truncate(s.offset_).ok()) a.end = s.offset_;
        else punch = true;
      } else {
        punch = true;
      }
      empty = a.end == 0 && a.in_flight == 0;
    }
  }
  if (punch) {
    // Give the bytes back; the range stays unused (the file keeps its size).
    (void)::fallocate(s.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      static_cast<off_t>(s.offset_), static_cast<off_t>(s.size_));
  }
  if (!empty) return;
  // Nothing was ever published into it: remove the file, and the block
  // directory when that leaves it without blocks (no residue of a failed
  // first Put Block).
  auto lock = LockBlob(s.c_, s.b_);
  {
    std::lock_guard<std::mutex> l(asm_mu_);
    if (a.dead || a.end != 0 || a.in_flight != 0) return;
    a.dead = true;
    auto it = assemblies_.find(AssemblyKey(s.c_, s.b_));
    if (it != assemblies_.end() && it->second.get() == &a) assemblies_.erase(it);
  }
  (void)fs_->Unlink(a.path);
  std::string dir = BlockDir(s.c_, s.b_);
  auto held = LockTally(dir);
  if (!held.ok() || held->t.count != 0) return;
  auto entries = fs_->ListDir(dir);
  if (!entries.ok()) return;
  for (const auto& e : *entries)
    if (e.name != ".name" && e.name != ".tally") return;  // a dfs append's stage, say
  (void)RemoveBlockDir(s.c_, dir, *held, /*give_back=*/false);
}

void Store::PunchReplaced(const std::string& dir, const std::string& ref, uint64_t size) {
  // No entry names that range any more (the new entry has the id), so no
  // read and no in-place commit reaches it: its disk space is given back.
  auto r = ParseRef(ref);
  if (!r || size == 0) return;
  auto f = fs_->OpenWrite(dir + "/" + r->first, false, false);
  if (!f.ok()) return;
  (void)::fallocate((*f)->fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(r->second), static_cast<off_t>(size));
}

Status Store::StoreBlockSlot(const std::string& c, const std::string& b, const std::string& id,
                             BlockSlot& s) {
  // Still the file the body went into? Every drop of the directory holds
  // LockBlob, as the caller does, so the answer holds until we return.
  auto fst = s.file_->Stat();
  auto pst = fs_->Stat(s.asm_->path);
  bool in_place = fst.ok() && pst.ok() && fst->nlink > 0 && fst->ino == pst->ino;
  std::string temp = NewTempPath(c);
  Status st;
  if (in_place) {
    // A sparse entry of the block's size (listings read sizes from stat)
    // naming the block's place.
    auto f = fs_->OpenWrite(temp, true, true);
    st = f.ok() ? (*f)->Truncate(s.size_) : f.status();
    if (st.ok())
      st = (*f)->SetXattr(kBlockRefXattr,
                          BaseName(s.asm_->path) + " " + std::to_string(s.offset_));
    if (!st.ok()) {
      if (f.ok()) f->reset();  // closed before the unlink
      (void)fs_->Unlink(temp);
      if (st.kind() != ErrorKind::kUnsupported) return st;
      in_place = false;  // no xattrs here: the block gets its own file
    }
  }
  if (!in_place) {
    auto f = fs_->OpenWrite(temp, true, true);
    st = f.ok() ? (*f)->CopyFrom(*s.file_, s.offset_, 0, s.size_) : f.status();
    if (!st.ok()) {
      (void)fs_->Unlink(temp);
      return st;
    }
  }
  st = StoreBlock(c, b, id, temp);
  if (!st.ok()) {
    (void)fs_->Unlink(temp);
    return st;
  }
  std::lock_guard<std::mutex> l(asm_mu_);
  --s.asm_->in_flight;
  s.published_ = true;
  return Status::Ok();
}

Result<std::pair<std::unique_ptr<File>, uint64_t>> Store::OpenBlock(const std::string& c,
                                                                    const std::string& b,
                                                                    const std::string& id) {
  auto f = fs_->OpenRead(BlockPath(c, b, id));
  if (!f.ok()) return f.status();
  auto v = (*f)->GetXattr(kBlockRefXattr);
  if (!v.ok()) {
    // No reference: the entry holds the bytes itself. Any other failure
    // must not pass a sparse entry off as the block.
    if (v.status().kind() == ErrorKind::kNotFound || v.status().kind() == ErrorKind::kUnsupported)
      return std::make_pair(std::move(*f), uint64_t{0});
    return v.status();
  }
  auto ref = ParseRef(*v);
  if (!ref) return Status(ErrorKind::kIo, "malformed block reference");
  auto a = fs_->OpenRead(BlockDir(c, b) + "/" + ref->first);
  if (!a.ok()) return a.status();
  return std::make_pair(std::move(*a), ref->second);
}

std::optional<Status> Store::CommitAssembled(const std::string& c, const std::string& b,
                                             const std::vector<BlockInfo>& list,
                                             const BlobRecord& rec, bool replace) {
  const std::string key = AssemblyKey(c, b);
  std::shared_ptr<Assembly> a;
  {
    std::lock_guard<std::mutex> l(asm_mu_);
    if (auto it = assemblies_.find(key); it != assemblies_.end()) a = it->second;
  }
  if (!a) return std::nullopt;
  const std::string name = BaseName(a->path);
  uint64_t pos = 0;
  for (const BlockInfo& blk : list) {
    auto v = fs_->GetXattr(BlockPath(c, b, blk.id), kBlockRefXattr);
    if (!v.ok()) return std::nullopt;
    auto ref = ParseRef(*v);
    if (!ref || ref->first != name || ref->second != pos) return std::nullopt;
    pos += blk.size;
  }
  {
    std::lock_guard<std::mutex> l(asm_mu_);
    // (No reservation in flight is implied: its range, below `end`, is in
    // no published entry, so the list could not cover [0, end). Kept as a
    // guard: a write into a published blob would be the worst failure.)
    if (a->dead || a->in_flight != 0 || a->end != pos) return std::nullopt;
    // From here no reservation reaches this file: it is the blob's.
    a->dead = true;
    assemblies_.erase(key);
  }
  auto st = fs_->Stat(a->path);
  // (Its blocks stay readable through their entries if this falls back.)
  if (!st.ok() || st->size != pos) return std::nullopt;
  return Commit(c, b, a->path, rec, /*drop_blocks=*/true, replace);
}

}  // namespace strata::ns
