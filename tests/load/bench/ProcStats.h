// The server's CPU time (utime + stime of every thread, /proc/<pid>/stat) and resident memory
// (VmRSS, /proc/<pid>/status), summed over the server's processes (nginx: master and worker).
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

struct ProcSample {
    bool ok = false;   // every process was readable
    double cpuSec = 0; // user + system
    int64_t rssKb = 0;
};

ProcSample sampleProcesses(const std::vector<pid_t>& pids);
// "123,456" -> {123, 456}; empty for "" or "0".
std::vector<pid_t> parsePids(const std::string& text);

} // namespace bench
