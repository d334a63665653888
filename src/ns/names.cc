#include "ns/names.h"

#include <cstdint>

namespace strata::ns {

Status ValidateContainerName(std::string_view name) {
  if (name == "$root" || name == "$logs" || name == "$web") return Status::Ok();
  if (name.size() < 3 || name.size() > 63)
    return Status(ErrorKind::kInvalidName, "container name must be 3 to 63 characters long");
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-')
      return Status(ErrorKind::kInvalidName,
                    "container name may hold only lowercase letters, digits and hyphens");
    if (c == '-' && (i == 0 || i + 1 == name.size() || name[i - 1] == '-'))
      return Status(ErrorKind::kInvalidName,
                    "container name must start and end with a letter or digit and must not "
                    "hold consecutive hyphens");
  }
  return Status::Ok();
}

namespace {
// Characters of a UTF-8 string: the bytes that do not continue a sequence.
size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

bool ContainerNameLengthOutOfRange(std::string_view name) {
  if (name == "$root" || name == "$logs" || name == "$web") return false;
  return name.size() < 3 || name.size() > 63;
}

bool BlobNameTooLong(std::string_view name) { return Utf8Length(name) > 1024; }

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte first, or 0xF8..0xFF
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void NormalizeBlobName(std::string* name) {
  for (size_t i = name->find('\\'); i != std::string::npos; i = name->find('\\', i + 1))
    (*name)[i] = '/';
}

Status ValidateBlobName(std::string_view name) {
  if (name.empty() || Utf8Length(name) > 1024)
    return Status(ErrorKind::kInvalidName, "blob name must be 1 to 1024 characters long");
  if (name.find('\0') != std::string_view::npos)
    return Status(ErrorKind::kInvalidName, "blob name must not contain NUL");
  if (!IsValidUtf8(name)) return Status(ErrorKind::kInvalidName, "blob name is not valid UTF-8");
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view seg = name.substr(start, slash == std::string_view::npos ? slash
                                                                               : slash - start);
    if (seg.empty())
      return Status(ErrorKind::kInvalidName,
                    "blob name has an empty path segment (leading, trailing or doubled '/')");
    if (seg == "." || seg == "..")
      return Status(ErrorKind::kInvalidName, "blob name has a '.' or '..' path segment");
    if (seg.size() > 255)
      return Status(ErrorKind::kInvalidName, "blob name has a path segment longer than 255 bytes");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

}  // namespace strata::ns
