#include "api/xml_bodies.h"

#include <pugixml.hpp>

#include "common/clock.h"
#include "common/strings.h"

namespace strata::api {

namespace {
constexpr size_t kMaxBlockIdBytes = 64;
constexpr size_t kMaxSignedIdentifiers = 5;
}  // namespace

std::optional<BodyError> ParseBlockList(std::string_view body, std::vector<BlockListEntry>* out) {
  out->clear();
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return BodyError{AzError::kInvalidXmlDocument, ""};
  pugi::xml_node root = doc.child("BlockList");
  if (!root)
    return BodyError{AzError::kInvalidXmlDocument, "The root element must be BlockList."};
  for (pugi::xml_node n : root.children()) {
    if (n.type() != pugi::node_element) continue;
    std::string tag = n.name();
    BlockListEntry::Kind kind;
    if (tag == "Latest") kind = BlockListEntry::kLatest;
    else if (tag == "Committed") kind = BlockListEntry::kCommitted;
    else if (tag == "Uncommitted") kind = BlockListEntry::kUncommitted;
    else return BodyError{AzError::kInvalidXmlDocument, "Unexpected element " + tag + "."};
    auto id = Base64Decode(std::string(Trim(n.child_value())));
    // Azure answers an id that is not Base64 (or too long) as a block
    // it cannot find.
    if (!id || id->empty() || id->size() > kMaxBlockIdBytes)
      return BodyError{AzError::kInvalidBlockList,
                       "A block id is not valid Base64 of 1 to 64 bytes."};
    out->push_back({kind, std::move(*id)});
  }
  return std::nullopt;
}

std::optional<BodyError> ParseSignedIdentifiers(std::string_view body,
                                                std::vector<ns::SignedIdentifier>* out) {
  out->clear();
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return BodyError{AzError::kInvalidXmlDocument, ""};
  pugi::xml_node root = doc.child("SignedIdentifiers");
  if (!root) return BodyError{AzError::kInvalidXmlDocument, ""};
  for (pugi::xml_node si : root.children("SignedIdentifier")) {
    ns::SignedIdentifier s;
    s.id = si.child_value("Id");
    if (s.id.empty() || s.id.size() > 64)
      return BodyError{AzError::kInvalidXmlDocument,
                       "Signed identifier Id must be 1 to 64 characters."};
    pugi::xml_node ap = si.child("AccessPolicy");
    s.start = ap.child_value("Start");
    s.expiry = ap.child_value("Expiry");
    s.permission = ap.child_value("Permission");
    for (const std::string* t : {&s.start, &s.expiry})
      if (!t->empty() && !ParseIso8601(*t)) return BodyError{AzError::kInvalidXmlDocument, ""};
    out->push_back(std::move(s));
  }
  if (out->size() > kMaxSignedIdentifiers)
    return BodyError{AzError::kInvalidXmlDocument, "At most 5 signed identifiers are allowed."};
  return std::nullopt;
}

}  // namespace strata::api
