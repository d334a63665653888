#include "ns/coordination.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "common/clock.h"

namespace strata::ns {

namespace {

constexpr uint64_t kKeyBits = 48;  // names-file offset: space << 56 | hash (48 bits)

uint64_t Fnv1a(uint8_t space, std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  mix(space);
  for (unsigned char c : key) mix(c);
  return h;
}

// What a mount must offer gateways that share it; "" when nothing found is
// wrong. Exposed for the unit test through CheckMountForSharing.
bool HasOption(const std::string& options, const std::string& opt) {
  size_t pos = 0;
  while (pos <= options.size()) {
    size_t end = options.find(',', pos);
    if (end == std::string::npos) end = options.size();
    std::string o = options.substr(pos, end - pos);
    if (o == opt) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

std::string CheckMountForSharing(const MountInfo& m) {
  const std::string& t = m.fstype;
  if (t == "nfs" || t == "nfs4") {
    if (HasOption(m.options, "nolock") || HasOption(m.options, "local_lock=all") ||
        HasOption(m.options, "local_lock=posix"))
      return "NFS mount " + m.mount_point +
             " keeps byte-range locks local to this node (nolock or local_lock): mount it "
             "with local_lock=none";
    if (HasOption(m.options, "nocto"))
      return "NFS mount " + m.mount_point +
             " is mounted nocto: gateways on other nodes would not see each other's "
             "commits at open; mount it without nocto";
    // A cached "no such file" would let a conditional create replace a blob
    // another node just made; cached attributes would serve its old ETag.
    if (!HasOption(m.options, "lookupcache=none") && !HasOption(m.options, "lookupcache=pos") &&
        !HasOption(m.options, "lookupcache=positive"))
      return "NFS mount " + m.mount_point +
             " caches failed lookups: a gateway could miss a blob another node just "
             "created; mount it with lookupcache=positive (or none)";
    bool no_attr_cache = HasOption(m.options, "noac") ||
                         (HasOption(m.options, "acregmax=0") && HasOption(m.options, "acdirmax=0"));
    if (!no_attr_cache)
      return "NFS mount " + m.mount_point +
             " caches attributes: a gateway could serve a blob's old ETag and properties "
             "after another node changed them; mount it with actimeo=0";
  }
  if (t == "lustre" && HasOption(m.options, "localflock"))
    return "Lustre mount " + m.mount_point +
           " keeps locks local to this node (localflock): mount it with flock";
  return "";
}

Coordination::Guard& Coordination::Guard::operator=(Guard&& o) noexcept {
  if (this != &o) {
    unlock();
    co_ = o.co_;
    mu_ = o.mu_;
    off_ = o.off_;
    file_ = o.file_;
    off2_ = o.off2_;
    file2_ = o.file2_;
    long_ = o.long_;
    o.mu_ = nullptr;
    o.file_ = o.file2_ = o.long_ = false;
  }
  return *this;
}

void Coordination::Guard::unlock() {
  if (!mu_) return;
  if (long_) {
    co_->LongUnlock(off_);  // the byte too
    mu_ = nullptr;
    file_ = long_ = false;
    return;
  }
  if (file2_) co_->FileUnlock(off2_);
  if (file_) co_->FileUnlock(off_);
  mu_->unlock();
  mu_ = nullptr;
  file_ = file2_ = false;
}

uint64_t Coordination::Offset(Space s, std::string_view key) {
  uint8_t sp = static_cast<uint8_t>(s);
  return (uint64_t(sp) << 56) | (Fnv1a(sp, key) & ((uint64_t(1) << kKeyBits) - 1));
}

std::unique_ptr<Coordination> Coordination::InProcess() {
  return std::unique_ptr<Coordination>(new Coordination());
}

Coordination::~Coordination() {
  // A clean stop: unregister (still holding the lock, so no survivor takes
  // this gateway for dead and reaps it meanwhile). What it left, if
  // anything, is recovered like a dead gateway's (Alive() is false).
  if (self_) (void)fs_->Unlink(root_ + "/.strata/gateways/" + id_);
}

Result<std::unique_ptr<Coordination>> Coordination::Open(Fs* fs, const std::string& root,
                                                          bool single) {
  std::unique_ptr<Coordination> co(new Coordination());
  co->fs_ = fs;
  co->root_ = root;
  co->single_ = single;
  char host[256] = {};
  (void)::gethostname(host, sizeof host - 1);
  for (char* p = host; *p; ++p)
    if (*p == '/' || *p == ' ') *p = '_';
  co->id_ = std::string(host) + "-" + std::to_string(::getpid()) + "-" + std::to_string(NowNs());
  std::string locks = root + "/.strata/locks";
  STRATA_RETURN_IF_ERROR(fs->MkdirAll(locks));
  STRATA_RETURN_IF_ERROR(fs->MkdirAll(root + "/.strata/gateways"));
  auto g = fs->OpenWrite(locks + "/gateways", true, false);
  if (!g.ok()) return g.status();
  co->gateways_ = std::move(*g);
  File& gw = *co->gateways_;
  if (single) {
    // Byte 1: the single gateway's mark; byte 0 free of readers means no
    // coordinated gateway runs.
    Status s = gw.LockRange(1, 1, true, false);
    if (s.ok()) s = gw.LockRange(0, 1, true, false);
    if (s.kind() == ErrorKind::kBusy)
      return Status(ErrorKind::kBusy,
                    "another gateway serves " + root + ": --single-gateway needs the root alone");
    STRATA_RETURN_IF_ERROR(s);
    co->first_ = true;
    return co;
  }
  // Is a single gateway running? (It holds byte 1.)
  if (gw.RangeLockedElsewhere(1, 1))
    return Status(ErrorKind::kBusy, "a --single-gateway process serves " + root +
                                        "; stop it, or run this gateway with --single-gateway "
                                        "on another root");
  auto m = MountOf(root);
  if (m.ok()) {
    std::string why = CheckMountForSharing(*m);
    if (!why.empty()) return Status(ErrorKind::kUnsupported, why);
  }
  auto n = fs->OpenWrite(locks + "/names", true, false);
  if (!n.ok()) return n.status();
  co->names_ = std::move(*n);
  // Locks must be enforced between open file descriptions: take one on a
  // probe byte here and look at it through a second description.
  {
    uint64_t probe = Offset(Space::kRole, "probe:" + co->id_);
    Status s = co->names_->LockRange(probe, 1, true, false);
    if (!s.ok())
      return Status(ErrorKind::kUnsupported,
                    "the file system of " + root + " refuses byte-range locks (" + s.message() +
                        "); gateways sharing it cannot coordinate. Run one gateway with "
                        "--single-gateway, or mount it with locks enabled");
    auto other = fs->OpenWrite(locks + "/names", false, false);
    bool seen = other.ok() && (*other)->RangeLockedElsewhere(probe, 1);
    (void)co->names_->UnlockRange(probe, 1);
    if (!seen)
      return Status(ErrorKind::kUnsupported,
                    "the file system of " + root + " does not enforce byte-range locks between "
                    "open files; gateways sharing it cannot coordinate. Run one gateway with "
                    "--single-gateway");
  }
  // First to start? Then hold the start lock exclusively while recovering.
  Status s = gw.LockRange(0, 1, true, false);
  if (s.ok()) {
    co->first_ = true;
  } else if (s.kind() == ErrorKind::kBusy) {
    co->first_ = false;
    // Wait for a recovering gateway to finish; then share with the others.
    STRATA_RETURN_IF_ERROR(gw.LockRange(0, 1, false, true));
    if (gw.RangeLockedElsewhere(1, 1))
      return Status(ErrorKind::kBusy, "a --single-gateway process serves " + root);
  } else {
    return s;
  }
  auto self = fs->OpenWrite(root + "/.strata/gateways/" + co->id_, true, true);
  if (!self.ok()) return self.status();
  co->self_ = std::move(*self);
  STRATA_RETURN_IF_ERROR(co->self_->LockRange(0, 0, true, false));
  return co;
}

void Coordination::Serving() {
  // Exclusive -> shared: gateways waiting in Open() go on.
  if (gateways_ && !single_) (void)gateways_->LockRange(0, 1, false, true);
}

bool Coordination::FileLock(uint64_t off, bool wait) {
  if (!names_) return true;
  for (;;) {
    Status s = names_->LockRange(off, 1, true, wait);
    if (s.ok()) return true;
    if (s.kind() == ErrorKind::kBusy) return false;
    // An I/O error on a lock (a file system that lost its lock server):
    // retry rather than run unlocked.
    std::fprintf(stderr, "strata: lock: %s; retrying\n", s.message().c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void Coordination::FileUnlock(uint64_t off) {
  if (names_) (void)names_->UnlockRange(off, 1);
}

Coordination::Guard Coordination::Lock(Space s, std::string_view key) {
  return Lock(s, key, Stripe(Offset(s, key)));
}

Coordination::Guard Coordination::TryLock(Space s, std::string_view key) {
  Guard g;
  g.co_ = this;
  g.off_ = Offset(s, key);
  std::mutex* mu = Stripe(g.off_);
  if (!mu->try_lock()) return g;
  if (!FileLock(g.off_, false)) {
    mu->unlock();
    return g;
  }
  g.mu_ = mu;
  g.file_ = names_ != nullptr;
  return g;
}

std::pair<Coordination::Guard, Coordination::Guard> Coordination::LockPair(Space s1,
                                                                             std::string_view k1,
                                                                             Space s2,
                                                                             std::string_view k2) {
  return LockPair(s1, k1, Stripe(Offset(s1, k1)), s2, k2, Stripe(Offset(s2, k2)));
}

Coordination::Guard Coordination::Lock(Space s, std::string_view key, std::mutex* mu) {
  Guard g;
  g.co_ = this;
  g.off_ = Offset(s, key);
  mu->lock();
  g.mu_ = mu;
  g.file_ = names_ != nullptr;
  FileLock(g.off_, true);
  return g;
}

std::pair<Coordination::Guard, Coordination::Guard> Coordination::LockPair(
    Space s1, std::string_view k1, std::mutex* mu1, Space s2, std::string_view k2,
    std::mutex* mu2) {
  uint64_t a = Offset(s1, k1), b = Offset(s2, k2);
  std::pair<Guard, Guard> out;
  Guard& ga = out.first;
  Guard& gb = out.second;
  ga.co_ = gb.co_ = this;
  ga.off_ = a;
  gb.off_ = b;
  if (mu1 == mu2) {
    mu1->lock();
  } else if (std::less<std::mutex*>()(mu1, mu2)) {
    mu1->lock();
    mu2->lock();
  } else {
    mu2->lock();
    mu1->lock();
  }
  ga.mu_ = mu1;
  ga.file_ = names_ != nullptr;
  FileLock(std::min(a, b), true);
  if (a != b) FileLock(std::max(a, b), true);
  if (mu1 == mu2) {
    // One mutex: the first guard holds it and both bytes; the second, none.
    if (a != b) {
      ga.off2_ = b;
      ga.file2_ = names_ != nullptr;
    }
  } else {
    gb.mu_ = mu2;
    // Two names on one byte (a hash collision): the first guard releases it.
    gb.file_ = names_ != nullptr && a != b;
  }
  return out;
}

bool Coordination::HeldElsewhere(Space s, std::string_view key) {
  return names_ && names_->RangeLockedElsewhere(Offset(s, key), 1);
}

Coordination::Guard Coordination::LockLong(Space s, std::string_view key) {
  return LongLock(s, key, true);
}

Coordination::Guard Coordination::TryLockLong(Space s, std::string_view key) {
  return LongLock(s, key, false);
}

Coordination::Guard Coordination::LongLock(Space s, std::string_view key, bool wait) {
  Guard g;
  g.co_ = this;
  g.off_ = Offset(s, key);
  {
    std::unique_lock<std::mutex> l(held_mu_);
    if (!wait && held_.count(g.off_)) return g;
    held_cv_.wait(l, [&] { return held_.count(g.off_) == 0; });
    held_.insert(g.off_);
  }
  // The threads of this process share one open file description, whose
  // byte locks do not exclude each other: held_ did that above.
  if (!FileLock(g.off_, wait)) {
    {
      std::lock_guard<std::mutex> l(held_mu_);
      held_.erase(g.off_);
    }
    held_cv_.notify_all();
    return g;
  }
  g.mu_ = &held_mu_;  // owns(); never locked through the guard
  g.long_ = true;
  g.file_ = names_ != nullptr;
  return g;
}

void Coordination::LongUnlock(uint64_t off) {
  FileUnlock(off);
  {
    std::lock_guard<std::mutex> l(held_mu_);
    held_.erase(off);
  }
  held_cv_.notify_all();
}

bool Coordination::Alive(const std::string& id) {
  if (id == id_) return true;
  if (single_ || !fs_ || id.empty() || id.find('/') != std::string::npos) return false;
  auto f = fs_->OpenWrite(root_ + "/.strata/gateways/" + id, false, false);
  if (!f.ok()) return f.status().kind() != ErrorKind::kNotFound;
  return (*f)->RangeLockedElsewhere(0, 0);
}

std::vector<std::string> Coordination::DeadGateways() {
  std::vector<std::string> dead;
  if (single_ || !fs_) return dead;
  auto list = fs_->ListDir(root_ + "/.strata/gateways");
  if (!list.ok()) return dead;
  for (const auto& e : *list) {
    if (e.name == id_ || !e.is_file) continue;
    auto f = fs_->OpenWrite(root_ + "/.strata/gateways/" + e.name, false, false);
    if (!f.ok()) continue;
    if (!(*f)->RangeLockedElsewhere(0, 0)) dead.push_back(e.name);
  }
  return dead;
}

bool Coordination::Reap(const std::string& id, const std::function<bool()>& fn) {
  if (single_ || !fs_ || id == id_ || id.find('/') != std::string::npos) return false;
  std::string path = root_ + "/.strata/gateways/" + id;
  auto f = fs_->OpenWrite(path, false, false);
  if (!f.ok()) return false;
  if (!(*f)->LockRange(0, 0, true, false).ok()) return false;
  if (fn()) (void)fs_->Unlink(path);
  return true;
}

}  // namespace strata::ns
