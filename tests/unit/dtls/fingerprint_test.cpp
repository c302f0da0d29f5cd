#include "dtls/fingerprint.hpp"

#include "dtls/errc.hpp"

#include <gtest/gtest.h>

namespace posthorn::dtls {
namespace {

// SHA-256("abc"), FIPS 180-2 Appendix B.1.
constexpr const char* kAbcSha256 = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:"
                                   "B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD";

TEST(DtlsFingerprint, ComputesUppercaseColonSeparatedDigests) {
  EXPECT_EQ(compute_fingerprint(as_bytes("abc"), FingerprintAlgorithm::Sha256), kAbcSha256);
  // SHA-1("abc"), FIPS 180-2 Appendix A.1.
  EXPECT_EQ(compute_fingerprint(as_bytes("abc"), FingerprintAlgorithm::Sha1),
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D");
  EXPECT_EQ(compute_fingerprint(as_bytes("abc"), FingerprintAlgorithm::Sha384).substr(0, 11),
            "CB:00:75:3F");
  EXPECT_EQ(compute_fingerprint(as_bytes("abc"), FingerprintAlgorithm::Sha512).substr(0, 11),
            "DD:AF:35:A1");
}

TEST(DtlsFingerprint, ParsesTheSdpAttributeValue) {
  auto fp = Fingerprint::parse(std::string("sha-256 ") + kAbcSha256);
  ASSERT_TRUE(fp) << fp.error().message();
  EXPECT_EQ(fp->algorithm, FingerprintAlgorithm::Sha256);
  EXPECT_EQ(fp->value, kAbcSha256);
  EXPECT_EQ(fp->to_string(), std::string("sha-256 ") + kAbcSha256);
  auto digest = fp->digest();
  ASSERT_TRUE(digest);
  EXPECT_EQ(digest->size(), 32u);
  EXPECT_EQ(digest->front(), 0xBA);
}

TEST(DtlsFingerprint, ParsingNormalisesCaseAndToleratesBlanks) {
  std::string lower = kAbcSha256;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto fp = Fingerprint::parse("  SHA-256\t" + lower + "\r");
  ASSERT_TRUE(fp) << fp.error().message();
  EXPECT_EQ(fp->value, kAbcSha256);
}

TEST(DtlsFingerprint, RejectsMalformedValues) {
  const std::string good = kAbcSha256;
  for (const std::string& bad : {
           std::string("sha-256"),                // no value
           "sha-256 " + good.substr(0, 92),       // one byte short
           "sha-256 " + good + ":00",             // one byte long
           "sha-256 " + good.substr(0, 94) + "G", // not hex
           "sha-1 " + good,                       // wrong length for the hash
           "sha-256 " + std::string(95, ':'),     // no digits
       }) {
    auto fp = Fingerprint::parse(bad);
    ASSERT_FALSE(fp) << bad;
    EXPECT_EQ(fp.error(), Errc::MalformedFingerprint) << bad;
  }
  std::string no_colons = good;
  std::erase(no_colons, ':');
  EXPECT_FALSE(Fingerprint::parse("sha-256 " + no_colons));
}

TEST(DtlsFingerprint, RejectsUnsupportedHashFunctions) {
  auto md5 = Fingerprint::parse("md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
  ASSERT_FALSE(md5);
  EXPECT_EQ(md5.error(), Errc::UnsupportedHashFunction);
  EXPECT_EQ(md5.error(), Condition::Unsupported);
  EXPECT_FALSE(parse_fingerprint_algorithm("sha-224"));
  EXPECT_FALSE(parse_fingerprint_algorithm(""));
}

TEST(DtlsFingerprint, AlgorithmNamesRoundTrip) {
  for (auto a : {FingerprintAlgorithm::Sha1, FingerprintAlgorithm::Sha256,
                 FingerprintAlgorithm::Sha384, FingerprintAlgorithm::Sha512}) {
    EXPECT_EQ(parse_fingerprint_algorithm(to_string(a)), a);
  }
  EXPECT_EQ(to_string(FingerprintAlgorithm::Sha256), "sha-256");
  EXPECT_EQ(parse_fingerprint_algorithm("SHA-384"), FingerprintAlgorithm::Sha384);
  EXPECT_EQ(digest_size(FingerprintAlgorithm::Sha1), 20u);
  EXPECT_EQ(digest_size(FingerprintAlgorithm::Sha512), 64u);
}

TEST(DtlsFingerprint, EqualityIgnoresHexCaseButNotAlgorithmOrDigest) {
  std::string lower = kAbcSha256;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const Fingerprint a{FingerprintAlgorithm::Sha256, kAbcSha256};
  EXPECT_TRUE(fingerprints_equal(a, {FingerprintAlgorithm::Sha256, lower}));
  EXPECT_FALSE(fingerprints_equal(a, {FingerprintAlgorithm::Sha512, kAbcSha256}));
  std::string other = kAbcSha256;
  other[0] = 'C';
  EXPECT_FALSE(fingerprints_equal(a, {FingerprintAlgorithm::Sha256, other}));
  const Fingerprint junk{FingerprintAlgorithm::Sha256, "not a fingerprint"};
  EXPECT_FALSE(fingerprints_equal(junk, junk)) << "malformed values equal nothing";
}

TEST(DtlsFingerprint, MatchesTheCertificateItWasComputedFrom) {
  const Bytes der = to_bytes("pretend this is DER");
  for (auto alg : {FingerprintAlgorithm::Sha1, FingerprintAlgorithm::Sha256,
                   FingerprintAlgorithm::Sha384, FingerprintAlgorithm::Sha512}) {
    Fingerprint fp{alg, compute_fingerprint(der, alg)};
    EXPECT_TRUE(fingerprint_matches(fp, der)) << to_string(alg);
    EXPECT_FALSE(fingerprint_matches(fp, to_bytes("other DER"))) << to_string(alg);
  }
  EXPECT_FALSE(fingerprint_matches({FingerprintAlgorithm::Sha256, "zz"}, der));
}

TEST(DtlsFingerprint, FormatsDigests) {
  EXPECT_EQ(format_fingerprint(Bytes{0xAB, 0x01, 0x00}), "AB:01:00");
  EXPECT_EQ(format_fingerprint({}), "");
}

} // namespace
} // namespace posthorn::dtls
