#pragma once
// The visitor helper for our closed event variants: std::visit(overloaded{...}, event).

namespace posthorn {
template <class... Ts> struct overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> overloaded(Ts...) -> overloaded<Ts...>;
} // namespace posthorn
