// Parsing of the remote's List Blobs pages (see remote_list.h).

#include "tier/remote_list.h"

#include <pugixml.hpp>

#include "common/clock.h"
#include "common/strings.h"

namespace strata::tier {

namespace {

Status Bad(const std::string& why) {
  return Status(ErrorKind::kIo, "List Blobs: malformed response: " + why);
}

// A <Name> element's text, percent-decoded when Encoded="true".
Result<std::string> NameOf(pugi::xml_node parent) {
  pugi::xml_node n = parent.child("Name");
  if (!n) return Bad("an entry without a Name");
  std::string text = n.text().get();
  if (n.attribute("Encoded").as_bool()) {
    auto decoded = UrlDecode(text);
    if (!decoded) return Bad("an encoded name with a bad escape");
    text = std::move(*decoded);
  }
  if (text.empty()) return Bad("an empty name");
  return text;
}

std::string Text(pugi::xml_node parent, const char* name) {
  return parent.child(name).text().get();
}

Result<RemoteProps> PropsOf(pugi::xml_node blob) {
  RemoteProps p;
  pugi::xml_node props = blob.child("Properties");
  if (props) {
    std::string len = Text(props, "Content-Length");
    if (!len.empty()) {
      auto v = ParseUint(len);
      if (!v) return Bad("Content-Length '" + len.substr(0, 32) + "'");
      p.size = *v;
    }
    p.etag = Text(props, "Etag");
    if (p.etag.size() >= 2 && p.etag.front() == '"' && p.etag.back() == '"') {
      p.etag = p.etag.substr(1, p.etag.size() - 2);
    }
    std::string modified = Text(props, "Last-Modified");
    if (!modified.empty()) {
      auto t = ParseHttpDate(modified);
      if (!t) return Bad("Last-Modified '" + modified.substr(0, 40) + "'");
      p.last_modified_ns = *t;
    }
    std::string md5 = Text(props, "Content-MD5");
    if (!md5.empty()) {
      auto raw = Base64Decode(md5);
      if (raw && raw->size() == 16) p.content_md5 = std::move(*raw);
    }
    p.content_type = Text(props, "Content-Type");
    p.content_encoding = Text(props, "Content-Encoding");
    p.content_language = Text(props, "Content-Language");
    p.content_disposition = Text(props, "Content-Disposition");
    p.cache_control = Text(props, "Cache-Control");
    p.blob_type = Text(props, "BlobType");
    p.access_tier = Text(props, "AccessTier");
    p.archive_status = Text(props, "ArchiveStatus");
  }
  for (pugi::xml_node m : blob.child("Metadata").children()) {
    if (m.type() != pugi::node_element) continue;
    std::string key = m.name();
    if (key == "x-ms-invalid-name") continue;
    p.metadata.emplace_back(std::move(key), m.text().get());
  }
  return p;
}

}  // namespace

Result<RemoteListing> ParseListBlobs(std::string_view xml) {
  if (xml.size() > kMaxListBody) return Bad("larger than 64 MiB");
  pugi::xml_document doc;
  // No DOCTYPE, no entity expansion beyond XML's five and character
  // references (pugixml has none). Text is kept byte for byte: no line-end
  // normalisation (a name may hold a CR), no trimming, and a name of
  // spaces alone is a name.
  pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(),
                      (pugi::parse_default & ~pugi::parse_eol) | pugi::parse_ws_pcdata,
                      pugi::encoding_utf8);
  if (!parsed) return Bad(std::string("not XML (") + parsed.description() + ")");
  pugi::xml_node root = doc.child("EnumerationResults");
  if (!root) return Bad("no EnumerationResults");
  RemoteListing out;
  for (pugi::xml_node e : root.child("Blobs").children()) {
    if (e.type() != pugi::node_element) continue;
    std::string_view kind = e.name();
    if (kind == "Blob") {
      auto name = NameOf(e);
      if (!name.ok()) return name.status();
      auto props = PropsOf(e);
      if (!props.ok()) return props.status();
      out.blobs.emplace_back(std::move(*name), std::move(*props));
    } else if (kind == "BlobPrefix") {
      auto name = NameOf(e);
      if (!name.ok()) return name.status();
      out.prefixes.push_back(std::move(*name));
    }
  }
  out.next_marker = Text(root, "NextMarker");
  return out;
}

}  // namespace strata::tier
