// List Containers and List Blobs: XML enumeration results.
#include <algorithm>
#include <charconv>

#include "api/context.h"
#include "common/strings.h"
#include "ns/names.h"

namespace strata::api {

namespace {

void Elem(std::string& x, const char* name, std::string_view v) {
  x += '<';
  x += name;
  if (v.empty()) {
    x += " />";
    return;
  }
  x += '>';
  AppendXmlEscaped(x, v);
  x += "</";
  x += name;
  x += '>';
}

// <name>v</name> for values that never need escaping (numbers, dates, ETags).
void Raw(std::string& x, const char* name, std::string_view v) {
  x += '<';
  x += name;
  x += '>';
  x += v;
  x += "</";
  x += name;
  x += '>';
}

void MetadataXml(std::string& x, const ns::Metadata& m) {
  x += "<Metadata>";
  for (const auto& [k, v] : m) Elem(x, k.c_str(), v);
  x += "</Metadata>";
}

// maxresults: absent -> 5000; larger values are capped at 5000. Not an
// integer -> InvalidQueryParameterValue; zero or negative ->
// OutOfRangeQueryParameterValue (as Azure answers).
std::optional<http::Response> ParseMax(Ctx& ctx, size_t* out) {
  *out = 5000;
  if (auto m = ctx.Q("maxresults")) {
    bool negative = !m->empty() && (*m)[0] == '-';
    auto v = ParseUint(negative ? m->substr(1) : *m);
    if (!v)
      return QueryError(AzError::kInvalidQueryParameterValue, *ctx.req, "maxresults");
    if (negative || *v == 0)
      return QueryError(AzError::kOutOfRangeQueryParameterValue, *ctx.req, "maxresults");
    *out = *v > 5000 ? 5000 : *v;
  }
  return std::nullopt;
}

std::string DecodeMarker(const std::string& m) {
  if (m.empty()) return m;
  auto d = Base64Decode(m);
  return d ? *d : m;
}

// include=uncommittedblobs: merges the blobs that exist only as uncommitted
// blocks into `page` (one page of committed items from the same marker), in
// name order, collapsed at the delimiter like committed names, never more
// than `max` items; next_marker is then the first item left out.
void MergeUncommitted(Ctx& ctx, const std::string& prefix, const std::string& delimiter,
                      const std::string& marker, size_t max, ns::ListPage* page) {
  const std::string start = std::max(prefix, marker);
  const std::string hi = page->next_marker;  // committed items from here on are not loaded
  std::vector<ns::ListItem> extra;
  for (const auto& name : ctx.store().UncommittedBlobNames(ctx.container)) {
    if (!StartsWith(name, prefix) || name < start || (!hi.empty() && name >= hi)) continue;
    ns::ListItem item;
    size_t pos = delimiter.empty() ? std::string::npos : name.find(delimiter, prefix.size());
    if (pos != std::string::npos) {
      item.name = name.substr(0, pos + delimiter.size());
      item.is_prefix = true;
    } else {
      item.name = name;
      item.info.name = name;
      item.info.rec.etag = ns::NewEtag();
      item.info.rec.last_modified = ctx.now;
    }
    extra.push_back(std::move(item));
  }
  if (extra.empty()) return;
  auto by_name = [](const ns::ListItem& a, const ns::ListItem& b) { return a.name < b.name; };
  std::vector<ns::ListItem> merged = std::move(page->items);
  for (auto& item : extra) merged.push_back(std::move(item));
  // Committed items first among equals, so a committed blob or prefix wins.
  std::stable_sort(merged.begin(), merged.end(), by_name);
  merged.erase(
      std::unique(merged.begin(), merged.end(),
                  [](const ns::ListItem& a, const ns::ListItem& b) { return a.name == b.name; }),
      merged.end());
  if (merged.size() > max) {
    page->next_marker = merged[max].name;
    merged.resize(max);
  }
  page->items = std::move(merged);
}

}  // namespace

http::Response ListContainers(Ctx& ctx) {
  size_t max;
  if (auto e = ParseMax(ctx, &max)) return *e;
  std::string prefix = ctx.Q("prefix").value_or("");
  std::string marker_raw = ctx.Q("marker").value_or("");
  std::string marker = DecodeMarker(marker_raw);
  std::string include = ctx.Q("include").value_or("");
  for (const auto& part : Split(include, ',')) {
    std::string p(Trim(part));
    if (!p.empty() && p != "metadata" && p != "deleted" && p != "system")
      return QueryError(AzError::kInvalidQueryParameterValue, *ctx.req, "include");
  }
  bool with_meta = include.find("metadata") != std::string::npos;
  auto names = ctx.store().ContainerNames();
  if (!names.ok()) return ErrorResponse(AzError::kInternalError, names.status().message());
  std::string x =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"" +
      XmlEscape(ctx.base_url) + "/\">";
  Elem(x, "Prefix", prefix);
  Elem(x, "Marker", marker_raw);
  x += "<MaxResults>" + std::to_string(max) + "</MaxResults><Containers>";
  std::string next;
  size_t n = 0;
  for (const auto& name : *names) {
    if (!StartsWith(name, prefix) || name < marker) continue;
    if (ns::ValidateContainerName(name).kind() != ErrorKind::kOk) continue;
    auto rec = ctx.store().GetContainer(name);
    if (!rec.ok()) continue;
    if (n == max) {
      next = Base64Encode(name);
      break;
    }
    ++n;
    x += "<Container>";
    Elem(x, "Name", name);
    x += "<Properties><Last-Modified>" + FormatHttpDate(rec->last_modified) +
         "</Last-Modified><Etag>\"" + rec->etag + "\"</Etag>";
    std::string state = rec->lease.State(ctx.now);
    x += "<LeaseStatus>" +
         std::string(state == "leased" || state == "breaking" ? "locked" : "unlocked") +
         "</LeaseStatus><LeaseState>" + state + "</LeaseState>";
    if (state == "leased")
      x += std::string("<LeaseDuration>") + (rec->lease.duration < 0 ? "infinite" : "fixed") +
           "</LeaseDuration>";
    if (!rec->public_access.empty()) x += "<PublicAccess>" + rec->public_access + "</PublicAccess>";
    x += "<HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold>"
         "</Properties>";
    if (with_meta) MetadataXml(x, rec->metadata);
    x += "</Container>";
  }
  x += "</Containers>";
  Elem(x, "NextMarker", next);
  x += "</EnumerationResults>";
  http::Response r;
  r.Set("Content-Type", "application/xml");
  r.body = std::move(x);
  return r;
}

// `resource_type`: ResourceType (file | directory; "": none), which an HNS
// account lists from version 2020-10-02; `priority`: RehydratePriority
// (from 2019-12-12).
void BlobPropertiesXml(std::string& x, const ns::BlobInfo& info, TimeNs now,
                       std::string_view resource_type, bool priority) {
  const ns::BlobRecord& rec = info.rec;
  char num[24];
  x += "<Properties>";
  Raw(x, "Creation-Time", FormatHttpDate(rec.created ? rec.created : rec.last_modified));
  Raw(x, "Last-Modified", FormatHttpDate(rec.last_modified));
  Raw(x, "Etag", rec.etag);
  if (!resource_type.empty()) Raw(x, "ResourceType", resource_type);
  auto len = std::to_chars(num, num + sizeof(num), info.st.size);
  Raw(x, "Content-Length", std::string_view(num, static_cast<size_t>(len.ptr - num)));
  Elem(x, "Content-Type", rec.content_type);
  Elem(x, "Content-Encoding", rec.content_encoding);
  Elem(x, "Content-Language", rec.content_language);
  x += "<Content-CRC64 />";
  if (rec.content_md5.empty())
    x += "<Content-MD5 />";
  else
    Raw(x, "Content-MD5", Base64Encode(rec.content_md5));
  Elem(x, "Cache-Control", rec.cache_control);
  Elem(x, "Content-Disposition", rec.content_disposition);
  Raw(x, "BlobType", rec.blob_type);
  if (rec.blob_type == "BlockBlob") {
    // In the order Azure writes them (recorded List Blobs responses).
    Raw(x, "AccessTier", rec.AccessTier(now));
    if (rec.AccessTierInferred(now)) Raw(x, "AccessTierInferred", "true");
    std::string_view to = rec.RehydratingTo(now);
    if (!to.empty()) {
      x += "<ArchiveStatus>rehydrate-pending-to-";
      x += ToLower(to);
      x += "</ArchiveStatus>";
      if (priority)
        Raw(x, "RehydratePriority",
            rec.rehydrate_priority.empty() ? std::string_view("Standard")
                                           : std::string_view(rec.rehydrate_priority));
    }
    if (TimeNs t = rec.AccessTierChangeTime(now)) Raw(x, "AccessTierChangeTime", FormatHttpDate(t));
  }
  std::string state = rec.lease.State(now);
  Raw(x, "LeaseStatus", state == "leased" || state == "breaking" ? "locked" : "unlocked");
  Raw(x, "LeaseState", state);
  if (state == "leased") Raw(x, "LeaseDuration", rec.lease.duration < 0 ? "infinite" : "fixed");
  if (!rec.copy_id.empty()) {
    Raw(x, "CopyId", rec.copy_id);
    std::string_view status = rec.CopyStatus(now);
    Raw(x, "CopyStatus", status);
    Elem(x, "CopySource", rec.copy_source);
    uint64_t done = status == "success" ? rec.copy_length : rec.copy_progress;
    Raw(x, "CopyProgress", std::to_string(done) + "/" + std::to_string(rec.copy_length));
    if (status != "pending") Raw(x, "CopyCompletionTime", FormatHttpDate(rec.CopyCompletion(now)));
    if (!rec.copy_status_description.empty())
      Elem(x, "CopyStatusDescription", rec.copy_status_description);
  }
  x += "<ServerEncrypted>true</ServerEncrypted>";
  // After ServerEncrypted, only when sealed, as in Azure's recorded listings.
  if (rec.sealed) x += "<Sealed>true</Sealed>";
  x += "</Properties>";
}

http::Response ListBlobs(Ctx& ctx) {
  size_t max;
  if (auto e = ParseMax(ctx, &max)) return *e;
  std::string prefix = ctx.Q("prefix").value_or("");
  std::string delimiter = ctx.Q("delimiter").value_or("");
  std::string marker_raw = ctx.Q("marker").value_or("");
  std::string include = ctx.Q("include").value_or("");
  for (const auto& part : Split(include, ',')) {
    std::string p(Trim(part));
    if (!p.empty() && p != "metadata" && p != "uncommittedblobs" && p != "snapshots" &&
        p != "copy" && p != "deleted" && p != "tags" && p != "versions" &&
        p != "immutabilitypolicy" && p != "legalhold" && p != "deletedwithversions")
      return QueryError(AzError::kInvalidQueryParameterValue, *ctx.req, "include");
  }
  bool with_meta = include.find("metadata") != std::string::npos;
  bool uncommitted = include.find("uncommittedblobs") != std::string::npos;
  // Every account strata serves is HNS-enabled (Get Account Information).
  bool resource_type = ServiceVersionAtLeast(*ctx.req, "2020-10-02");
  bool priority = ServiceVersionAtLeast(*ctx.req, "2019-12-12");
  auto page = ctx.store().List(ctx.container, prefix, delimiter, DecodeMarker(marker_raw), max);
  if (!page.ok()) return ErrorResponse(FromStatus(page.status(), false), PublicDetail(page.status()));
  if (uncommitted) MergeUncommitted(ctx, prefix, delimiter, DecodeMarker(marker_raw), max, &*page);
  std::string x =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"" +
      XmlEscape(ctx.base_url) + "/\" ContainerName=\"" + XmlEscape(ctx.container) + "\">";
  Elem(x, "Prefix", prefix);
  Elem(x, "Marker", marker_raw);
  x += "<MaxResults>" + std::to_string(max) + "</MaxResults>";
  if (!delimiter.empty()) Elem(x, "Delimiter", delimiter);
  // About 650 bytes per blob without metadata: one allocation, no regrowth.
  x.reserve(x.size() + page->items.size() * (with_meta ? 900 : 700) + 256);
  x += "<Blobs>";
  for (const auto& item : page->items) {
    if (item.is_prefix) {
      x += "<BlobPrefix>";
      Elem(x, "Name", item.name);
      x += "</BlobPrefix>";
      continue;
    }
    x += "<Blob>";
    Elem(x, "Name", item.name);
    BlobPropertiesXml(x, item.info, ctx.now,
                      !resource_type ? "" : item.is_dir ? "directory" : "file", priority);
    if (with_meta) {
      if (item.is_dir) {  // an HNS account marks its directories so
        ns::Metadata m = item.info.rec.metadata;
        m.emplace_back("hdi_isfolder", "true");
        MetadataXml(x, m);
      } else {
        MetadataXml(x, item.info.rec.metadata);
      }
    }
    x += "</Blob>";
  }
  x += "</Blobs>";
  Elem(x, "NextMarker", page->next_marker.empty() ? "" : Base64Encode(page->next_marker));
  x += "</EnumerationResults>";
  http::Response r;
  r.Set("Content-Type", "application/xml");
  r.body = std::move(x);
  return r;
}

}  // namespace strata::api
