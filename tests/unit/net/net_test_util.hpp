#pragma once
// Helpers for the transport tests: drive an io_context until a coroutine finishes (with a
// deadline that fails the test instead of hanging), and a throwaway self-signed certificate for
// 127.0.0.1 written to a temporary PEM file the client can trust.

#include "core/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <unistd.h>

namespace posthorn::net::test {

using namespace std::chrono_literals;

/// Runs `io` until `done()` or `timeout`; false (and a test failure naming `label`) on timeout.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout, const char* label) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "timed out waiting for: " << label;
      return false;
    }
    if (io.stopped()) io.restart();
    io.run_one_for(20ms);
  }
  return true;
}

/// Spawns `op` and runs the loop until it returns; its value, or nullopt on timeout.
template <class T>
std::optional<T> run_coro(boost::asio::io_context& io, boost::asio::awaitable<T> op,
                          std::chrono::milliseconds timeout = 10s,
                          const char* label = "coroutine") {
  auto out = std::make_shared<std::optional<T>>();
  boost::asio::co_spawn(io, std::move(op), [out](std::exception_ptr e, T value) {
    if (e) {
      ADD_FAILURE() << "coroutine threw";
      return;
    }
    out->emplace(std::move(value));
  });
  if (!run_until(
          io, [&] { return out->has_value(); }, timeout, label))
    return std::nullopt;
  return std::move(*out);
}

/// A self-signed ECDSA P-256 certificate that is its own CA, valid for the given SAN
/// ("IP:127.0.0.1", "DNS:localhost"), and a temporary PEM file holding it.
class TestCertificate {
public:
  explicit TestCertificate(const char* san = "IP:127.0.0.1") {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("posthorn test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                              std::pair{NID_key_usage, "critical,keyCertSign,digitalSignature"},
                              std::pair{NID_subject_alt_name, san}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(cert, key, EVP_sha256());
    cert_pem_ = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
    key_pem_ = to_pem([&](BIO* b) {
      return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
    X509_free(cert);
    EVP_PKEY_free(key);
    path_ = std::filesystem::temp_directory_path() /
            ("posthorn-test-ca-" + std::to_string(::getpid()) + "-" +
             std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".pem");
    std::ofstream(path_) << cert_pem_;
  }
  ~TestCertificate() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  [[nodiscard]] const std::string& cert_pem() const { return cert_pem_; }
  [[nodiscard]] const std::string& key_pem() const { return key_pem_; }
  [[nodiscard]] std::string ca_file() const { return path_.string(); }

private:
  template <class Write> static std::string to_pem(Write write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return out;
  }

  std::string cert_pem_, key_pem_;
  std::filesystem::path path_;
};

} // namespace posthorn::net::test
