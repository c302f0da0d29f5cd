#pragma once
// Helpers for one error enum per layer (the public conditions are in include/posthorn/error.hpp).
//
// A layer defines, in its own namespace:
//
//   enum class Errc { BadLength = 1, ... };
//   const char* describe(Errc e) noexcept;          // human text
//   posthorn::Condition classify(Errc e) noexcept;  // public condition it maps to
//   inline error_code make_error_code(Errc e) noexcept {
//     return detail::make_layer_error(e, "posthorn.stun");
//   }
//
// and, at global scope:
//   template <> struct boost::system::is_error_code_enum<posthorn::stun::Errc> : std::true_type {};

#include <posthorn/error.hpp>

#include <string>

namespace posthorn::detail {

template <class E> class LayerCategory final : public boost::system::error_category {
public:
  explicit LayerCategory(const char* name) noexcept : name_(name) {}
  const char* name() const noexcept override { return name_; }
  std::string message(int ev) const override { return describe(static_cast<E>(ev)); }
  boost::system::error_condition default_error_condition(int ev) const noexcept override {
    return make_error_condition(classify(static_cast<E>(ev)));
  }

private:
  const char* name_;
};

/// One category object per enum type for the whole program (inline function statics are unique).
template <class E> error_code make_layer_error(E e, const char* name) noexcept {
  static const LayerCategory<E> category{name};
  return {static_cast<int>(e), category};
}

} // namespace posthorn::detail
