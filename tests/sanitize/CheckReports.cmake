cmake_minimum_required(VERSION 3.25) # script mode: today's list() policies
# cmake -DREPORTS=<dir> -P CheckReports.cmake: fails if any sanitizer report (ASan, LeakSanitizer,
# UBSan) was written under <dir>/<test>/ during this ctest run, printing the start of each (its
# first stack) and its summary; the whole reports stay in <dir>.
file(GLOB_RECURSE found LIST_DIRECTORIES false "${REPORTS}/*")
if(NOT found)
  message("no sanitizer reports under ${REPORTS}")
  return()
endif()
list(LENGTH found count)
foreach(report IN LISTS found)
  file(STRINGS "${report}" lines)
  list(LENGTH lines length)
  set(shown 60)
  if(length LESS shown)
    set(shown ${length})
  endif()
  list(SUBLIST lines 0 ${shown} head)
  list(JOIN head "\n" head)
  set(summary "")
  if(length GREATER shown)
    list(FILTER lines INCLUDE REGEX "SUMMARY:")
    list(JOIN lines "\n" summary)
    set(summary "[...]\n${summary}\n")
  endif()
  message("==== ${report} (${length} lines)\n${head}\n${summary}")
endforeach()
message(FATAL_ERROR "${count} sanitizer report(s) under ${REPORTS}/<test>/: a test or a process "
                    "it started (herald-server, heraldctl) leaked memory or hit a memory error or "
                    "undefined behaviour; see above")
