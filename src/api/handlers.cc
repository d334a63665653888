// Helpers shared by the handlers.
#include <cctype>

#include "api/conditions.h"
#include "api/context.h"
#include "common/crc64.h"
#include "common/crypto.h"
#include "common/strings.h"

namespace strata::api {

namespace {
constexpr size_t kMaxMetadataBytes = 8 << 10;
}  // namespace

void LeaseHeaders(http::Response& r, const ns::Lease& lease, TimeNs now) {
  std::string state = lease.State(now);
  r.Set("x-ms-lease-state", state);
  r.Set("x-ms-lease-status", state == "leased" || state == "breaking" ? "locked" : "unlocked");
  if (state == "leased") r.Set("x-ms-lease-duration", lease.duration < 0 ? "infinite" : "fixed");
}

http::Response NotFound(const Status& s) {
  return ErrorResponse(s.kind() == ErrorKind::kContainerNotFound ? AzError::kContainerNotFound
                                                                 : AzError::kBlobNotFound);
}

std::string QuoteEtag(const std::string& etag) { return "\"" + etag + "\""; }

void SetEtagHeaders(http::Response& r, const std::string& etag, TimeNs last_modified) {
  r.fields.append("ETag: \"").append(etag).append("\"\r\n");
  HttpDateBuf date;
  r.Set("Last-Modified", HttpDate(last_modified, &date));
}

bool ParseMetadata(const http::Request& req, ns::Metadata* out, AzError* err) {
  size_t size = 0;
  for (size_t i = 0; i < req.headers.size(); ++i) {
    const auto& [k, v] = req.headers[i];
    if (!StartsWith(k, "x-ms-meta-")) continue;
    // Azure keeps the case a metadata name was sent in.
    std::string name = i < req.header_names.size() ? req.header_names[i].substr(10) : k.substr(10);
    if (name.empty()) {
      *err = AzError::kEmptyMetadataKey;
      return false;
    }
    // C# identifier rules, as Azure enforces.
    bool ok = std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_';
    for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok) {
      *err = AzError::kInvalidMetadata;
      return false;
    }
    out->emplace_back(name, v);
    size += name.size() + v.size();
  }
  // Azure: all names and values together at most 8 KiB.
  if (size > kMaxMetadataBytes) {
    *err = AzError::kMetadataTooLarge;
    return false;
  }
  return true;
}

void SetMetadataHeaders(http::Response& r, const ns::Metadata& m) {
  for (const auto& [k, v] : m) r.Set("x-ms-meta-" + k, v);
}

http::Response ReplaceRefused() {
  return ErrorResponse(AzError::kAuthorizationPermissionMismatch,
                       "The blob exists; replacing it needs the write (w) permission, and the "
                       "shared access signature grants only create (c).");
}

std::optional<AzError> CheckBlobLeaseForWrite(const Ctx& ctx, const ns::Lease& lease) {
  auto id = ctx.H("x-ms-lease-id");
  bool held = lease.Held(ctx.now);
  if (held) {
    if (!id) return AzError::kLeaseIdMissing;
    if (!lease.Is(*id)) return AzError::kLeaseIdMismatchWithBlobOperation;
    return std::nullopt;
  }
  if (id) return AzError::kLeaseNotPresentWithBlobOperation;
  return std::nullopt;
}

std::optional<http::Response> CheckWriteConditions(const Ctx& ctx, bool exists,
                                                   const ns::BlobRecord& rec, bool creates) {
  Conditions c = ParseConditions(*ctx.req);
  if (!c.any()) return std::nullopt;
  if (creates && exists && c.if_none_match && Trim(*c.if_none_match) == "*")
    return ErrorResponse(AzError::kBlobAlreadyExists);
  CondOutcome o = Evaluate(c, exists, rec.etag, rec.last_modified, false);
  if (o != CondOutcome::kOk) return ErrorResponse(AzError::kConditionNotMet);
  return std::nullopt;
}

std::string BodyCrc64(const Ctx& ctx) {
  // No body was read (and hashed) for an empty one: its CRC-64 is 0.
  return Crc64Bytes(ctx.req->body_crc64.value_or(0));
}

std::optional<AzError> CheckContentCrc64(const Ctx& ctx) {
  const std::string* h = ctx.req->FindHeader("x-ms-content-crc64");
  if (!h) return std::nullopt;
  if (ctx.req->FindHeader("content-md5")) return AzError::kInvalidHeaderValue;  // one or the other
  auto raw = Base64Decode(*h);
  if (!raw || raw->size() != 8) return AzError::kInvalidHeaderValue;
  if (*raw != BodyCrc64(ctx)) return AzError::kCrc64Mismatch;
  return std::nullopt;
}

bool ServiceVersionHasCrc64(const http::Request& req) {
  const std::string* v = req.FindHeader("x-ms-version");
  std::string_view version = v ? std::string_view(*v) : std::string_view();
  if (!v) {
    // A SAS request without the header is served at the SAS's version.
    if (const std::string_view* sv = req.FindQuery("sv")) version = *sv;
  }
  return version >= "2019-02-02";
}

bool ServiceVersionAtLeast(const http::Request& req, std::string_view at_least) {
  const std::string* v = req.FindHeader("x-ms-version");
  std::string_view version = v ? std::string_view(*v) : std::string_view();
  if (!v) {
    // A SAS request without the header is served at the SAS's version.
    if (const std::string_view* sv = req.FindQuery("sv")) version = *sv;
  }
  return version >= at_least;
}

bool AnswersWithCrc64(const http::Request& req) {
  return !req.FindHeader("content-md5") && ServiceVersionHasCrc64(req);
}

void SetBodyDigest(const Ctx& ctx, http::Response& r) {
  if (AnswersWithCrc64(*ctx.req)) {
    r.Set("x-ms-content-crc64", Base64Encode(BodyCrc64(ctx)));
  } else {
    r.Set("Content-MD5", Base64Encode(ctx.req->body_md5.empty() ? Md5("") : ctx.req->body_md5));
  }
}

std::optional<AzError> CheckContentMd5(const Ctx& ctx) {
  auto h = ctx.H("content-md5");
  if (!h) return std::nullopt;
  auto raw = Base64Decode(*h);
  if (!raw || raw->size() != 16) return AzError::kInvalidMd5;
  if (!ctx.req->body_md5.empty() && *raw != ctx.req->body_md5) return AzError::kMd5Mismatch;
  return std::nullopt;
}

}  // namespace strata::api
