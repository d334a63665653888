// The hierarchical (dfs) side of Store: explicit directories, owner/group/ACL,
// rename, recursive delete and depth-first path listing.
#include <algorithm>
#include <functional>

#include "common/crypto.h"
#include "common/strings.h"
#include "ns/names.h"
#include "ns/store.h"

namespace strata::ns {

namespace {
constexpr char kDirXattr[] = "user.strata.dir";  // a directory's record: marks it explicit
constexpr char kAclXattr[] = "user.strata.acl";  // "owner\ngroup\nacl"

// Depth-first order: a directory sorts right before its entries, so '/'
// ranks below every other byte.
bool PathLess(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]) + 1;
    unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]) + 1;
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

std::string Parent(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}
}  // namespace

bool Store::IsExplicitDir(const std::string& path) {
  return fs_->GetXattr(path, kDirXattr).ok();
}

PathAcl Store::ReadAcl(const std::string& path) {
  PathAcl acl;
  auto text = fs_->GetXattr(path, kAclXattr);
  if (!text.ok()) return acl;
  auto parts = Split(*text, '\n');
  if (parts.size() > 0) acl.owner = parts[0];
  if (parts.size() > 1) acl.group = parts[1];
  if (parts.size() > 2) acl.acl = parts[2];
  return acl;
}

PathInfo Store::DirInfo(const std::string& c, const std::string& p, const FileStat& st) {
  PathInfo info;
  info.name = p;
  info.is_dir = true;
  info.st = st;
  std::string path = BlobPath(c, p);
  if (auto packed = ReadPacked(path, kDirXattr, c, p, st.ino)) {
    auto rec = BlobRecord::Unpack(*packed);
    if (rec.ok()) {
      info.rec = std::move(*rec);
      info.explicit_dir = true;
    }
  }
  if (!info.explicit_dir) {
    info.rec.etag = DerivedEtag(st.ino, 0, st.mtime_ns, st.ctime_ns);
    info.rec.last_modified = st.mtime_ns;
    info.rec.created = st.btime_ns;
  }
  info.rec.content_type.clear();
  info.acl = ReadAcl(path);
  return info;
}

Result<PathInfo> Store::HeadPath(const std::string& c, const std::string& p) {
  if (IsReservedName(c, p)) return Status(ErrorKind::kNotFound, "no path " + p);
  std::string path = BlobPath(c, p);
  auto st = fs_->Stat(path);
  if (st.ok() && st->is_file()) {
    auto info = Head(c, p);
    if (!info.ok()) return info.status();
    PathInfo out;
    out.name = p;
    out.rec = std::move(info->rec);
    out.st = info->st;
    out.acl = ReadAcl(path);
    return out;
  }
  if (st.ok() && st->is_dir() && CheckParents(c, p).ok()) return DirInfo(c, p, *st);
  auto cst = fs_->Stat(ContainerDir(c));
  if (!cst.ok() || !cst->is_dir()) return Status(ErrorKind::kContainerNotFound, "no container " + c);
  return Status(ErrorKind::kNotFound, "no path " + p);
}

Status Store::PutDirRecord(const std::string& c, const std::string& p, const BlobRecord& rec) {
  std::string path = BlobPath(c, p);
  auto st = fs_->Stat(path);
  if (!st.ok() || !st->is_dir()) return Status(ErrorKind::kNotFound, "no directory " + p);
  return WritePacked(path, kDirXattr, c, p, st->ino, rec.Pack());
}

