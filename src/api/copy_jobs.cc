#include "api/copy_jobs.h"

#include <fcntl.h>

#include <chrono>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/strings.h"

namespace strata::api {

namespace {

std::string MarkerDir(const ns::Store& store) { return store.root() + "/.strata/copies"; }

// Takes an OFD write lock on the whole file without waiting. The lock
// belongs to the open file description: it ends when `f` is closed or the
// process dies, on whatever gateway of the root that is.
bool TryLock(File& f) {
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return ::fcntl(f.fd(), F_OFD_SETLK, &fl) == 0;
}

// The marker's text: container, blob and staged file, NUL-separated.
std::string MarkerText(const std::string& c, const std::string& b, const std::string& tmp) {
  std::string s = c;
  s.push_back('\0');
  s += b;
  s.push_back('\0');
  s += tmp;
  return s;
}

// x-ms-copy-status-description of a copy whose fetch failed, as Azure
// writes one: the status and code the source answered (else those a
// synchronous copy would answer for the failure) and a message in quotes.
std::string FetchFailure(const tier::FetchResult& f) {
  using Kind = tier::FetchResult::Kind;
  if (f.kind == Kind::kHttpError) {
    return std::to_string(f.status) + " " +
           (f.error_code.empty() ? "CannotVerifyCopySource" : f.error_code) + " \"" + f.detail +
           "\"";
  }
  return "409 CannotVerifyCopySource \"" + f.detail + "\"";
}

}  // namespace

struct CopyJobs::Job {
  std::unique_ptr<CopyTicket> t;
  std::unique_ptr<File> source;
  uint64_t size = 0;
  ns::BlobRecord final_rec;
  std::optional<RemoteSource> remote;
};

CopyJobs::CopyJobs(CopyJobOptions opt) : opt_(opt) {
  if (opt_.threads < 1) opt_.threads = 1;
  if (opt_.step == 0) opt_.step = 64ull << 20;
}

CopyJobs::~CopyJobs() {
  std::vector<RemoteThread> remote;
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    remote.swap(remote_);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  for (auto& r : remote) r.thread.join();
  if (sweeper_.joinable()) sweeper_.join();
}

void CopyJobs::Start(std::vector<ns::Store*> stores) {
  stores_ = std::move(stores);
  for (ns::Store* s : stores_) {
    (void)s->fs()->MkdirAll(MarkerDir(*s));
    Sweep(s);
  }
  for (int i = 0; i < opt_.threads; ++i) threads_.emplace_back([this] { Work(); });
  sweeper_ = std::thread([this] {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      cv_.wait_for(l, std::chrono::seconds(std::max(1, opt_.sweep_interval_s)));
      if (stop_) break;
      std::vector<ns::Store*> stores = stores_;  // AddStore may grow it meanwhile
      l.unlock();
      for (ns::Store* s : stores) Sweep(s);
      l.lock();
    }
  });
}

void CopyJobs::AddStore(ns::Store* store) {
  (void)store->fs()->MkdirAll(MarkerDir(*store));
  Sweep(store);
  std::lock_guard<std::mutex> l(mu_);
  stores_.push_back(store);
}

std::unique_ptr<CopyTicket> CopyJobs::Begin(ns::Store* store, const std::string& c,
                                            const std::string& b, const std::string& id,
                                            Status* err) {
  auto t = std::make_unique<CopyTicket>();
  t->store = store;
  t->c = c;
  t->b = b;
  t->id = id;
  t->tmp = store->NewTempPath(c);
  Fs* fs = store->fs();
  std::string dir = MarkerDir(*store);
  *err = fs->MkdirAll(dir);
  if (!err->ok()) return nullptr;
  // Written and locked under a name Sweep skips until the lock is held, then
  // renamed into place: a sweeper never sees an unlocked live marker.
  std::string staging = dir + "/new." + id;
  auto f = fs->OpenWrite(staging, true, true);
  if (!f.ok()) {
    *err = f.status();
    return nullptr;
  }
  std::string text = MarkerText(c, b, t->tmp);
  if (!TryLock(**f)) {
    *err = ErrnoStatus(errno, "lock copy marker");
  } else {
    *err = (*f)->PWrite(text.data(), text.size(), 0);
  }
  t->marker_path = dir + "/" + id;
  if (err->ok()) *err = fs->RenameNoReplace(staging, t->marker_path);
  if (!err->ok()) {
    (void)fs->Unlink(staging);
    return nullptr;
  }
  t->marker = std::move(*f);
  return t;
}

void CopyJobs::Cancel(std::unique_ptr<CopyTicket> t) {
  if (!t) return;
  (void)t->store->fs()->Unlink(t->tmp);
  (void)t->store->fs()->Unlink(t->marker_path);
  t->marker.reset();  // unlinked first, so no sweeper finds it unlocked
}

