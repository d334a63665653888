#include "ns/store.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <random>

#include "common/crypto.h"
#include "common/strings.h"

namespace strata::ns {

namespace {
constexpr char kRecordXattr[] = "user.strata.rec";
constexpr char kContainerXattr[] = "user.strata.container";
constexpr char kSidecarMarker[] = "@sidecar";
constexpr size_t kXattrLimit = 3000;  // larger records go to the sidecar
constexpr TimeNs kBlockTtl = 7LL * 24 * 3600 * 1000000000LL;

size_t Stripe(const std::string& a, const std::string& b) {
  return std::hash<std::string>()(a + '\0' + b) % 64;
}
}  // namespace

Store::Store(Fs* fs, std::string root, bool sync) : fs_(fs), root_(std::move(root)), sync_(sync) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Status Store::Open() {
  STRATA_RETURN_IF_ERROR(fs_->MkdirAll(root_ + "/.strata/blocks"));
  STRATA_RETURN_IF_ERROR(fs_->MkdirAll(root_ + "/.strata/sidecar"));
  STRATA_RETURN_IF_ERROR(fs_->RemoveAll(TmpDir()));
  STRATA_RETURN_IF_ERROR(fs_->MkdirAll(TmpDir()));
  // Expire uncommitted blocks older than 7 days.
  auto dirs = fs_->ListDir(root_ + "/.strata/blocks");
  if (dirs.ok()) {
    TimeNs now = NowNs();
    for (const auto& d : *dirs) {
      std::string dir = root_ + "/.strata/blocks/" + d.name;
      auto st = fs_->Stat(dir);
      if (st.ok() && now - st->mtime_ns > kBlockTtl) (void)fs_->RemoveAll(dir);
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- containers

Status Store::CreateContainer(const std::string& name, const ContainerRecord& rec) {
  std::string dir = ContainerDir(name);
  auto st = fs_->Stat(dir);
  if (st.ok()) return Status(ErrorKind::kAlreadyExists, "container exists: " + name);
  std::string tmp = NewTempPath();
  STRATA_RETURN_IF_ERROR(fs_->Mkdir(tmp));
  Status s = fs_->SetXattr(tmp, kContainerXattr, rec.Pack());
  if (s.ok()) s = fs_->RenameNoReplace(tmp, dir);
  if (!s.ok()) {
    (void)fs_->Rmdir(tmp);
    if (s.kind() == ErrorKind::kAlreadyExists || s.kind() == ErrorKind::kNotEmpty)
      return Status(ErrorKind::kAlreadyExists, "container exists: " + name);
  }
  return s;
}

Result<ContainerRecord> Store::GetContainer(const std::string& name) {
  std::string dir = ContainerDir(name);
  auto st = fs_->Stat(dir);
  if (!st.ok() || !st->is_dir())
    return Status(ErrorKind::kContainerNotFound, "no container " + name);
  auto packed = fs_->GetXattr(dir, kContainerXattr);
  if (packed.ok()) {
    auto rec = ContainerRecord::Unpack(*packed);
    if (rec.ok()) return rec;
  }
  // A directory made with plain tools: a container with derived properties.
  ContainerRecord rec;
  rec.etag = DerivedEtag(st->ino, 0, st->ctime_ns);
  rec.last_modified = st->mtime_ns;
  return rec;
}

Status Store::PutContainer(const std::string& name, const ContainerRecord& rec) {
  std::string dir = ContainerDir(name);
  auto st = fs_->Stat(dir);
  if (!st.ok() || !st->is_dir())
    return Status(ErrorKind::kContainerNotFound, "no container " + name);
  return fs_->SetXattr(dir, kContainerXattr, rec.Pack());
}

Status Store::DeleteContainer(const std::string& name) {
  std::string dir = ContainerDir(name);
  auto st = fs_->Stat(dir);
  if (!st.ok() || !st->is_dir())
    return Status(ErrorKind::kContainerNotFound, "no container " + name);
  // Move out of the namespace first so the delete looks atomic to readers.
  std::string tmp = NewTempPath();
  STRATA_RETURN_IF_ERROR(fs_->Rename(dir, tmp));
  return fs_->RemoveAll(tmp);
}

Result<std::vector<std::string>> Store::ContainerNames() {
  auto entries = fs_->ListDir(root_);
  if (!entries.ok()) return entries.status();
  std::vector<std::string> names;
  for (const auto& e : *entries) {
    if (!e.is_dir || e.name.empty() || e.name[0] == '.') continue;
    names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// ---------------------------------------------------------------- blobs

std::string Store::BlockDir(const std::string& c, const std::string& b) const {
  return root_ + "/.strata/blocks/" + HexEncode(Md5(c + "/" + b));
}

std::string Store::SidecarPath(const std::string& c, const std::string& b) const {
  return root_ + "/.strata/sidecar/" + HexEncode(Md5(c + "/" + b));
}

std::string Store::BlockPath(const std::string& c, const std::string& b,
                             const std::string& id) const {
  return BlockDir(c, b) + "/" + HexEncode(id);
}

std::string Store::NewTempPath() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[64];
  std::snprintf(buf, sizeof(buf), "/%016llx.%llu", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(counter++));
  return TmpDir() + buf;
}

Status Store::CheckParents(const std::string& c, const std::string& b) {
  size_t pos = 0;
  while ((pos = b.find('/', pos)) != std::string::npos) {
    auto st = fs_->Stat(ContainerDir(c) + "/" + b.substr(0, pos));
    if (!st.ok()) return st.status();
    if (!st->is_dir())
      return Status(ErrorKind::kPathConflict, "a path segment of the blob name is not a directory");
    ++pos;
  }
  return Status::Ok();
}

BlobInfo Store::InfoFromFile(const std::string& path, const std::string& c, const std::string& b,
                             const FileStat& st) {
  BlobInfo info;
  info.name = b;
  info.st = st;
  auto packed = fs_->GetXattr(path, kRecordXattr);
  std::optional<std::string> text;
  if (packed.ok() && *packed != kSidecarMarker) {
    text = std::move(*packed);
  } else if (packed.ok() || packed.status().kind() == ErrorKind::kUnsupported) {
    auto f = fs_->OpenRead(SidecarPath(c, b));
    if (f.ok()) {
      auto fst = (*f)->Stat();
      if (fst.ok()) {
        std::string buf(fst->size, '\0');
        auto n = (*f)->PRead(buf.data(), buf.size(), 0);
        if (n.ok() && *n == buf.size()) text = std::move(buf);
      }
    }
  }
  if (text) {
    auto rec = BlobRecord::Unpack(*text);
    if (rec.ok() && rec->fp_size == st.size && rec->fp_ino == st.ino &&
        rec->fp_mtime == st.mtime_ns) {
      info.rec = std::move(*rec);
      info.has_record = true;
      return info;
    }
    if (rec.ok()) {
      // Changed through POSIX: keep what still holds (user metadata, type),
      // derive what the change invalidated (ETag, MD5, blocks).
      info.rec = std::move(*rec);
      info.rec.content_md5.clear();
      info.rec.committed_blocks.clear();
    }
  }
  info.rec.etag = DerivedEtag(st.ino, st.size, st.mtime_ns);
  info.rec.last_modified = st.mtime_ns;
  if (info.rec.created == 0) info.rec.created = st.btime_ns;
  if (info.rec.content_type.empty() && !text) info.rec.content_type = "application/octet-stream";
  info.rec.fp_size = st.size;
  info.rec.fp_ino = st.ino;
  info.rec.fp_mtime = st.mtime_ns;
  return info;
}

Result<BlobInfo> Store::Head(const std::string& c, const std::string& b) {
  std::string path = BlobPath(c, b);
  auto st = fs_->Stat(path);
  if (!st.ok() || !st->is_file()) {
    auto cst = fs_->Stat(ContainerDir(c));
    if (!cst.ok() || !cst->is_dir())
      return Status(ErrorKind::kContainerNotFound, "no container " + c);
    return Status(ErrorKind::kNotFound, "no blob " + b);
  }
  Status ps = CheckParents(c, b);
  if (!ps.ok()) return Status(ErrorKind::kNotFound, "no blob " + b);
  return InfoFromFile(path, c, b, *st);
}

Result<Store::OpenBlob> Store::Open(const std::string& c, const std::string& b) {
  std::string path = BlobPath(c, b);
  Status ps = CheckParents(c, b);
  auto f = ps.ok() ? fs_->OpenRead(path) : Result<std::unique_ptr<File>>(ps);
  if (!f.ok()) {
    auto cst = fs_->Stat(ContainerDir(c));
    if (!cst.ok() || !cst->is_dir())
      return Status(ErrorKind::kContainerNotFound, "no container " + c);
    return Status(ErrorKind::kNotFound, "no blob " + b);
  }
  auto st = (*f)->Stat();
  if (!st.ok()) return st.status();
  if (!st->is_file()) return Status(ErrorKind::kNotFound, "no blob " + b);
  OpenBlob ob;
  ob.info = InfoFromFile(path, c, b, *st);
  ob.file = std::move(*f);
  return ob;
}

Status Store::WriteRecord(const std::string& path, const std::string& c, const std::string& b,
                          const BlobRecord& rec) {
  std::string packed = rec.Pack();
  Status s = Status(ErrorKind::kTooLarge, "record too large for xattr");
  if (packed.size() <= kXattrLimit) s = fs_->SetXattr(path, kRecordXattr, packed);
  if (s.ok()) {
    (void)fs_->Unlink(SidecarPath(c, b));
    return s;
  }
  if (s.kind() != ErrorKind::kTooLarge && s.kind() != ErrorKind::kUnsupported &&
      s.kind() != ErrorKind::kNoSpace)
    return s;
  // Sidecar: written to a temp file and renamed, then marked in the xattr
  // where xattrs work at all.
  std::string tmp = NewTempPath();
  {
    auto f = fs_->OpenWrite(tmp, true, true);
    if (!f.ok()) return f.status();
    Status w = (*f)->PWrite(packed.data(), packed.size(), 0);
    if (w.ok() && sync_) w = (*f)->Sync();
    if (!w.ok()) {
      (void)fs_->Unlink(tmp);
      return w;
    }
  }
  STRATA_RETURN_IF_ERROR(fs_->Rename(tmp, SidecarPath(c, b)));
  Status m = fs_->SetXattr(path, kRecordXattr, kSidecarMarker);
  if (!m.ok() && m.kind() != ErrorKind::kUnsupported) return m;
  return Status::Ok();
}

Status Store::Commit(const std::string& c, const std::string& b, const std::string& temp,
                     BlobRecord rec, bool drop_blocks) {
  auto cst = fs_->Stat(ContainerDir(c));
  if (!cst.ok() || !cst->is_dir()) return Status(ErrorKind::kContainerNotFound, "no container " + c);
  auto st = fs_->Stat(temp);
  if (!st.ok()) return st.status();
  rec.fp_size = st->size;
  rec.fp_ino = st->ino;
  rec.fp_mtime = st->mtime_ns;
  STRATA_RETURN_IF_ERROR(WriteRecord(temp, c, b, rec));
  if (sync_) {
    auto f = fs_->OpenRead(temp);
    if (!f.ok()) return f.status();
    STRATA_RETURN_IF_ERROR((*f)->Sync());
  }
  size_t slash = b.rfind('/');
  if (slash != std::string::npos) {
    STRATA_RETURN_IF_ERROR(CheckParentsForCreate(c, b));
  }
  std::string dest = BlobPath(c, b);
  auto dst = fs_->Stat(dest);
  if (dst.ok() && dst->is_dir())
    return Status(ErrorKind::kIsDirectory, "a directory exists at the blob's name");
  STRATA_RETURN_IF_ERROR(fs_->Rename(temp, dest));
  if (sync_) (void)fs_->SyncDir(dest.substr(0, dest.rfind('/')));
  if (drop_blocks) (void)DropBlocks(c, b);
  return Status::Ok();
}

Status Store::CheckParentsForCreate(const std::string& c, const std::string& b) {
  size_t pos = 0;
  std::string base = ContainerDir(c);
  while ((pos = b.find('/', pos)) != std::string::npos) {
    std::string dir = base + "/" + b.substr(0, pos);
    auto st = fs_->Stat(dir);
    if (st.ok()) {
      if (!st->is_dir())
        return Status(ErrorKind::kPathConflict,
                      "a blob exists where the name needs a directory: " + b.substr(0, pos));
    } else {
      Status m = fs_->Mkdir(dir);
      if (!m.ok()) return m;
    }
    ++pos;
  }
  return Status::Ok();
}

Status Store::UpdateRecord(const std::string& c, const std::string& b, BlobRecord rec) {
  std::string path = BlobPath(c, b);
  auto st = fs_->Stat(path);
  if (!st.ok() || !st->is_file()) return Status(ErrorKind::kNotFound, "no blob " + b);
  rec.fp_size = st->size;
  rec.fp_ino = st->ino;
  rec.fp_mtime = st->mtime_ns;
  return WriteRecord(path, c, b, rec);
}

Status Store::AppendFrom(const std::string& c, const std::string& b, File& src, uint64_t n,
                         BlobRecord rec) {
  std::string path = BlobPath(c, b);
  auto f = fs_->OpenWrite(path, false, false);
  if (!f.ok()) return f.status();
  auto st = (*f)->Stat();
  if (!st.ok()) return st.status();
  Status s = (*f)->CopyFrom(src, 0, st->size, n);
  if (s.ok() && sync_) s = (*f)->Sync();
  if (!s.ok()) {
    (void)(*f)->Truncate(st->size);  // no partial append left behind
    return s;
  }
  auto st2 = (*f)->Stat();
  if (!st2.ok()) return st2.status();
  rec.fp_size = st2->size;
  rec.fp_ino = st2->ino;
  rec.fp_mtime = st2->mtime_ns;
  return WriteRecord(path, c, b, rec);
}

Status Store::RemoveEmptyParents(const std::string& c, const std::string& b) {
  std::string rel = b;
  while (true) {
    size_t slash = rel.rfind('/');
    if (slash == std::string::npos) return Status::Ok();
    rel.resize(slash);
    Status s = fs_->Rmdir(BlobPath(c, rel));
    if (!s.ok()) return Status::Ok();  // not empty, or gone: stop
  }
}

Status Store::DeleteBlob(const std::string& c, const std::string& b) {
  std::string path = BlobPath(c, b);
  auto st = fs_->Stat(path);
  if (!st.ok() || !st->is_file()) {
    auto cst = fs_->Stat(ContainerDir(c));
    if (!cst.ok() || !cst->is_dir())
      return Status(ErrorKind::kContainerNotFound, "no container " + c);
    return Status(ErrorKind::kNotFound, "no blob " + b);
  }
  STRATA_RETURN_IF_ERROR(fs_->Unlink(path));
  (void)fs_->Unlink(SidecarPath(c, b));
  (void)DropBlocks(c, b);
  return RemoveEmptyParents(c, b);
}

// ---------------------------------------------------------------- blocks

Status Store::StoreBlock(const std::string& c, const std::string& b, const std::string& id,
                         const std::string& temp) {
  std::string dir = BlockDir(c, b);
  auto st = fs_->Stat(dir);
  if (!st.ok()) {
    // The directory's name file says whose blocks these are (for listings).
    std::string tmpdir = NewTempPath();
    STRATA_RETURN_IF_ERROR(fs_->Mkdir(tmpdir));
    auto f = fs_->OpenWrite(tmpdir + "/.name", true, true);
    if (!f.ok()) return f.status();
    std::string name = c + "/" + b;
    STRATA_RETURN_IF_ERROR((*f)->PWrite(name.data(), name.size(), 0));
    Status r = fs_->RenameNoReplace(tmpdir, dir);
    if (!r.ok()) (void)fs_->RemoveAll(tmpdir);
  }
  return fs_->Rename(temp, BlockPath(c, b, id));
}

Result<std::vector<BlockInfo>> Store::UncommittedBlocks(const std::string& c,
                                                        const std::string& b) {
  std::string dir = BlockDir(c, b);
  auto entries = fs_->ListDir(dir);
  std::vector<BlockInfo> out;
  if (!entries.ok()) {
    if (entries.status().kind() == ErrorKind::kNotFound) return out;
    return entries.status();
  }
  struct Item {
    int64_t mtime;
    BlockInfo info;
  };
  std::vector<Item> items;
  for (const auto& e : *entries) {
    if (e.name == ".name") continue;
    auto st = fs_->Stat(dir + "/" + e.name);
    if (!st.ok()) continue;
    std::string id;
    for (size_t i = 0; i + 1 < e.name.size(); i += 2)
      id += static_cast<char>(std::stoi(e.name.substr(i, 2), nullptr, 16));
    items.push_back({st->ctime_ns, {id, st->size}});
  }
  std::sort(items.begin(), items.end(), [](const Item& x, const Item& y) {
    return x.mtime != y.mtime ? x.mtime < y.mtime : x.info.id < y.info.id;
  });
  for (auto& it : items) out.push_back(std::move(it.info));
  return out;
}

std::vector<std::string> Store::UncommittedBlobNames(const std::string& c) {
  std::vector<std::string> out;
  auto dirs = fs_->ListDir(root_ + "/.strata/blocks");
  if (!dirs.ok()) return out;
  for (const auto& d : *dirs) {
    auto f = fs_->OpenRead(root_ + "/.strata/blocks/" + d.name + "/.name");
    if (!f.ok()) continue;
    char buf[2048];
    auto n = (*f)->PRead(buf, sizeof(buf), 0);
    if (!n.ok()) continue;
    std::string name(buf, *n);
    if (StartsWith(name, c + "/")) out.push_back(name.substr(c.size() + 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status Store::DropBlocks(const std::string& c, const std::string& b) {
  return fs_->RemoveAll(BlockDir(c, b));
}

// ---------------------------------------------------------------- locks

std::unique_lock<std::mutex> Store::LockBlob(const std::string& c, const std::string& b) {
  return std::unique_lock<std::mutex>(blob_locks_[Stripe(c, b)]);
}

std::unique_lock<std::mutex> Store::LockContainer(const std::string& c) {
  return std::unique_lock<std::mutex>(container_locks_[Stripe(c, "")]);
}

}  // namespace strata::ns
