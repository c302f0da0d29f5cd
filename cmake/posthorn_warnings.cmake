# Warning and sanitizer flags shared by every posthorn target.
add_library(posthorn_options INTERFACE)
# Designated initializers with defaulted members are our config style (DESIGN.md §4), which
# -Wmissing-field-initializers (in -Wextra) would flag on every call site.
target_compile_options(posthorn_options INTERFACE -Wall -Wextra -Wpedantic
                                                  -Wno-missing-field-initializers)
# GCC 12 reports -Wmaybe-uninitialized false positives inside std::variant/std::optional moves
# (GCC bugs 105562, 107138); clang and sanitizers cover real uninitialized reads.
# GCC 12 also flags Asio's coroutine frames (awaitable_frame_base::operator delete) as
# -Wmismatched-new-delete, depending on inlining: an unrelated header change turned it on in two
# tests (GCC bug 109224). ASan reports real new/delete mismatches at run time.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(posthorn_options INTERFACE -Wno-maybe-uninitialized
                                                    -Wno-mismatched-new-delete)
endif()
if(POSTHORN_WERROR)
  target_compile_options(posthorn_options INTERFACE -Werror)
endif()
if(POSTHORN_SANITIZE)
  target_compile_options(posthorn_options INTERFACE -fsanitize=address,undefined
                                                    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(posthorn_options INTERFACE -fsanitize=address,undefined)
endif()
# Fuzz builds instrument every library for coverage, not just the fuzz targets.
if(POSTHORN_FUZZ)
  # UBSan's -fsanitize=function with coverage instrumentation makes clang 14 fail on coroutines
  # ("Cannot represent a difference across sections", src/net); the other UBSan checks stay.
  target_compile_options(posthorn_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                                    -fno-sanitize=function)
  target_link_options(posthorn_options INTERFACE -fsanitize=address,undefined)
endif()
# Boost.Asio: no deprecated names, and asio's own coroutine support under C++20.
target_compile_definitions(posthorn_options INTERFACE BOOST_ASIO_NO_DEPRECATED)

# posthorn_layer(<name> DEPS <targets...>): one static library per folder of src/.
# Sources are globbed so that each layer owns its file list; CONFIGURE_DEPENDS re-globs on build.
function(posthorn_layer name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(_srcs)
    add_library(posthorn_${name} STATIC ${_srcs})
    set(_scope PUBLIC)
  else()  # a layer with headers only (so far)
    add_library(posthorn_${name} INTERFACE)
    set(_scope INTERFACE)
  endif()
  add_library(posthorn::${name} ALIAS posthorn_${name})
  target_include_directories(posthorn_${name} ${_scope} ${PROJECT_SOURCE_DIR}/src
                                                        ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(posthorn_${name} ${_scope} posthorn_options ${ARG_DEPS})
endfunction()