Status Store::MakeDirectory(const std::string& c, const std::string& p, const BlobRecord& rec,
                            uint32_t mode) {
  auto cst = fs_->Stat(ContainerDir(c));
  if (!cst.ok() || !cst->is_dir()) return Status(ErrorKind::kContainerNotFound, "no container " + c);
  size_t pos = 0;
  while (true) {
    size_t slash = p.find('/', pos);
    std::string q = slash == std::string::npos ? p : p.substr(0, slash);
    bool last = slash == std::string::npos;
    std::string path = BlobPath(c, q);
    BlobRecord r = rec;
    if (!last) {
      r.metadata.clear();
      r.etag = NewEtag();
    }
    auto st = fs_->Stat(path);
    if (st.ok() && !st->is_dir())
      return Status(ErrorKind::kPathConflict, "a file exists where a directory is needed: " + q);
    if (!st.ok()) {
      // Made aside and renamed in, so it never appears without its record.
      std::string tmp = NewTempPath(c);
      STRATA_RETURN_IF_ERROR(fs_->Mkdir(tmp));
      auto tst = fs_->Stat(tmp);
      Status s = tst.status();
      if (s.ok()) s = fs_->Chmod(tmp, mode);
      if (s.ok()) s = WritePacked(tmp, kDirXattr, c, q, tst->ino, r.Pack());
      if (s.ok()) s = fs_->RenameNoReplace(tmp, path);
      if (!s.ok()) {
        (void)fs_->Rmdir(tmp);
        if (tst.ok()) (void)fs_->Unlink(SidecarPath(c, q, tst->ino));
        if (s.kind() != ErrorKind::kAlreadyExists && s.kind() != ErrorKind::kNotEmpty) return s;
        auto again = fs_->Stat(path);  // a concurrent create won
        if (!again.ok() || !again->is_dir())
          return Status(ErrorKind::kPathConflict, "a file exists where a directory is needed: " + q);
        if (last) STRATA_RETURN_IF_ERROR(PutDirRecord(c, q, r));
      }
    } else if (last) {
      STRATA_RETURN_IF_ERROR(PutDirRecord(c, q, r));
    }
    if (last) return Status::Ok();
    pos = slash + 1;
  }
}

Status Store::SetPathAcl(const std::string& c, const std::string& p, const PathAcl& acl,
                         std::optional<uint32_t> mode, const BlobRecord& rec) {
  std::string path = BlobPath(c, p);
  auto st = fs_->Stat(path);
  if (!st.ok() || (!st->is_dir() && !st->is_file())) return Status(ErrorKind::kNotFound, "no path " + p);
  STRATA_RETURN_IF_ERROR(fs_->SetXattr(path, kAclXattr, acl.owner + "\n" + acl.group + "\n" + acl.acl));
  if (mode) STRATA_RETURN_IF_ERROR(fs_->Chmod(path, *mode));
  // Last, so that a file's record is sealed after the changes above.
  return st->is_dir() ? PutDirRecord(c, p, rec) : UpdateRecord(c, p, rec);
}

