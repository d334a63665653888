#include "ns/record.h"

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace strata::ns {

using nlohmann::json;

std::string Lease::State(TimeNs now) const {
  if (breaking) return now >= break_time ? "broken" : "breaking";
  if (!active) return "available";
  if (duration > 0 && now >= expiry) return "expired";
  return "leased";
}

bool Lease::Held(TimeNs now) const {
  std::string s = State(now);
  return s == "leased" || s == "breaking";
}

bool Lease::Is(std::string_view given) const {
  auto a = CanonicalGuid(given), b = CanonicalGuid(id);
  if (a && b) return *a == *b;
  return given == id;
}

std::string_view BlobRecord::AccessTier(TimeNs now) const {
  if (RehydrationDue(now)) return rehydrate_to;
  return tier.empty() ? std::string_view("Hot") : std::string_view(tier);
}

std::string_view BlobRecord::RehydratingTo(TimeNs now) const {
  return RehydrationDue(now) ? std::string_view() : std::string_view(rehydrate_to);
}

bool BlobRecord::Archived(TimeNs now) const {
  return tier_state == TierState::kArchived || (tier == "Archive" && !RehydrationDue(now));
}

void BlobRecord::SettleRehydration(TimeNs now) {
  if (!RehydrationDue(now)) return;
  if (RehydratingCopy()) {
    copy_status = "success";
    copy_completion = rehydrate_done;
  }
  tier = rehydrate_to;
  tier_change_time = rehydrate_done;
  rehydrate_to.clear();
  rehydrate_priority.clear();
  rehydrate_done = 0;
}

namespace {
// Strings in a record are bytes from the wire (header values may hold any
// octet), but JSON strings must be UTF-8: a string that is not valid UTF-8
// is stored as {"b64": BASE64} so that every value round-trips exactly.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      unsigned char d = s[i + k];
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

json Str(const std::string& s) {
  if (ValidUtf8(s)) return s;
  return json{{"b64", Base64Encode(s)}};
}

// A string stored by Str(); throws (caught by Unpack) on anything else.
std::string FromStr(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  auto bytes = Base64Decode(j.at("b64").get<std::string>());
  if (!bytes) throw std::runtime_error("bad base64 string");
  return *bytes;
}

// The string at `key`, or `dflt` when the key is absent.
std::string StrAt(const json& j, const char* key, const char* dflt = "") {
  if (!j.is_object()) throw std::runtime_error("record is not an object");
  auto it = j.find(key);
  return it == j.end() ? std::string(dflt) : FromStr(*it);
}

json LeaseToJson(const Lease& l) {
  return json{{"id", Str(l.id)},     {"dur", l.duration},  {"exp", l.expiry},
              {"brk", l.break_time}, {"active", l.active}, {"breaking", l.breaking}};
}
// The integer at j[key] within [lo, hi], 0 when absent; throws (caught by
// Unpack) on anything else: a record read back from the file system may
// hold a float or a number too large, whose conversion is undefined.
int64_t IntAt(const json& j, const char* key, int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  int64_t v;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) throw std::runtime_error("number out of range");
    v = static_cast<int64_t>(u);
  } else if (it->is_number_integer()) {
    v = it->get<int64_t>();
  } else {
    throw std::runtime_error("not an integer");
  }
  if (v < lo || v > hi) throw std::runtime_error("number out of range");
  return v;
}

Lease LeaseFromJson(const json& j) {
  Lease l;
  l.id = StrAt(j, "id");
  // As the blob record's binary form: -1 (infinite) up to an hour.
  l.duration = static_cast<int>(IntAt(j, "dur", -1, 3600));
  l.expiry = IntAt(j, "exp");
  l.break_time = IntAt(j, "brk");
  l.active = j.value("active", false);
  l.breaking = j.value("breaking", false);
  return l;
}
json MetaToJson(const Metadata& m) {
  json a = json::array();
  for (const auto& [k, v] : m) a.push_back(json::array({Str(k), Str(v)}));
  return a;
}
Metadata MetaFromJson(const json& j) {
  Metadata m;
  if (!j.is_array()) throw std::runtime_error("metadata is not an array");
  for (const auto& kv : j) m.emplace_back(FromStr(kv.at(0)), FromStr(kv.at(1)));
  return m;
}
}  // namespace

