#include "ns/record.h"

#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace strata::ns {

using nlohmann::json;

std::string Lease::State(TimeNs now) const {
  if (breaking) return now >= break_time ? "broken" : "breaking";
  if (!active) return id.empty() ? "available" : "available";
  if (duration > 0 && now >= expiry) return "expired";
  return "leased";
}

bool Lease::Held(TimeNs now) const {
  std::string s = State(now);
  return s == "leased" || s == "breaking";
}

namespace {
json LeaseToJson(const Lease& l) {
  return json{{"id", l.id},          {"dur", l.duration},     {"exp", l.expiry},
              {"brk", l.break_time}, {"active", l.active}, {"breaking", l.breaking}};
}
Lease LeaseFromJson(const json& j) {
  Lease l;
  l.id = j.value("id", "");
  l.duration = j.value("dur", 0);
  l.expiry = j.value("exp", int64_t{0});
  l.break_time = j.value("brk", int64_t{0});
  l.active = j.value("active", false);
  l.breaking = j.value("breaking", false);
  return l;
}
json MetaToJson(const Metadata& m) {
  json a = json::array();
  for (const auto& [k, v] : m) a.push_back(json::array({k, v}));
  return a;
}
Metadata MetaFromJson(const json& j) {
  Metadata m;
  if (!j.is_array()) return m;
  for (const auto& kv : j) m.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
  return m;
}
}  // namespace

std::string BlobRecord::Pack() const {
  json j;
  j["v"] = 1;
  j["type"] = blob_type;
  if (!content_type.empty()) j["ct"] = content_type;
  if (!content_encoding.empty()) j["ce"] = content_encoding;
  if (!content_language.empty()) j["cl"] = content_language;
  if (!content_disposition.empty()) j["cd"] = content_disposition;
  if (!cache_control.empty()) j["cc"] = cache_control;
  if (!content_md5.empty()) j["md5"] = Base64Encode(content_md5);
  if (!metadata.empty()) j["meta"] = MetaToJson(metadata);
  j["etag"] = etag;
  j["lm"] = last_modified;
  j["cr"] = created;
  j["fp"] = json::array({fp_size, fp_ino, fp_mtime});
  if (!lease.id.empty() || lease.active || lease.breaking) j["lease"] = LeaseToJson(lease);
  if (!committed_blocks.empty()) {
    json b = json::array();
    for (const auto& blk : committed_blocks)
      b.push_back(json::array({Base64Encode(blk.id), blk.size}));
    j["blocks"] = std::move(b);
  }
  if (append_block_count) j["appends"] = append_block_count;
  if (!copy_id.empty()) {
    j["copy"] = json{{"id", copy_id},         {"src", copy_source}, {"status", copy_status},
                     {"done", copy_completion}, {"len", copy_length}};
  }
  if (!tier.empty()) j["tier"] = tier;
  return j.dump();
}

Result<BlobRecord> BlobRecord::Unpack(std::string_view packed) {
  try {
    json j = json::parse(packed);
    BlobRecord r;
    r.blob_type = j.value("type", "BlockBlob");
    r.content_type = j.value("ct", "");
    r.content_encoding = j.value("ce", "");
    r.content_language = j.value("cl", "");
    r.content_disposition = j.value("cd", "");
    r.cache_control = j.value("cc", "");
    if (j.contains("md5")) r.content_md5 = Base64Decode(j["md5"].get<std::string>()).value_or("");
    if (j.contains("meta")) r.metadata = MetaFromJson(j["meta"]);
    r.etag = j.value("etag", "");
    r.last_modified = j.value("lm", int64_t{0});
    r.created = j.value("cr", int64_t{0});
    if (j.contains("fp")) {
      r.fp_size = j["fp"].at(0).get<uint64_t>();
      r.fp_ino = j["fp"].at(1).get<uint64_t>();
      r.fp_mtime = j["fp"].at(2).get<int64_t>();
    }
    if (j.contains("lease")) r.lease = LeaseFromJson(j["lease"]);
    if (j.contains("blocks")) {
      for (const auto& b : j["blocks"]) {
        r.committed_blocks.push_back(
            {Base64Decode(b.at(0).get<std::string>()).value_or(""), b.at(1).get<uint64_t>()});
      }
    }
    r.append_block_count = j.value("appends", uint64_t{0});
    if (j.contains("copy")) {
      const auto& c = j["copy"];
      r.copy_id = c.value("id", "");
      r.copy_source = c.value("src", "");
      r.copy_status = c.value("status", "");
      r.copy_completion = c.value("done", int64_t{0});
      r.copy_length = c.value("len", uint64_t{0});
    }
    r.tier = j.value("tier", "");
    return r;
  } catch (const std::exception& e) {
    return Status(ErrorKind::kInvalidArgument, std::string("bad blob record: ") + e.what());
  }
}

std::string ContainerRecord::Pack() const {
  json j;
  j["v"] = 1;
  j["meta"] = MetaToJson(metadata);
  j["etag"] = etag;
  j["lm"] = last_modified;
  j["access"] = public_access;
  json ids = json::array();
  for (const auto& s : identifiers)
    ids.push_back(json{{"id", s.id}, {"st", s.start}, {"se", s.expiry}, {"sp", s.permission}});
  j["ids"] = std::move(ids);
  j["lease"] = LeaseToJson(lease);
  return j.dump();
}

Result<ContainerRecord> ContainerRecord::Unpack(std::string_view packed) {
  try {
    json j = json::parse(packed);
    ContainerRecord r;
    if (j.contains("meta")) r.metadata = MetaFromJson(j["meta"]);
    r.etag = j.value("etag", "");
    r.last_modified = j.value("lm", int64_t{0});
    r.public_access = j.value("access", "");
    if (j.contains("ids")) {
      for (const auto& s : j["ids"]) {
        r.identifiers.push_back({s.value("id", ""), s.value("st", ""), s.value("se", ""),
                                 s.value("sp", "")});
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

std::string DerivedEtag(uint64_t ino, uint64_t size, int64_t mtime_ns) {
  uint64_t h = 1469598103934665603ULL;
  for (uint64_t v : {ino, size, static_cast<uint64_t>(mtime_ns)}) {
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