Status Store::RenamePath(const std::string& from_c, const std::string& from,
                         const std::string& to_c, const std::string& to) {
  std::string src = BlobPath(from_c, from), dst = BlobPath(to_c, to);
  auto sst = fs_->Stat(src);
  if (!sst.ok() || (!sst->is_dir() && !sst->is_file()) || !CheckParents(from_c, from).ok())
    return Status(ErrorKind::kNotFound, "no path " + from);
  if (src == dst) return Status::Ok();
  if (sst->is_dir() && StartsWith(dst, src + "/"))
    return Status(ErrorKind::kInvalidArgument, "a directory cannot move into itself");
  auto dst_st = fs_->Stat(dst);
  if (dst_st.ok() && dst_st->is_dir() != sst->is_dir())
    return Status(ErrorKind::kPathConflict, "the destination is of the other kind");
  std::optional<BlobInfo> before;
  if (sst->is_file()) {
    auto h = Head(from_c, from);
    if (h.ok() && h->has_record) before = std::move(*h);
  }
  // With limits: a file the rename replaces leaves to_c's usage; between
  // containers the tree's usage moves with it too (counted by one walk of
  // the tree, only then) and must fit to_c. Under both quota locks, taken
  // through Coordination::LockPair; to_c's increase is written before the
  // rename and from_c's decrease after it (ChangeUsage's order).
  const bool cross = from_c != to_c;
  ContainerState* qf = cross ? Limited(from_c) : nullptr;
  ContainerState* qt = Limited(to_c);
  Usage moved, replaced;
  std::optional<QuotaHold> hf, ht;
  if (qf || qt) {
    if (cross) moved = sst->is_file() ? Usage{sst->size, 1} : Walk(src, false);
    if (dst_st.ok() && dst_st->is_file()) replaced = Usage{dst_st->size, 1};
    if (qf && qt) {
      auto both = HoldQuotas(qf, qt);
      if (!both.ok()) return both.status();
      hf = std::move(both->first);
      ht = std::move(both->second);
    } else {
      auto h = HoldQuota(qf ? qf : qt);
      if (!h.ok()) return h.status();
      (qf ? hf : ht) = std::move(*h);
    }
  }
  const int64_t to_bytes = static_cast<int64_t>(moved.bytes) - static_cast<int64_t>(replaced.bytes);
  const int64_t to_files = static_cast<int64_t>(moved.files) - static_cast<int64_t>(replaced.files);
  if (ht && cross) STRATA_RETURN_IF_ERROR(Fits(*qt, ht->used, to_bytes, to_files));
  auto rename = [&] { return fs_->Rename(src, dst); };
  auto leave = [&] {
    return hf ? ChangeUsage(*hf, -static_cast<int64_t>(moved.bytes),
                            -static_cast<int64_t>(moved.files), rename)
              : rename();
  };
  STRATA_RETURN_IF_ERROR(ht ? ChangeUsage(*ht, to_bytes, to_files, leave) : leave());
  ht.reset();
  hf.reset();
  if (sst->is_file()) {
    // rename(2) moved the file's ctime: seal its record again under the new name.
    if (before) (void)UpdateRecord(to_c, to, before->rec);
    (void)fs_->Unlink(SidecarPath(from_c, from, sst->ino));
    if (dst_st.ok() && dst_st->ino != sst->ino) (void)fs_->Unlink(SidecarPath(to_c, to, dst_st->ino));
    (void)DropBlocks(from_c, from);
  }
  if (sync_) (void)fs_->SyncDir(Parent(dst).empty() ? ContainerDir(to_c) : dst.substr(0, dst.rfind('/')));
  return RemoveEmptyParents(from_c, from);
}

Status Store::DeletePath(const std::string& c, const std::string& p, bool recursive) {
  std::string path = BlobPath(c, p);
  auto st = fs_->Stat(path);
  if (st.ok() && st->is_file()) return DeleteBlob(c, p);
  if (!st.ok() || !st->is_dir() || !CheckParents(c, p).ok()) {
    auto cst = fs_->Stat(ContainerDir(c));
    if (!cst.ok() || !cst->is_dir()) return Status(ErrorKind::kContainerNotFound, "no container " + c);
    return Status(ErrorKind::kNotFound, "no path " + p);
  }
  if (!recursive) {
    Status s = fs_->Rmdir(path);
    if (!s.ok()) return s;  // kNotEmpty when it has entries
    (void)fs_->Unlink(SidecarPath(c, p, st->ino));
    return RemoveEmptyParents(c, p);
  }
  // Out of the namespace in one step, then removed at leisure.
  std::string tmp = NewTempPath(c);
  STRATA_RETURN_IF_ERROR(fs_->Rename(path, tmp));
  if (ContainerState* q = Limited(c)) {
    // Out of the namespace, the tree can change no more: count what left.
    // (Given back after the rename: over, never under, if cut short.)
    Usage gone = Walk(tmp, false);
    auto h = HoldQuota(q);
    if (h.ok())
      (void)ChangeUsage(*h, -static_cast<int64_t>(gone.bytes), -static_cast<int64_t>(gone.files),
                        nullptr);
  }
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    auto entries = fs_->ListDir(tmp + rel);
    if (!entries.ok()) return;
    for (const auto& e : *entries) {
      std::string sub = rel + "/" + e.name;
      if (e.is_dir) walk(sub);
      auto est = fs_->Stat(tmp + sub);
      if (est.ok()) (void)fs_->Unlink(SidecarPath(c, p + sub, est->ino));
      if (e.is_file) (void)DropBlocks(c, p + sub);
    }
  };
  walk("");
  (void)fs_->Unlink(SidecarPath(c, p, st->ino));
  Status s = fs_->RemoveAll(tmp);
  (void)RemoveEmptyParents(c, p);
  return s;
}

