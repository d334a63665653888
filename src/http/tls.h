// TLS for the HTTP server: the server's certificate, key and settings (one
// OpenSSL SSL_CTX, shared by every TLS connection), and the small pure
// decisions the handshake makes. Knows nothing of Azure.
//
// Settings: TLS 1.2 and 1.3 only; the server's cipher preference, ECDHE
// (or TLS 1.3) key exchange with AES-GCM or ChaCha20-Poly1305 only; no
// renegotiation; session resumption by tickets and by the server's session
// cache; ALPN "http/1.1" only (a client that offers ALPN without it gets the
// fatal no_application_protocol alert, RFC 7301 3.2; one that offers none
// is served HTTP/1.1).
//
// Threading: a loaded TlsContext is immutable; connections on any thread
// share it (OpenSSL locks its session cache itself).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace strata::http {

class TlsContext {
 public:
  // Loads a PEM certificate chain (the server's certificate first, then
  // any intermediates) and its PEM private key. Fails, with a message that
  // names the file and the reason, when a file cannot be read, holds no
  // certificate or key, or the key does not belong to the certificate.
  static Result<std::shared_ptr<TlsContext>> Load(const std::string& cert_file,
                                                  const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// What the first byte a client sends on a TLS listener says it speaks.
enum class FirstByte {
  kTls,        // 0x16: a TLS handshake record (ClientHello)
  kPlainHttp,  // an upper-case letter: the start of an HTTP method
  kOther,      // anything else (SSLv2, garbage): the connection is closed
};
FirstByte ClassifyFirstByte(unsigned char b);

// ALPN: the protocol the server picks from a client's list (the wire form:
// each name preceded by its length byte). "http/1.1" when offered; nullopt
// when not offered or the list is malformed.
std::optional<std::string_view> SelectAlpn(std::string_view client_list);

}  // namespace strata::http
