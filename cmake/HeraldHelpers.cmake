# Small helpers so every part of the tree is built with the same flags.

set(HERALD_ROOT ${CMAKE_CURRENT_LIST_DIR}/..)

function(herald_apply_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wformat=2
                                           -Wimplicit-fallthrough)
  # gcc and clang spell "a local shadows a local" differently (the fuzz build uses clang).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(${target} PRIVATE -Wshadow-uncaptured-local)
  else()
    target_compile_options(${target} PRIVATE -Wshadow=local)
  endif()
  if(HERALD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # Undefined behaviour stops the process (-fno-sanitize-recover) instead of printing and going
  # on, so a test, a child herald-server or a fuzzer cannot pass over it.
  if(HERALD_FUZZ)
    # Coverage feedback for libFuzzer in everything a fuzz target links; the fuzzer runtime
    # itself is linked into the fuzz targets only (herald_add_fuzz_target).
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(HERALD_SANITIZE)
    # gcc leaves float-cast-overflow out of "undefined" (clang does not): a JSON number such as
    # 1e300 cast to an integer is exactly the bug wire input provokes.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined,float-cast-overflow
                                             -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined,float-cast-overflow)
  endif()
  target_compile_definitions(${target} PRIVATE QT_NO_KEYWORDS
                                               QT_USE_QSTRINGBUILDER)
endfunction()

# herald_add_library(name SOURCES ... LIBS ...): a static library whose include root is the
# repository root, so headers are named by path ("shared/Codec.h").
function(herald_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${HERALD_ROOT} ${CMAKE_BINARY_DIR}/generated)
  target_link_libraries(${name} PUBLIC ${ARG_LIBS})
  herald_apply_flags(${name})
endfunction()

# herald_add_executable(name COMPONENT c SOURCES ... LIBS ...): a thin main.cpp and a link line,
# installed with install component c (one Debian package each, see packaging/CMakeLists.txt).
function(herald_add_executable name)
  cmake_parse_arguments(ARG "" "COMPONENT" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_COMPONENT)
    message(FATAL_ERROR "herald_add_executable(${name}): say which install COMPONENT it belongs to")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
  herald_apply_flags(${name})
  install(TARGETS ${name} RUNTIME DESTINATION bin COMPONENT ${ARG_COMPONENT})
endfunction()

# herald_add_test(name SOURCES ... LIBS ... [LABELS ...] [TIMEOUT s] [FAST_UNWIND]): one QtTest
# executable, registered with ctest. Tests find the binaries under test through HERALD_BIN_DIR.
# FAST_UNWIND: see herald_sanitize_test.
function(herald_add_test name)
  cmake_parse_arguments(ARG "FAST_UNWIND" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Qt6::Test ${ARG_LIBS})
  target_include_directories(${name} PRIVATE ${HERALD_ROOT})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  herald_apply_flags(${name})
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES
    TIMEOUT ${ARG_TIMEOUT}
    LABELS "${ARG_LABELS}"
    ENVIRONMENT "HERALD_BIN_DIR=${CMAKE_BINARY_DIR}/bin;HERALD_SOURCE_DIR=${HERALD_ROOT};QT_QPA_PLATFORM=offscreen")
  if(ARG_FAST_UNWIND)
    herald_sanitize_test(${name} FAST_UNWIND)
  else()
    herald_sanitize_test(${name})
  endif()
endfunction()