Result<PathPage> Store::ListPaths(const std::string& c, const std::string& dir, bool recursive,
                                  const std::string& marker, size_t max) {
  // `dir` names a path like a blob name does (the front door checks it too).
  if (!dir.empty() && !ValidateBlobName(dir).ok())
    return Status(ErrorKind::kInvalidName, "not a valid directory name");
  std::string base = dir.empty() ? ContainerDir(c) : BlobPath(c, dir);
  auto bst = fs_->Stat(base);
  if (!bst.ok() || !bst->is_dir() || (!dir.empty() && !CheckParents(c, dir).ok()) ||
      IsReservedName(c, dir)) {
    auto cst = fs_->Stat(ContainerDir(c));
    if (!cst.ok() || !cst->is_dir()) return Status(ErrorKind::kContainerNotFound, "no container " + c);
    return Status(ErrorKind::kNotFound, "no directory " + dir);
  }
  if (max == 0) max = 1;
  // A directory renamed away while the walk is inside the tree makes the
  // walk start over, so one page never mixes the tree's old and new names.
  for (int attempt = 0; attempt < 16; ++attempt) {
    PathPage page;
    bool moved = false;
    std::function<bool(const std::string&)> visit = [&](const std::string& rel) -> bool {
      auto entries = fs_->ListDir(rel.empty() ? base : base + "/" + rel);
      if (!entries.ok()) {
        if (entries.status().kind() == ErrorKind::kNotFound) moved = true;
        return false;
      }
      std::sort(entries->begin(), entries->end(),
                [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
      for (const auto& e : *entries) {
        if (!e.is_dir && !e.is_file) continue;  // symlinks, FIFOs: not paths
        if (dir.empty() && rel.empty() && IsReservedName(c, e.name)) continue;
        std::string rel_name = rel.empty() ? e.name : rel + "/" + e.name;
        std::string name = dir.empty() ? rel_name : dir + "/" + rel_name;
        bool before = !marker.empty() && !PathLess(marker, name);  // name <= marker
        if (!before) {
          auto st = fs_->Stat(base + "/" + rel_name);
          if (!st.ok()) {  // moved or removed meanwhile: start over
            moved = true;
            return false;
          }
          if (st->is_dir()) {
            page.items.push_back(DirInfo(c, name, *st));
          } else if (st->is_file()) {
            PathInfo pi;
            pi.name = name;
            BlobInfo bi = InfoFromFile(BlobPath(c, name), c, name, *st);
            pi.rec = std::move(bi.rec);
            pi.st = *st;
            pi.acl = ReadAcl(BlobPath(c, name));
            page.items.push_back(std::move(pi));
          } else {
            continue;
          }
          if (page.items.size() > max) return false;
        }
        // A directory's entries all sort after it: walk it when the marker
        // is the directory itself too (a page that ended on it).
        if (e.is_dir && recursive && (!before || marker == name || StartsWith(marker, name + "/"))) {
          if (!visit(rel_name)) return false;
        }
      }
      return true;
    };
    visit("");
    if (moved) continue;
    if (page.items.size() > max) {
      page.items.resize(max);
      page.next_marker = page.items.back().name;
    }
    return page;
  }
  return Status(ErrorKind::kBusy, "the tree kept moving during the listing");
}

Result<std::string> Store::AppendStagePath(const std::string& c, const std::string& b) {
  std::string dir = BlockDir(c, b);
  STRATA_RETURN_IF_ERROR(fs_->MkdirAll(dir));
  // Uncommitted blocks expire by their directory's mtime: an append keeps it fresh.
  (void)fs_->SetMtime(dir, NowNs());
  return dir + "/.dfs-append";
}

}  // namespace strata::ns
