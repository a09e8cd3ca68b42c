// The server's CPU time (utime + stime of every thread, /proc/<pid>/stat) and resident memory
// (VmRSS, /proc/<pid>/status), summed over the server's processes (nginx: master and worker).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

struct ProcSample {
    bool ok = false;   // every process was readable
    double cpuSec = 0; // user + system
    int64_t rssKb = 0;
    // CPU seconds per thread name (/proc/<pid>/task/*/comm, threads of one name summed), to show
    // how a server's work splits over its threads (Herald's main thread and workers).
    std::map<std::string, double> threadCpuSec;
};

// "herald-server 0.12 s, herald-w0 1.40 s" for the threads that used CPU between the samples.
std::string threadSplit(const ProcSample& before, const ProcSample& after);

ProcSample sampleProcesses(const std::vector<pid_t>& pids);
// "123,456" -> {123, 456}; empty for "" or "0".
std::vector<pid_t> parsePids(const std::string& text);

} // namespace bench
