# cmake -DREPORTS=<dir> -P CheckReports.cmake: fails, printing each one, if any sanitizer report
# (ASan, LeakSanitizer, UBSan) was written under <dir>/<test>/ during this ctest run.
file(GLOB_RECURSE found LIST_DIRECTORIES false "${REPORTS}/*")
if(NOT found)
  message("no sanitizer reports under ${REPORTS}")
  return()
endif()
list(LENGTH found count)
foreach(report IN LISTS found)
  file(RELATIVE_PATH name "${REPORTS}" "${report}")
  file(READ "${report}" text)
  message("==== ${name} (test/report.<pid>)\n${text}")
endforeach()
message(FATAL_ERROR "${count} sanitizer report(s) under ${REPORTS}: a test or a process it started "
                    "leaked memory or hit a memory error or undefined behaviour (see above)")
