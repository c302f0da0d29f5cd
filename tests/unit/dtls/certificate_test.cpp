#include "dtls/certificate.hpp"

#include "core/crypto.hpp"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <regex>

namespace posthorn::dtls {
namespace {

std::shared_ptr<const Certificate> generate() {
  auto c = Certificate::generate();
  EXPECT_TRUE(c) << c.error().message();
  return *c;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, X509Free> decode(ByteView der) {
  const unsigned char* p = der.data();
  return std::unique_ptr<X509, X509Free>(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

TEST(DtlsCertificate, Sha256FingerprintHasTheSdpFormat) {
  auto cert = generate();
  const std::string fp = cert->fingerprint_sha256();
  EXPECT_EQ(fp.size(), 95u); // 32 pairs + 31 colons
  EXPECT_TRUE(std::regex_match(fp, std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}"))) << fp;
}

TEST(DtlsCertificate, FingerprintIsTheSha256OfTheDer) {
  auto cert = generate();
  EXPECT_EQ(cert->fingerprint_sha256(), format_fingerprint(crypto::sha256(cert->der())));
  EXPECT_EQ(cert->fingerprint(FingerprintAlgorithm::Sha256).value, cert->fingerprint_sha256());
  EXPECT_EQ(cert->fingerprint(FingerprintAlgorithm::Sha1).value,
            format_fingerprint(crypto::sha1(cert->der())));
  EXPECT_EQ(cert->fingerprint(FingerprintAlgorithm::Sha384).value.size(), 48u * 3 - 1);
  EXPECT_EQ(cert->fingerprint(FingerprintAlgorithm::Sha512).value.size(), 64u * 3 - 1);
}

TEST(DtlsCertificate, IsASelfSignedP256CertificateNamedPosthorn) {
  auto cert = generate();
  auto x = decode(cert->der());
  ASSERT_TRUE(x);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x.get()), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "posthorn");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(x.get()), X509_get_issuer_name(x.get())), 0);
  EVP_PKEY* key = X509_get0_pubkey(x.get());
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key, "EC"));
  char group[32] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof group, &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_verify(x.get(), key), 1) << "signed by its own key";
  EXPECT_EQ(X509_get_signature_nid(x.get()), NID_ecdsa_with_SHA256);
}

TEST(DtlsCertificate, IsValidFromYesterdayForThirtyDays) {
  auto cert = generate();
  auto x = decode(cert->der());
  ASSERT_TRUE(x);
  const std::time_t now = std::time(nullptr);
  std::time_t t = now - 3600;
  EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(x.get()), &t), -1) << "valid an hour ago";
  t = now + 29 * 24 * 3600;
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(x.get()), &t), 1) << "valid in 29 days";
  t = now + 31 * 24 * 3600;
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(x.get()), &t), -1) << "expired in 31 days";
  const auto left = cert->expires_at() - std::chrono::system_clock::now();
  EXPECT_GT(left, std::chrono::hours(24 * 29));
  EXPECT_LT(left, std::chrono::hours(24 * 31));
}

TEST(DtlsCertificate, EachGenerationIsANewIdentity) {
  auto a = generate();
  auto b = generate();
  EXPECT_NE(a->fingerprint_sha256(), b->fingerprint_sha256());
  auto xa = decode(a->der());
  auto xb = decode(b->der());
  ASSERT_TRUE(xa && xb);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(xa.get()), X509_get0_serialNumber(xb.get())),
            0);
  EXPECT_EQ(a->fingerprint_sha256(), a->fingerprint_sha256()) << "stable for one certificate";
}

} // namespace
} // namespace posthorn::dtls