// A blob record is read on every HEAD, GET and listed blob, so it is packed
// in a compact binary form rather than JSON: "SR2", then every field in a
// fixed order, unsigned numbers as LEB128 varints, signed ones zigzagged,
// strings as a varint length and the bytes (any octets). Nothing may follow.
namespace {
constexpr std::string_view kBlobMagic = "S3";

// Times are packed as deltas. A record read back from the file system may
// hold any bytes, so the deltas wrap (two's complement) instead of
// overflowing; for every record strata writes the result is the same.
int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void U(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  void I(int64_t v) { U((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void S(std::string_view v) {
    U(v.size());
    out_->append(v);
  }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint64_t U() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) throw std::runtime_error("truncated");
      uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw std::runtime_error("varint too long");
  }
  int64_t I() {
    uint64_t u = U();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string S() {
    uint64_t n = U();
    if (n > in_.size() - pos_) throw std::runtime_error("truncated string");
    std::string v(in_.substr(pos_, n));
    pos_ += n;
    return v;
  }
  std::string Raw(size_t n) { return std::string(View(n)); }
  std::string_view View(size_t n) {
    if (n > in_.size() - pos_) throw std::runtime_error("truncated");
    std::string_view v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};
}  // namespace

// Which optional fields a packed blob record carries.
namespace {
enum : uint64_t {
  kHasContentType = 1 << 0,  // absent: application/octet-stream
  kHasEncoding = 1 << 1,
  kHasLanguage = 1 << 2,
  kHasDisposition = 1 << 3,
  kHasCacheControl = 1 << 4,
  kHasMd5 = 1 << 5,  // 16 raw bytes follow
  kHasMetadata = 1 << 6,
  kCompactEtag = 1 << 7,  // "0x" + 16 hex digits, stored as 8 bytes
  kHasLease = 1 << 8,
  kHasBlocks = 1 << 9,
  kHasAppends = 1 << 10,
  kHasCopy = 1 << 11,
  kHasTier = 1 << 12,
  kAppendBlob = 1 << 13,
  kOtherType = 1 << 14,  // the type's name follows
  kHasCtimeBound = 1 << 15,
  kNoContentType = 1 << 16,  // the content type is empty
  kHasTierState = 1 << 17,   // state, remote name, etag, md5, size follow
  kHasLastAccess = 1 << 18,  // last access follows (delta to last_modified)
  kRemoteDamaged = 1 << 19,  // the remote copy failed verification (no payload)
  kHasCopyState = 1 << 20,   // copy progress and status description follow
  kSealed = 1 << 21,         // an append blob sealed against appends (no payload)
  kHasTierTimes = 1 << 22,   // tier change time, rehydrate priority and deadline follow
  // A content MD5 that is not 16 bytes (Set Blob Properties stores what it
  // is sent, as Azure does), as a string. A high bit, apart from the run
  // above, so that new fields keep taking the next low bits.
  kHasOddMd5 = 1ULL << 31,
  kKnownBits = ((1 << 23) - 1) | kHasOddMd5,
};
constexpr char kDefaultContentType[] = "application/octet-stream";

bool CompactEtag(const std::string& etag, uint64_t* out) {
  if (etag.size() != 18 || etag[0] != '0' || etag[1] != 'x') return false;
  uint64_t v = 0;
  for (size_t i = 2; i < 18; ++i) {
    char c = etag[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}
}  // namespace

// Packed so that a typical record (no user metadata) stays under ~60 bytes and
// fits in the inode's own xattr space on ext4 (256-byte inodes): a larger one
// costs every blob an extra 4 KiB block. Times after the first are stored as
// differences, which are small.
std::string BlobRecord::Pack() const {
  uint64_t mask = 0, etag_bits = 0;
  if (content_type.empty()) mask |= kNoContentType;
  else if (content_type != kDefaultContentType) mask |= kHasContentType;
  if (!content_encoding.empty()) mask |= kHasEncoding;
  if (!content_language.empty()) mask |= kHasLanguage;
  if (!content_disposition.empty()) mask |= kHasDisposition;
  if (!cache_control.empty()) mask |= kHasCacheControl;
  if (content_md5.size() == 16) mask |= kHasMd5;
  else if (!content_md5.empty()) mask |= kHasOddMd5;
  if (!metadata.empty()) mask |= kHasMetadata;
  if (CompactEtag(etag, &etag_bits)) mask |= kCompactEtag;
  if (!lease.id.empty() || lease.active || lease.breaking || lease.duration || lease.expiry ||
      lease.break_time)
    mask |= kHasLease;
  if (!committed_blocks.empty()) mask |= kHasBlocks;
  if (append_block_count) mask |= kHasAppends;
  if (!copy_id.empty() || !copy_source.empty() || !copy_status.empty() || copy_completion ||
      copy_length)
    mask |= kHasCopy;
  if (!tier.empty()) mask |= kHasTier;
  if (blob_type == "AppendBlob") mask |= kAppendBlob;
  else if (blob_type != "BlockBlob") mask |= kOtherType;
  if (fp_ctime_bound) mask |= kHasCtimeBound;
  if (tier_state != TierState::kHot || !remote_name.empty() || !rehydrate_to.empty()) mask |= kHasTierState;
  if (last_access) mask |= kHasLastAccess;
  if (remote_damaged) mask |= kRemoteDamaged;
  if (sealed) mask |= kSealed;
  if (copy_progress || !copy_status_description.empty()) mask |= kHasCopyState;
  if (tier_change_time || !rehydrate_priority.empty() || rehydrate_done) mask |= kHasTierTimes;

  std::string out(kBlobMagic);
  out.reserve(64);
  Writer w(&out);
  w.U(mask);
  if (mask & kOtherType) w.S(blob_type);
  if (mask & kHasContentType) w.S(content_type);
  if (mask & kHasEncoding) w.S(content_encoding);
  if (mask & kHasLanguage) w.S(content_language);
  if (mask & kHasDisposition) w.S(content_disposition);
  if (mask & kHasCacheControl) w.S(cache_control);
  if (mask & kHasMd5) out.append(content_md5);
  if (mask & kHasOddMd5) w.S(content_md5);
  if (mask & kHasMetadata) {
    w.U(metadata.size());
    for (const auto& [k, v] : metadata) {
      w.S(k);
      w.S(v);
    }
  }
  if (mask & kCompactEtag) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(etag_bits >> shift));
  } else {
    w.S(etag);
  }
  w.I(last_modified);
  w.I(WrapSub(created, last_modified));
  w.U(fp_size);
  w.U(fp_ino);
  w.I(WrapSub(fp_mtime, last_modified));
  if (mask & kHasCtimeBound) w.I(WrapSub(fp_ctime_bound, fp_mtime));
  if (mask & kHasLease) {
    w.S(lease.id);
    w.I(lease.duration);
    w.I(lease.expiry);
    w.I(lease.break_time);
    w.U((lease.active ? 1 : 0) | (lease.breaking ? 2 : 0));
  }
  if (mask & kHasBlocks) {
    w.U(committed_blocks.size());
    for (const auto& b : committed_blocks) {
      w.S(b.id);
      w.U(b.size);
    }
  }
  if (mask & kHasAppends) w.U(append_block_count);
  if (mask & kHasCopy) {
    w.S(copy_id);
    w.S(copy_source);
    w.S(copy_status);
    w.I(copy_completion);
    w.U(copy_length);
  }
  if (mask & kHasTier) w.S(tier);
  if (mask & kHasTierState) {
    w.U(static_cast<uint64_t>(tier_state));
    w.S(remote_name);
    w.S(remote_etag);
    w.S(remote_md5);
    w.U(remote_size);
    w.S(rehydrate_to);
  }
  if (mask & kHasLastAccess) w.I(WrapSub(last_access, last_modified));
  if (mask & kHasCopyState) {
    w.U(copy_progress);
    w.S(copy_status_description);
  }
  if (mask & kHasTierTimes) {
    w.I(WrapSub(tier_change_time, last_modified));
    w.S(rehydrate_priority);
    w.I(rehydrate_done ? WrapSub(rehydrate_done, last_modified) : 0);
    w.U(rehydrate_done ? 1 : 0);
  }
  return out;
}

Result<BlobRecord> BlobRecord::Unpack(std::string_view packed) {
  try {
    if (packed.substr(0, kBlobMagic.size()) != kBlobMagic)
      throw std::runtime_error("not a blob record");
    std::string_view body = packed.substr(kBlobMagic.size());
    Reader r(body);
    BlobRecord b;
    uint64_t mask = r.U();
    if (mask & ~static_cast<uint64_t>(kKnownBits)) throw std::runtime_error("unknown fields");
    if ((mask & kAppendBlob) && (mask & kOtherType)) throw std::runtime_error("two types");
    b.blob_type = mask & kOtherType ? r.S() : mask & kAppendBlob ? "AppendBlob" : "BlockBlob";
    if ((mask & kHasContentType) && (mask & kNoContentType)) throw std::runtime_error("two types");
    b.content_type = mask & kHasContentType  ? r.S()
                     : mask & kNoContentType ? std::string()
                                             : std::string(kDefaultContentType);
    if (mask & kHasEncoding) b.content_encoding = r.S();
    if (mask & kHasLanguage) b.content_language = r.S();
    if (mask & kHasDisposition) b.content_disposition = r.S();
    if (mask & kHasCacheControl) b.cache_control = r.S();
    if ((mask & kHasMd5) && (mask & kHasOddMd5)) throw std::runtime_error("two digests");
    if (mask & kHasMd5) b.content_md5 = r.Raw(16);
    if (mask & kHasOddMd5) b.content_md5 = r.S();
    if (mask & kHasMetadata) {
      uint64_t n = r.U();
      if (n == 0 || n > packed.size()) throw std::runtime_error("bad metadata count");
      for (uint64_t i = 0; i < n; ++i) {
        std::string k = r.S();
        b.metadata.emplace_back(std::move(k), r.S());
      }
    }
    if (mask & kCompactEtag) {
      std::string_view raw = r.View(8);
      static constexpr char kHex[] = "0123456789ABCDEF";
      char hex[18] = {'0', 'x'};
      for (size_t i = 0; i < 8; ++i) {
        unsigned char c = static_cast<unsigned char>(raw[i]);
        hex[2 + 2 * i] = kHex[c >> 4];
        hex[3 + 2 * i] = kHex[c & 15];
      }
      b.etag.assign(hex, sizeof(hex));
    } else {
      b.etag = r.S();
    }
    b.last_modified = r.I();
    b.created = WrapAdd(b.last_modified, r.I());
    b.fp_size = r.U();
    b.fp_ino = r.U();
    b.fp_mtime = WrapAdd(b.last_modified, r.I());
    if (mask & kHasCtimeBound) b.fp_ctime_bound = WrapAdd(b.fp_mtime, r.I());
    if (mask & kHasLease) {
      b.lease.id = r.S();
      int64_t dur = r.I();
      if (dur < -1 || dur > 3600) throw std::runtime_error("bad lease duration");
      b.lease.duration = static_cast<int>(dur);
      b.lease.expiry = r.I();
      b.lease.break_time = r.I();
      uint64_t flags = r.U();
      if (flags > 3) throw std::runtime_error("bad lease flags");
      b.lease.active = flags & 1;
      b.lease.breaking = flags & 2;
    }
    if (mask & kHasBlocks) {
      uint64_t n = r.U();
      if (n == 0 || n > packed.size()) throw std::runtime_error("bad block count");
      b.committed_blocks.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        std::string id = r.S();
        b.committed_blocks.push_back({std::move(id), r.U()});
      }
    }
    if (mask & kHasAppends) b.append_block_count = r.U();
    if (mask & kHasCopy) {
      b.copy_id = r.S();
      b.copy_source = r.S();
      b.copy_status = r.S();
      b.copy_completion = r.I();
      b.copy_length = r.U();
    }
    if (mask & kHasTier) b.tier = r.S();
    if (mask & kHasTierState) {
      uint64_t st = r.U();
      if (st > 3) throw std::runtime_error("bad tier state");
      b.tier_state = static_cast<TierState>(st);
      b.remote_name = r.S();
      b.remote_etag = r.S();
      b.remote_md5 = r.S();
      b.remote_size = r.U();
      b.rehydrate_to = r.S();
    }
    if (mask & kHasLastAccess) b.last_access = WrapAdd(b.last_modified, r.I());
    b.remote_damaged = mask & kRemoteDamaged;
    b.sealed = mask & kSealed;
    if (mask & kHasCopyState) {
      b.copy_progress = r.U();
      b.copy_status_description = r.S();
    }
    if (mask & kHasTierTimes) {
      b.tier_change_time = WrapAdd(b.last_modified, r.I());
      b.rehydrate_priority = r.S();
      int64_t done = r.I();
      uint64_t has_done = r.U();
      if (has_done > 1) throw std::runtime_error("bad rehydration deadline");
      b.rehydrate_done = has_done ? WrapAdd(b.last_modified, done) : 0;
    }
    if (!r.done()) throw std::runtime_error("trailing bytes");
    return b;
  } catch (const std::exception& e) {
    return Status(ErrorKind::kInvalidArgument, std::string("bad blob record: ") + e.what());
  }
}

std::string ContainerRecord::Pack() const {
  json j;
  j["v"] = 1;
  j["meta"] = MetaToJson(metadata);
  j["etag"] = Str(etag);
  j["lm"] = last_modified;
  j["access"] = Str(public_access);
  json ids = json::array();
  for (const auto& s : identifiers) {
    ids.push_back(json{{"id", Str(s.id)},
                       {"st", Str(s.start)},
                       {"se", Str(s.expiry)},
                       {"sp", Str(s.permission)}});
  }
  j["ids"] = std::move(ids);
  j["lease"] = LeaseToJson(lease);
  return j.dump();
}

Result<ContainerRecord> ContainerRecord::Unpack(std::string_view packed) {
  try {
    json j = json::parse(packed);
    ContainerRecord r;
    if (j.contains("meta")) r.metadata = MetaFromJson(j["meta"]);
    r.etag = StrAt(j, "etag");
    r.last_modified = IntAt(j, "lm");
    r.public_access = StrAt(j, "access");
    if (j.contains("ids")) {
      if (!j["ids"].is_array()) throw std::runtime_error("ids is not an array");
      for (const auto& s : j["ids"]) {
        r.identifiers.push_back(
            {StrAt(s, "id"), StrAt(s, "st"), StrAt(s, "se"), StrAt(s, "sp")});
      }
    }
    if (j.contains("lease")) r.lease = LeaseFromJson(j["lease"]);
    return r;
  } catch (const std::exception& e) {
    return Status(ErrorKind::kInvalidArgument, std::string("bad container record: ") + e.what());
  }
}

std::string NewEtag() {
  static std::atomic<uint64_t> last{0};
  uint64_t now = static_cast<uint64_t>(NowNs() / 100) + 116444736000000000ULL;  // FILETIME
  uint64_t prev = last.load();
  uint64_t next;
  do {
    next = now > prev ? now : prev + 1;
  } while (!last.compare_exchange_weak(prev, next));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%016llX", static_cast<unsigned long long>(next));
  return buf;
}

std::string DerivedEtag(uint64_t ino, uint64_t size, int64_t mtime_ns, int64_t ctime_ns) {
  uint64_t h = 1469598103934665603ULL;
  for (uint64_t v : {ino, size, static_cast<uint64_t>(mtime_ns), static_cast<uint64_t>(ctime_ns)}) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (i * 8)) & 0xff;
      h *= 1099511628211ULL;
    }
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%016llX", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace strata::ns
