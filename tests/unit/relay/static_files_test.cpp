// `posthorn relay --web DIR`: a request target names a file strictly inside DIR, or nothing.
#include "relay/static_files.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <unistd.h>

namespace posthorn::relay {
namespace {

namespace fs = std::filesystem;

/// A scratch tree: base/{web/{index.html, app.js, style.css, sub/{index.html, page.html},
/// .hidden, link-in → app.js, link-out → ../secret.txt, dir-out → ..}, secret.txt}.
class StaticFilesTest : public ::testing::Test {
protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("posthorn-static-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(std::random_device{}()));
    web_ = base_ / "web";
    fs::create_directories(web_ / "sub");
    write(web_ / "index.html", "<!doctype html>index");
    write(web_ / "app.js", "console.log(1)");
    write(web_ / "style.css", "body{}");
    write(web_ / "sub" / "index.html", "sub index");
    write(web_ / "sub" / "page.html", "sub page");
    write(web_ / "a b.txt", "spaced");
    write(web_ / ".hidden", "hidden");
    write(base_ / "secret.txt", "secret");
    fs::create_symlink("app.js", web_ / "link-in");
    fs::create_symlink("../secret.txt", web_ / "link-out");
    fs::create_symlink("..", web_ / "dir-out");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  }
  StaticResponse get(std::string_view target, StaticFilesLimits limits = {}) {
    return StaticFiles(web_, limits).respond("GET", target);
  }

  fs::path base_, web_;
};

TEST_F(StaticFilesTest, RootServesIndexHtml) {
  const auto r = get("/");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "<!doctype html>index");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.content_length, r.body.size());
}

TEST_F(StaticFilesTest, ServesFilesWithTheirContentTypes) {
  EXPECT_EQ(get("/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/app.js").body, "console.log(1)");
  EXPECT_EQ(get("/style.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(get("/sub/page.html").body, "sub page");
  EXPECT_EQ(get("/sub/").body, "sub index");
}

TEST_F(StaticFilesTest, KnowsTheContentTypesOfAPage) {
  EXPECT_EQ(content_type_for("a.json"), "application/json");
  EXPECT_EQ(content_type_for("app.js.map"), "application/json");
  EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("logo.PNG"), "image/png");
  EXPECT_EQ(content_type_for("favicon.ico"), "image/x-icon");
  EXPECT_EQ(content_type_for("peer.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("blob.bin"), "application/octet-stream");
  EXPECT_EQ(content_type_for("Makefile"), "application/octet-stream");
}

TEST_F(StaticFilesTest, IgnoresQueryAndDecodesPercentEncoding) {
  EXPECT_EQ(get("/?relay=ws://x&room=lobby").body, "<!doctype html>index");
  EXPECT_EQ(get("/app%2Ejs").body, "console.log(1)");
  EXPECT_EQ(get("/a%20b.txt").body, "spaced");
  EXPECT_EQ(get("//sub//page.html").body, "sub page"); // empty segments collapse
}

TEST_F(StaticFilesTest, HeadHasTheLengthButNoBody) {
  const auto r = StaticFiles(web_).respond("HEAD", "/app.js");
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.content_length, 14u);
}

TEST_F(StaticFilesTest, OtherMethodsAre405) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"})
    EXPECT_EQ(StaticFiles(web_).respond(method, "/").status, 405u) << method;
}

TEST_F(StaticFilesTest, MissingFilesAre404) {
  EXPECT_EQ(get("/missing.js").status, 404u);
  EXPECT_EQ(get("/sub/missing/").status, 404u);
  EXPECT_EQ(get("/app.js/").status, 404u); // a file is not a directory
}

TEST_F(StaticFilesTest, RefusesDotDotHoweverEncoded) {
  for (const char* target :
       {"/../secret.txt", "/sub/../../secret.txt", "/sub/../index.html", "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt", "/sub%2f..%2f..%2fsecret.txt", "/./index.html", "/.%2e/secret.txt"})
    EXPECT_EQ(get(target).status, 404u) << target;
}

TEST_F(StaticFilesTest, DoesNotDecodeTwice) {
  // "%252e%252e" is the literal name "%2e%2e", not "..".
  EXPECT_EQ(get("/%252e%252e/secret.txt").status, 404u);
}

TEST_F(StaticFilesTest, RefusesHiddenFiles) {
  EXPECT_EQ(get("/.hidden").status, 404u);
  EXPECT_EQ(get("/%2ehidden").status, 404u);
}

TEST_F(StaticFilesTest, RefusesSymlinksThatLeaveTheRoot) {
  EXPECT_EQ(get("/link-out").status, 404u);
  EXPECT_EQ(get("/dir-out/secret.txt").status, 404u);
  EXPECT_EQ(get("/link-in").body, "console.log(1)"); // a link that stays inside is fine
  // What counts is where the file is: out through a link and back in is still inside.
  EXPECT_EQ(get("/dir-out/web/index.html").status, 200u);
}

TEST_F(StaticFilesTest, RefusesNulControlBytesAndBackslashes) {
  EXPECT_EQ(get("/index.html%00.png").status, 400u);
  EXPECT_EQ(get(std::string_view("/index.html\0.png", 16)).status, 400u);
  EXPECT_EQ(get("/%0aindex.html").status, 400u);
  EXPECT_EQ(get("/..%5csecret.txt").status, 400u);
  EXPECT_EQ(get("/sub%5c..%5c..%5csecret.txt").status, 400u);
}

TEST_F(StaticFilesTest, RefusesMalformedTargets) {
  for (const char* target :
       {"", "index.html", "http://example.com/index.html", "*", "/%", "/%4", "/%zz", "/a%g0"})
    EXPECT_EQ(get(target).status, 400u) << target;
  EXPECT_EQ(get("/" + std::string(3000, 'a')).status, 414u);
}

TEST_F(StaticFilesTest, RedirectsADirectoryToItsSlash) {
  const auto r = get("/sub?x=1");
  EXPECT_EQ(r.status, 301u);
  EXPECT_EQ(r.location, "/sub/");
  // Built from the path's segments: a doubled slash cannot make an off-site redirect.
  EXPECT_EQ(get("//sub").location, "/sub/");
}

TEST_F(StaticFilesTest, RefusesFilesOverTheSizeCap) {
  EXPECT_EQ(get("/app.js", {.max_file_bytes = 13}).status, 404u);
  EXPECT_EQ(get("/app.js", {.max_file_bytes = 14}).status, 200u);
}

TEST_F(StaticFilesTest, ErrorsAreShortPlainText) {
  const auto r = get("/missing");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "404 not found\n");
}

TEST_F(StaticFilesTest, RootMustBeADirectory) {
  EXPECT_THROW(StaticFiles(web_ / "index.html"), std::invalid_argument);
  EXPECT_THROW(StaticFiles(base_ / "nope"), std::invalid_argument);
  EXPECT_EQ(StaticFiles(web_ / "sub" / "..").root(), fs::canonical(web_));
}

} // namespace
} // namespace posthorn::relay