# herald_sanitize_test(name [FAST_UNWIND]): in a HERALD_SANITIZE build, the test and every process
# it starts (herald-server, heraldctl: they inherit the environment) write their ASan,
# LeakSanitizer and UBSan reports to sanitizer-reports/<name>/ rather than to a stderr nobody may
# read, and the test `sanitizer_reports` (tests/sanitize), which ctest runs after all of them,
# fails if any report exists and prints them. A leak in a child therefore fails the run even when
# the test never looks at the child's exit code. herald_add_test() calls it; call it for a plain
# add_test().
function(herald_sanitize_test name)
  if(NOT HERALD_SANITIZE)
    return()
  endif()
  cmake_parse_arguments(ARG "FAST_UNWIND" "" "" ${ARGN})
  set(log ${CMAKE_BINARY_DIR}/sanitizer-reports/${name}/report)
  # fast_unwind_on_malloc=0: Qt is built without frame pointers, so the fast unwinder loses the
  # allocation stack at the first Qt frame, and a leak report would not show which Herald code
  # (or which Qt code) allocated. The slow unwinder costs little for most tests, but it makes
  # every allocation walk DWARF tables: thousands of TLS handshakes (OpenSSL allocates hundreds
  # of times in each) run about 35 times slower with it, and such a test (FAST_UNWIND) keeps the
  # fast unwinder. Its leak reports still name the allocating frame; they stop at the first
  # library frame above it.
  if(ARG_FAST_UNWIND)
    set(unwind 1)
  else()
    set(unwind 0)
  endif()
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
    "ASAN_OPTIONS=log_path=${log}:detect_leaks=1:fast_unwind_on_malloc=${unwind}"
    "LSAN_OPTIONS=suppressions=${HERALD_ROOT}/tests/sanitize/lsan.supp:print_suppressions=0"
    "UBSAN_OPTIONS=log_path=${log}:print_stacktrace=1:halt_on_error=1")
  set_property(TEST ${name} APPEND PROPERTY FIXTURES_REQUIRED herald_sanitizer_reports)
endfunction()

# herald_add_fuzz_target(name SOURCES ... LIBS ... [OPTIONS ...]): a libFuzzer target, i.e.
# SOURCES define LLVMFuzzerTestOneInput(). Its seed corpus is tests/fuzz/corpus/<name>/, an
# optional dictionary tests/fuzz/<name>.dict; OPTIONS are extra libFuzzer flags (-max_len=...).
#  - In a HERALD_FUZZ build (clang): the fuzzer, and a ctest of the same name labelled `fuzz`
#    that fuzzes for $HERALD_FUZZ_SECONDS (default 60) and fails on any crash, leak, timeout or
#    sanitizer report (tests/fuzz/run-fuzzer.sh).
#  - In every other build: <name>_replay, which feeds each corpus file to the same function
#    once, so the corpus (and every crash input added to it) is a regression test of the
#    default suite and of the sanitizer build.
function(herald_add_fuzz_target name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;OPTIONS" ${ARGN})
  set(corpus ${HERALD_ROOT}/tests/fuzz/corpus/${name})
  if(NOT IS_DIRECTORY ${corpus})
    message(FATAL_ERROR "fuzz target ${name} has no seed corpus: add tests/fuzz/corpus/${name}/")
  endif()
  if(HERALD_FUZZ)
    set(target ${name})
    set(dict ${HERALD_ROOT}/tests/fuzz/${name}.dict)
    if(EXISTS ${dict})
      list(APPEND ARG_OPTIONS -dict=${dict})
    endif()
  else()
    set(target ${name}_replay)
    list(APPEND ARG_SOURCES ${HERALD_ROOT}/tests/fuzz/FuzzReplay.cpp)
  endif()
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS})
  target_include_directories(${target} PRIVATE ${HERALD_ROOT})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  herald_apply_flags(${target})
  if(HERALD_FUZZ)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    # run-fuzzer.sh bounds the run itself (HERALD_FUZZ_SECONDS is read when the test runs).
    add_test(NAME ${name}
             COMMAND ${HERALD_ROOT}/tests/fuzz/run-fuzzer.sh $<TARGET_FILE:${target}> ${corpus}
                     ${CMAKE_BINARY_DIR}/fuzz/${name}.work ${ARG_OPTIONS})
    set_tests_properties(${name} PROPERTIES TIMEOUT 0 LABELS fuzz
      ENVIRONMENT "HERALD_SOURCE_DIR=${HERALD_ROOT}")
  else()
    add_test(NAME ${target} COMMAND ${target} ${corpus})
    set_tests_properties(${target} PROPERTIES TIMEOUT 120 LABELS unit
      ENVIRONMENT "HERALD_SOURCE_DIR=${HERALD_ROOT}")
    herald_sanitize_test(${target})
  endif()
endfunction()
