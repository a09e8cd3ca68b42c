# Small helpers so every part of the tree is built with the same flags.

set(HERALD_ROOT ${CMAKE_CURRENT_LIST_DIR}/..)

function(herald_apply_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                                           -Wnon-virtual-dtor -Wformat=2 -Wimplicit-fallthrough)
  if(HERALD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(HERALD_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
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

# herald_add_test(name SOURCES ... LIBS ... [LABELS ...] [TIMEOUT s]): one QtTest executable,
# registered with ctest. Tests find the binaries under test through HERALD_BIN_DIR.
function(herald_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
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
endfunction()
