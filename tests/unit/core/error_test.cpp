#include "core/error.hpp"

#include <gtest/gtest.h>

namespace posthorn::demo_layer {
enum class Errc { Slow = 1, Forged };
const char* describe(Errc e) noexcept {
  return e == Errc::Slow ? "too slow" : "forged";
}
Condition classify(Errc e) noexcept {
  return e == Errc::Slow ? Condition::TimedOut : Condition::AuthFailed;
}
inline error_code make_error_code(Errc e) noexcept {
  return detail::make_layer_error(e, "posthorn.demo");
}
} // namespace posthorn::demo_layer
template <>
struct boost::system::is_error_code_enum<posthorn::demo_layer::Errc> : std::true_type {};

namespace posthorn {
namespace {

TEST(Error, LayerErrorsCompareEqualToTheirPublicCondition) {
  error_code ec = demo_layer::Errc::Slow;
  EXPECT_EQ(ec, Condition::TimedOut);
  EXPECT_NE(ec, Condition::AuthFailed);
  EXPECT_EQ(ec.message(), "too slow");
  EXPECT_STREQ(ec.category().name(), "posthorn.demo");
  error_code forged = demo_layer::Errc::Forged;
  EXPECT_EQ(forged, Condition::AuthFailed);
}

TEST(Error, ResultCarriesValueOrError) {
  result<int> ok = 3;
  result<int> bad = error_code(demo_layer::Errc::Forged);
  EXPECT_EQ(*ok, 3);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), Condition::AuthFailed);
}

} // namespace
} // namespace posthorn
