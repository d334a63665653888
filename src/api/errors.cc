#include "api/errors.h"

#include <cstdio>

#include "common/strings.h"

namespace strata::api {

namespace {
struct Row {
  AzError e;
  AzErrorInfo info;
};

// clang-format off
const Row kTable[] = {
  {AzError::kAuthenticationFailed, {403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of the Authorization header is formed correctly including the signature."}},
  {AzError::kAuthorizationPermissionMismatch, {403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission."}},
  {AzError::kAuthorizationResourceTypeMismatch, {403, "AuthorizationResourceTypeMismatch", "This request is not authorized to perform this operation using this resource type."}},
  {AzError::kAuthorizationSourceIPMismatch, {403, "AuthorizationSourceIPMismatch", "This request is not authorized to perform this operation using this source IP."}},
  {AzError::kAuthorizationProtocolMismatch, {403, "AuthorizationProtocolMismatch", "This request is not authorized to perform this operation using this protocol."}},
  {AzError::kAuthorizationServiceMismatch, {403, "AuthorizationServiceMismatch", "This request is not authorized to perform this operation using this service."}},
  {AzError::kAuthorizationFailure, {403, "AuthorizationFailure", "This request is not authorized to perform this operation."}},
  {AzError::kInvalidAuthenticationInfo, {401, "InvalidAuthenticationInfo", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."}},
  {AzError::kNoAuthenticationInformation, {401, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."}},
  {AzError::kResourceNotFound, {404, "ResourceNotFound", "The specified resource does not exist."}},
  {AzError::kAccountNotFound, {404, "ResourceNotFound", "The specified account does not exist."}},
  {AzError::kContainerNotFound, {404, "ContainerNotFound", "The specified container does not exist."}},
  {AzError::kContainerAlreadyExists, {409, "ContainerAlreadyExists", "The specified container already exists."}},
  {AzError::kContainerBeingDeleted, {409, "ContainerBeingDeleted", "The specified container is being deleted."}},
  {AzError::kBlobNotFound, {404, "BlobNotFound", "The specified blob does not exist."}},
  {AzError::kBlobAlreadyExists, {409, "BlobAlreadyExists", "The specified blob already exists."}},
  {AzError::kInvalidResourceName, {400, "InvalidResourceName", "The specified resource name contains invalid characters."}},
  {AzError::kInvalidBlobOrBlock, {400, "InvalidBlobOrBlock", "The specified blob or block content is invalid."}},
  {AzError::kInvalidBlockId, {400, "InvalidBlockId", "The specified block ID is invalid. The block ID must be Base64-encoded."}},
  {AzError::kInvalidBlockList, {400, "InvalidBlockList", "The specified block list is invalid."}},
  {AzError::kInvalidXmlDocument, {400, "InvalidXmlDocument", "XML specified is not syntactically valid."}},
  {AzError::kInvalidXmlNodeValue, {400, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct format."}},
  {AzError::kInvalidQueryParameterValue, {400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid."}},
  {AzError::kOutOfRangeQueryParameterValue, {400, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range."}},
  {AzError::kInvalidHeaderValue, {400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format."}},
  {AzError::kMissingRequiredHeader, {400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified."}},
  {AzError::kMissingRequiredQueryParameter, {400, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified."}},
  {AzError::kInvalidInput, {400, "InvalidInput", "One of the request inputs is not valid."}},
  {AzError::kInvalidRange, {416, "InvalidRange", "The range specified is invalid for the current size of the resource."}},
  {AzError::kOutOfRangeInput, {400, "OutOfRangeInput", "One of the request inputs is out of range."}},
  {AzError::kMd5Mismatch, {400, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server."}},
  {AzError::kCrc64Mismatch, {400, "Crc64Mismatch", "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server."}},
  {AzError::kInvalidMd5, {400, "InvalidMd5", "The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded."}},
  {AzError::kRequestBodyTooLarge, {413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit."}},
  {AzError::kRequestHeaderTooLarge, {400, "RequestHeaderTooLarge", "The size of the request header exceeds the maximum permissible limit."}},
  {AzError::kUnsupportedHeader, {400, "UnsupportedHeader", "One of the HTTP headers specified in the request is not supported."}},
  {AzError::kTransferEncodingNotImplemented, {501, "NotImplemented", "The requested Transfer-Encoding is not implemented."}},
  {AzError::kUnsupportedQueryParameter, {400, "UnsupportedQueryParameter", "One of the query parameters specified in the request URI is not supported."}},
  {AzError::kUnsupportedHttpVerb, {405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb."}},
  {AzError::kInvalidUri, {400, "InvalidUri", "The requested URI does not represent any resource on the server."}},
  {AzError::kConditionNotMet, {412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."}},
  {AzError::kTargetConditionNotMet, {412, "TargetConditionNotMet", "The target condition specified using HTTP conditional header(s) is not met."}},
  {AzError::kSourceConditionNotMet, {412, "SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met."}},
  {AzError::kInvalidBlobType, {409, "InvalidBlobType", "The blob type is invalid for this operation."}},
  {AzError::kAppendPositionConditionNotMet, {412, "AppendPositionConditionNotMet", "The append position condition specified was not met."}},
  {AzError::kBlobIsSealed, {409, "BlobIsSealed", "The specified blob is sealed, and its contents can't be modified unless the blob is re-created after a delete."}},
  {AzError::kMaxBlobSizeConditionNotMet, {412, "MaxBlobSizeConditionNotMet", "The max blob size condition specified was not met."}},
  {AzError::kBlockCountExceedsLimit, {409, "BlockCountExceedsLimit", "The committed block count cannot exceed the maximum limit of 50,000 blocks."}},
  {AzError::kUncommittedBlockCountExceedsLimit, {409, "BlockCountExceedsLimit", "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks."}},
  {AzError::kLeaseNotPresentWithBlobOperation, {412, "LeaseNotPresentWithBlobOperation", "There is currently no lease on the blob."}},
  {AzError::kLeaseNotPresentWithContainerOperation, {412, "LeaseNotPresentWithContainerOperation", "There is currently no lease on the container."}},
  {AzError::kLeaseNotPresentWithLeaseOperation, {409, "LeaseNotPresentWithLeaseOperation", "There is currently no lease on the blob."}},
  {AzError::kLeaseIdMismatchWithBlobOperation, {412, "LeaseIdMismatchWithBlobOperation", "The lease ID specified did not match the lease ID for the blob."}},
  {AzError::kLeaseIdMismatchWithContainerOperation, {412, "LeaseIdMismatchWithContainerOperation", "The lease ID specified did not match the lease ID for the container."}},
  {AzError::kLeaseIdMismatchWithLeaseOperation, {409, "LeaseIdMismatchWithLeaseOperation", "The lease ID specified did not match the lease ID for the blob."}},
  {AzError::kLeaseIdMissing, {412, "LeaseIdMissing", "There is currently a lease on the resource and no lease ID was specified in the request."}},
  {AzError::kLeaseAlreadyPresent, {409, "LeaseAlreadyPresent", "There is already a lease present."}},
  {AzError::kLeaseAlreadyBroken, {409, "LeaseAlreadyBroken", "The lease has already been broken and cannot be broken again."}},
  {AzError::kLeaseIsBrokenAndCannotBeRenewed, {409, "LeaseIsBrokenAndCannotBeRenewed", "The lease ID matched, but the lease has been broken explicitly and cannot be renewed."}},
  {AzError::kLeaseIsBreakingAndCannotBeAcquired, {409, "LeaseIsBreakingAndCannotBeAcquired", "The lease ID matched, but the lease is currently in breaking state and cannot be acquired until it is broken."}},
  {AzError::kLeaseIsBreakingAndCannotBeChanged, {409, "LeaseIsBreakingAndCannotBeChanged", "The lease ID matched, but the lease is currently in breaking state and cannot be changed."}},
  {AzError::kLeaseLost, {412, "LeaseLost", "A lease ID was specified, but the lease for the blob has expired."}},
  {AzError::kCannotVerifyCopySource, {403, "CannotVerifyCopySource", "This request is not authorized to perform this operation on the copy source."}},
  {AzError::kPathConflict, {409, "PathConflict", "The specified path, or an element of the path, exists and its resource type is invalid for this operation."}},
  {AzError::kInsufficientAccountPermissions, {403, "InsufficientAccountPermissions", "The account being accessed does not have sufficient permissions to execute this operation."}},
  {AzError::kShareSizeLimitReached, {403, "ShareSizeLimitReached", "The specified container is full: a write would exceed its configured size or file limit."}},
  {AzError::kInternalError, {500, "InternalError", "The server encountered an internal error. Please retry the request."}},
  {AzError::kServerBusy, {503, "ServerBusy", "The server is currently unable to receive requests. Please retry your request."}},
  {AzError::kBlobArchived, {409, "BlobArchived", "This operation is not permitted on an archived blob."}},
  {AzError::kBlobBeingRehydrated, {409, "BlobBeingRehydrated", "This operation is not permitted because the blob is being rehydrated."}},
  {AzError::kOperationTimedOut, {500, "OperationTimedOut", "The operation could not be completed within the permitted time."}},
  {AzError::kInvalidOperation, {400, "InvalidOperation", "Invalid operation against a blob snapshot or resource."}},
  {AzError::kEmptyMetadataKey, {400, "EmptyMetadataKey", "The key for one of the metadata key-value pairs is empty."}},
  {AzError::kInvalidMetadata, {400, "InvalidMetadata", "The metadata specified is invalid. It has characters that are not permitted."}},
  {AzError::kNoPendingCopyOperation, {409, "NoPendingCopyOperation", "There is currently no pending copy operation."}},
  {AzError::kPendingCopyOperation, {409, "PendingCopyOperation", "There is currently a pending copy operation."}},
  {AzError::kCopyIdMismatch, {409, "CopyIdMismatch", "The specified copy ID did not match the copy ID for the pending copy operation."}},
  {AzError::kCorsPreflightFailure, {403, "CorsPreflightFailure", "CORS not enabled or no matching rule found for this request."}},
  {AzError::kContentLengthMismatch, {400, "InvalidInput", "The body length does not match Content-Length."}},
  {AzError::kMetadataTooLarge, {400, "MetadataTooLarge", "The size of the specified metadata exceeds the maximum size permitted."}},
  {AzError::kUnsatisfiableCondition, {400, "UnsatisfiableCondition", "The request includes an unsatisfiable condition for this operation."}},
  {AzError::kResourceNameOutOfRange, {400, "OutOfRangeInput", "The specified resource name length is not within the permissible limits."}},
};
// clang-format on
}  // namespace

const AzErrorInfo& Info(AzError e) {
  for (const auto& row : kTable)
    if (row.e == e) return row.info;
  return kTable[0].info;  // unreachable: every AzError has a row (errors_test checks)
}

namespace {
// `extra`: elements after </Message>, already escaped.
http::Response Build(AzError e, const std::string& detail, const std::string& extra) {
  const AzErrorInfo& info = Info(e);
  http::Response r;
  r.status = info.status;
  r.Set("x-ms-error-code", info.code);
  r.note.error_code = info.code;  // for the access log and metrics
  r.Set("Content-Type", "application/xml");
  std::string msg = info.message;
  if (std::string d = ClientDetail(info.status, detail); !d.empty()) msg += " " + d;
  r.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + std::string(info.code) +
           "</Code><Message>" + XmlEscape(msg) + "</Message>";
  if ((info.status == 403 || e == AzError::kInvalidAuthenticationInfo) && !detail.empty())
    r.body += "<AuthenticationErrorDetail>" + XmlEscape(detail) + "</AuthenticationErrorDetail>";
  r.body += extra;
  r.body += "</Error>";
  return r;
}

void AppendElement(std::string* out, std::string_view name, std::string_view value) {
  out->append("<").append(name).append(">");
  AppendXmlEscaped(*out, value);
  out->append("</").append(name).append(">");
}
}  // namespace

http::Response ErrorResponse(AzError e, const std::string& detail) { return Build(e, detail, ""); }

http::Response HeaderError(AzError e, const http::Request& req, std::string_view header,
                           const std::string& detail) {
  std::string extra;
  AppendElement(&extra, "HeaderName", header);
  if (const std::string* v = req.FindHeader(ToLower(header))) AppendElement(&extra, "HeaderValue", *v);
  return Build(e, detail, extra);
}

http::Response QueryError(AzError e, const http::Request& req, std::string_view param,
                          std::string_view reason) {
  std::string extra;
  AppendElement(&extra, "QueryParameterName", param);
  if (const std::string_view* v = req.FindQuery(param)) AppendElement(&extra, "QueryParameterValue", *v);
  if (!reason.empty()) AppendElement(&extra, "Reason", reason);
  return Build(e, "", extra);
}

http::Response UnknownOperationError(const http::Request& req, std::string_view param) {
  std::string extra;
  AppendElement(&extra, "QueryParameterName", param);
  const std::string_view* v = req.FindQuery(param);
  AppendElement(&extra, "QueryParameterValue", v ? *v : std::string_view());
  AppendElement(&extra, "Reason", "");
  return Build(AzError::kInvalidQueryParameterValue, "", extra);
}

void AddRequestLines(http::Response& r, std::string_view request_id, TimeNs now) {
  if (r.status < 400 || r.body.empty()) return;
  std::string time = FormatIso8601(now);
  if (r.body.front() == '{') {  // dfs: {"error":{"code":"..","message":".."}}
    size_t end = r.body.rfind("\"}}");
    if (end == std::string::npos) return;
    std::string lines;
    lines.append("\\nRequestId:").append(request_id).append("\\nTime:").append(time);
    r.body.insert(end, lines);
    return;
  }
  size_t end = r.body.find("</Message>");
  if (end == std::string::npos) return;
  std::string lines;
  lines.append("\nRequestId:").append(request_id).append("\nTime:").append(time);
  r.body.insert(end, lines);
}

std::string PublicDetail(const Status& s) {
  if (s.kind() == ErrorKind::kInvalidName || s.kind() == ErrorKind::kQuotaExceeded)
    return s.message();
  // Only what the server failed at is logged (the 5xx answers); a missing
  // blob or a conflict is the client's business and would flood the log.
  if (!s.ok() && Info(FromStatus(s, true)).status >= 500)
    std::fprintf(stderr, "strata: request failed: %s\n", s.ToString().c_str());
  return "";
}

std::string ClientDetail(int status, const std::string& detail) {
  if (status < 500) return detail;
  if (!detail.empty()) std::fprintf(stderr, "strata: server error: %s\n", detail.c_str());
  return "";
}

AzError FromStatus(const Status& s, bool blob_request) {
  switch (s.kind()) {
    case ErrorKind::kNotFound: return blob_request ? AzError::kBlobNotFound : AzError::kContainerNotFound;
    case ErrorKind::kContainerNotFound: return AzError::kContainerNotFound;
    case ErrorKind::kAlreadyExists:
      return blob_request ? AzError::kBlobAlreadyExists : AzError::kContainerAlreadyExists;
    case ErrorKind::kPathConflict:
    case ErrorKind::kIsDirectory: return AzError::kPathConflict;
    case ErrorKind::kInvalidName: return blob_request ? AzError::kInvalidResourceName : AzError::kInvalidResourceName;
    case ErrorKind::kInvalidArgument: return AzError::kInvalidInput;
    case ErrorKind::kNoSpace: return AzError::kInternalError;
    case ErrorKind::kTooLarge: return AzError::kRequestBodyTooLarge;
    case ErrorKind::kBusy: return AzError::kServerBusy;
    case ErrorKind::kPermission: return AzError::kInsufficientAccountPermissions;
    case ErrorKind::kQuotaExceeded: return AzError::kShareSizeLimitReached;
    default: return AzError::kInternalError;
  }
}

}  // namespace strata::api