void CopyJobs::Submit(std::unique_ptr<CopyTicket> ticket, std::unique_ptr<File> source,
                      uint64_t size, ns::BlobRecord final_rec) {
  auto job = std::make_unique<Job>();
  job->t = std::move(ticket);
  job->source = std::move(source);
  job->size = size;
  job->final_rec = std::move(final_rec);
  {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void CopyJobs::SubmitRemote(std::unique_ptr<CopyTicket> ticket, RemoteSource source,
                            ns::BlobRecord final_rec) {
  auto job = std::make_shared<Job>();
  job->t = std::move(ticket);
  job->size = source.size.value_or(0);
  job->final_rec = std::move(final_rec);
  job->remote.emplace(std::move(source));
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::vector<RemoteThread> finished;
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = remote_.begin(); it != remote_.end();) {
    if (it->done->load()) {
      finished.push_back(std::move(*it));
      it = remote_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& f : finished) f.thread.join();  // each has returned already
  remote_.push_back({std::thread([this, job, done] {
                       RunRemote(*job);
                       std::string id = job->t->id;
                       Cancel(std::move(job->t));
                       job->remote.reset();  // its fetch slot
                       {
                         std::lock_guard<std::mutex> l(mu_);
                         aborted_.erase(id);
                       }
                       done->store(true);
                     }),
                     done});
}

void CopyJobs::Aborted(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  aborted_.insert(id);
}

bool CopyJobs::Stopping() {
  std::lock_guard<std::mutex> l(mu_);
  return stop_;
}

bool CopyJobs::IsAborted(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  return aborted_.count(id) > 0;
}

void CopyJobs::Work() {
  while (true) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Run(*job);
    std::string id = job->t->id;
    Cancel(std::move(job->t));  // the staged file (if still there) and the marker
    std::lock_guard<std::mutex> l(mu_);
    aborted_.erase(id);
  }
}

// Whether the destination still waits for this copy; fills *info.
// REQUIRES: LockBlob of the destination held.
bool CopyJobs::StillOurs(Job& job, ns::BlobInfo* info) {
  auto head = job.t->store->Head(job.t->c, job.t->b);
  if (!head.ok()) return false;
  *info = std::move(*head);
  return info->rec.copy_id == job.t->id && info->rec.copy_status == "pending";
}

void CopyJobs::MarkFailed(ns::Store* store, const std::string& c, const std::string& b,
                          const std::string& id, const std::string& why) {
  auto lock = store->LockBlob(c, b);
  auto head = store->Head(c, b);
  if (!head.ok() || head->rec.copy_id != id || head->rec.copy_status != "pending") return;
  ns::BlobRecord rec = head->rec;
  rec.copy_status = "failed";
  rec.copy_status_description = why;
  rec.copy_completion = NowNs();
  (void)store->UpdateRecord(c, b, rec);
}

void CopyJobs::Run(Job& job) {
  CopyTicket& t = *job.t;
  ns::Store& store = *t.store;
  auto out = store.fs()->OpenWrite(t.tmp, true, true);
  if (!out.ok()) {
    MarkFailed(&store, t.c, t.b, t.id, "500 InternalError \"" + out.status().message() + "\"");
    return;
  }
  uint64_t done = 0;
  while (done < job.size) {
    if (IsAborted(t.id)) return;
    if (Stopping()) {
      MarkFailed(&store, t.c, t.b, t.id, "500 InternalError \"The server stopped. Copy the blob again.\"");
      return;
    }
    uint64_t n = std::min<uint64_t>(opt_.step, job.size - done);
    Status s = (*out)->CopyFrom(*job.source, done, done, n);
    if (!s.ok()) {
      MarkFailed(&store, t.c, t.b, t.id, "500 InternalError \"" + s.message() + "\"");
      return;
    }
    done += n;
    if (opt_.step_delay_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(opt_.step_delay_ms));
    if (done == job.size) break;
    // Progress, and a check that the destination still waits for us.
    auto lock = store.LockBlob(t.c, t.b);
    ns::BlobInfo info;
    if (!StillOurs(job, &info)) return;
    info.rec.copy_progress = done;
    (void)store.UpdateRecord(t.c, t.b, info.rec);
  }
  Status s = (*out)->Sync();
  out->reset();
  if (!s.ok()) {
    MarkFailed(&store, t.c, t.b, t.id, "500 InternalError \"" + s.message() + "\"");
    return;
  }
  Finish(job, std::move(job.final_rec));
}

void CopyJobs::Finish(Job& job, ns::BlobRecord rec) {
  CopyTicket& t = *job.t;
  ns::Store& store = *t.store;
  auto lock = store.LockBlob(t.c, t.b);
  ns::BlobInfo info;
  if (IsAborted(t.id) || !StillOurs(job, &info)) return;
  TimeNs now = NowNs();
  rec.lease = info.rec.lease;
  rec.created = info.rec.created;
  rec.etag = ns::NewEtag();
  rec.last_modified = now;
  rec.copy_status = "success";
  rec.copy_status_description.clear();
  rec.copy_progress = 0;  // shown as length/length once done
  rec.copy_completion = now;
  Status s = store.Commit(t.c, t.b, t.tmp, rec, true);
  if (!s.ok()) {
    lock.unlock();
    MarkFailed(&store, t.c, t.b, t.id, "500 InternalError \"" + s.message() + "\"");
  }
}

void CopyJobs::RunRemote(Job& job) {
  CopyTicket& t = *job.t;
  ns::Store& store = *t.store;
  RemoteSource& src = *job.remote;
  auto out = store.fs()->OpenWrite(t.tmp, true, true);
  if (!out.ok()) {
    MarkFailed(&store, t.c, t.b, t.id, "500 InternalError \"" + out.status().message() + "\"");
    return;
  }
  Md5Hasher md5;
  uint64_t done = 0, reported = 0;
  auto last_report = std::chrono::steady_clock::now();
  bool gone = false;  // the destination no longer waits for this copy
  Status write_error;
  tier::FetchRequest fr;
  fr.url = src.url;
  fr.headers = src.headers;
  fr.max_bytes = src.max_bytes;
  fr.slot = src.slot.get();
  fr.whole_timeout = false;  // a big copy may take longer; too slow a source is cut off
  fr.cancelled = [this, &t] { return IsAborted(t.id) || Stopping(); };
  File* file = out->get();
  fr.sink = [&](const char* data, size_t n) {
    write_error = file->Append(data, n);
    if (!write_error.ok()) return false;
    md5.Update(data, n);
    done += n;
    auto now = std::chrono::steady_clock::now();
    if (done - reported < opt_.step && now - last_report < std::chrono::seconds(1)) return true;
    if (src.size && done >= *src.size) return true;  // all in: the commit shows it
    // Progress, and a check that the destination still waits for us.
    auto lock = store.LockBlob(t.c, t.b);
    ns::BlobInfo info;
    if (!StillOurs(job, &info)) {
      gone = true;
      return false;
    }
    info.rec.copy_progress = done;
    if (!src.size) info.rec.copy_length = done;  // the source did not say
    (void)store.UpdateRecord(t.c, t.b, info.rec);
    reported = done;
    last_report = now;
    return true;
  };
  tier::FetchResult f = src.fetcher->Fetch(fr);
  if (gone || IsAborted(t.id)) return;
  if (Stopping()) {
    MarkFailed(&store, t.c, t.b, t.id,
               "500 InternalError \"The server stopped. Copy the blob again.\"");
    return;
  }
  if (f.kind == tier::FetchResult::Kind::kSinkFailed) {
    MarkFailed(&store, t.c, t.b, t.id, "500 InternalError \"" + write_error.message() + "\"");
    return;
  }
  if (f.kind != tier::FetchResult::Kind::kOk) {
    MarkFailed(&store, t.c, t.b, t.id, FetchFailure(f));
    return;
  }
  if (src.size && f.bytes != *src.size) {
    f.kind = tier::FetchResult::Kind::kFailed;
    f.detail = "The copy source sent " + std::to_string(f.bytes) + " of the " +
               std::to_string(*src.size) + " bytes it announced.";
    MarkFailed(&store, t.c, t.b, t.id, FetchFailure(f));
    return;
  }
  Status s = (*out)->Sync();
  out->reset();
  if (!s.ok()) {
    MarkFailed(&store, t.c, t.b, t.id, "500 InternalError \"" + s.message() + "\"");
    return;
  }
  ns::BlobRecord rec = std::move(job.final_rec);
  // The source's own Content-MD5 when it sent one for these bytes; else the
  // digest of what arrived.
  auto source_md5 = f.Header("content-md5");
  auto raw = source_md5 ? Base64Decode(*source_md5) : std::nullopt;
  std::string digest = md5.Final();
  rec.content_md5 = raw && raw->size() == 16 ? *raw : digest;
  rec.copy_length = f.bytes;
  Finish(job, std::move(rec));
}

size_t CopyJobs::Sweep(ns::Store* store) {
  Fs* fs = store->fs();
  std::string dir = MarkerDir(*store);
  auto entries = fs->ListDir(dir);
  if (!entries.ok()) return 0;
  size_t ended = 0;
  for (const auto& e : *entries) {
    std::string path = dir + "/" + e.name;
    auto f = fs->OpenWrite(path, false, false);
    if (!f.ok() || !TryLock(**f)) continue;  // gone, or its copy runs
    // No process holds it: its copy ended with its gateway.
    if (e.name.rfind("new.", 0) != 0) {
      auto st = (*f)->Stat();
      std::string text(st.ok() ? st->size : 0, '\0');
      auto got = (*f)->PRead(text.data(), text.size(), 0);
      if (got.ok()) text.resize(*got);
      size_t a = text.find('\0');
      size_t b = a == std::string::npos ? a : text.find('\0', a + 1);
      if (b != std::string::npos) {
        std::string c = text.substr(0, a), blob = text.substr(a + 1, b - a - 1);
        (void)fs->Unlink(text.substr(b + 1));
        MarkFailed(store, c, blob, e.name,
                   "500 InternalError \"The copy was interrupted: the gateway running it "
                   "stopped. Copy the blob again.\"");
      }
    }
    (void)fs->Unlink(path);
    ++ended;
  }
  return ended;
}

}  // namespace strata::api
