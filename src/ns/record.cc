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

// Decodes base64 (binary MD5 and block ids); throws on bad input.
std::string Bytes(const json& j) {
  auto bytes = Base64Decode(j.get<std::string>());
  if (!bytes) throw std::runtime_error("bad base64 value");
  return *bytes;
}

json LeaseToJson(const Lease& l) {
  return json{{"id", Str(l.id)},     {"dur", l.duration},  {"exp", l.expiry},
              {"brk", l.break_time}, {"active", l.active}, {"breaking", l.breaking}};
}
Lease LeaseFromJson(const json& j) {
  Lease l;
  l.id = StrAt(j, "id");
  l.duration = j.value("dur", 0);
  l.expiry = j.value("exp", int64_t{0});
  l.break_time = j.value("brk", int64_t{0});
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

std::string BlobRecord::Pack() const {
  json j;
  j["v"] = 1;
  j["type"] = Str(blob_type);
  if (!content_type.empty()) j["ct"] = Str(content_type);
  if (!content_encoding.empty()) j["ce"] = Str(content_encoding);
  if (!content_language.empty()) j["cl"] = Str(content_language);
  if (!content_disposition.empty()) j["cd"] = Str(content_disposition);
  if (!cache_control.empty()) j["cc"] = Str(cache_control);
  if (!content_md5.empty()) j["md5"] = Base64Encode(content_md5);
  if (!metadata.empty()) j["meta"] = MetaToJson(metadata);
  j["etag"] = Str(etag);
  j["lm"] = last_modified;
  j["cr"] = created;
  j["fp"] = json::array({fp_size, fp_ino, fp_mtime});
  if (fp_ctime_bound) j["fc"] = fp_ctime_bound;
  if (!lease.id.empty() || lease.active || lease.breaking) j["lease"] = LeaseToJson(lease);
  if (!committed_blocks.empty()) {
    json b = json::array();
    for (const auto& blk : committed_blocks)
      b.push_back(json::array({Base64Encode(blk.id), blk.size}));
    j["blocks"] = std::move(b);
  }
  if (append_block_count) j["appends"] = append_block_count;
  if (!copy_id.empty()) {
    j["copy"] = json{{"id", Str(copy_id)},         {"src", Str(copy_source)},
                     {"status", Str(copy_status)}, {"done", copy_completion},
                     {"len", copy_length}};
  }
  if (!tier.empty()) j["tier"] = Str(tier);
  return j.dump();
}

Result<BlobRecord> BlobRecord::Unpack(std::string_view packed) {
  try {
    json j = json::parse(packed);
    BlobRecord r;
    r.blob_type = StrAt(j, "type", "BlockBlob");
    r.content_type = StrAt(j, "ct");
    r.content_encoding = StrAt(j, "ce");
    r.content_language = StrAt(j, "cl");
    r.content_disposition = StrAt(j, "cd");
    r.cache_control = StrAt(j, "cc");
    if (j.contains("md5")) r.content_md5 = Bytes(j["md5"]);
    if (j.contains("meta")) r.metadata = MetaFromJson(j["meta"]);
    r.etag = StrAt(j, "etag");
    r.last_modified = j.value("lm", int64_t{0});
    r.created = j.value("cr", int64_t{0});
    if (j.contains("fp")) {
      r.fp_size = j["fp"].at(0).get<uint64_t>();
      r.fp_ino = j["fp"].at(1).get<uint64_t>();
      r.fp_mtime = j["fp"].at(2).get<int64_t>();
      r.fp_ctime_bound = j.value("fc", int64_t{0});
    }
    if (j.contains("lease")) r.lease = LeaseFromJson(j["lease"]);
    if (j.contains("blocks")) {
      if (!j["blocks"].is_array()) throw std::runtime_error("blocks is not an array");
      for (const auto& b : j["blocks"])
        r.committed_blocks.push_back({Bytes(b.at(0)), b.at(1).get<uint64_t>()});
    }
    r.append_block_count = j.value("appends", uint64_t{0});
    if (j.contains("copy")) {
      const auto& c = j["copy"];
      r.copy_id = StrAt(c, "id");
      r.copy_source = StrAt(c, "src");
      r.copy_status = StrAt(c, "status");
      r.copy_completion = c.value("done", int64_t{0});
      r.copy_length = c.value("len", uint64_t{0});
    }
    r.tier = StrAt(j, "tier");
    return r;
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
    r.last_modified = j.value("lm", int64_t{0});
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
