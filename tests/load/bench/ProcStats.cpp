#include "ProcStats.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace bench {
namespace {

bool readCpu(const std::string& statPath, double* sec, std::string* name = nullptr) {
    std::ifstream in(statPath);
    std::string line;
    if (!std::getline(in, line))
        return false;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const size_t close = line.rfind(')');
    const size_t open = line.find('(');
    if (close == std::string::npos || open == std::string::npos || open > close)
        return false;
    if (name)
        *name = line.substr(open + 1, close - open - 1);
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14)
            utime = std::strtoull(field.c_str(), nullptr, 10);
        else if (i == 15)
            stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    *sec = double(utime + stime) / double(sysconf(_SC_CLK_TCK));
    return true;
}

bool readRss(pid_t pid, int64_t* kb) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            *kb = std::strtoll(line.c_str() + 6, nullptr, 10);
            return true;
        }
    }
    return false;
}

} // namespace

ProcSample sampleProcesses(const std::vector<pid_t>& pids) {
    ProcSample s;
    s.ok = !pids.empty();
    for (pid_t pid : pids) {
        double cpu = 0;
        int64_t rss = 0;
        const std::string dir = "/proc/" + std::to_string(pid);
        if (!readCpu(dir + "/stat", &cpu) || !readRss(pid, &rss)) {
            s.ok = false;
            continue;
        }
        s.cpuSec += cpu;
        s.rssKb += rss;
        std::error_code error;
        for (const auto& task : std::filesystem::directory_iterator(dir + "/task", error)) {
            double taskCpu = 0;
            std::string name;
            if (readCpu(task.path().string() + "/stat", &taskCpu, &name))
                s.threadCpuSec[name] += taskCpu;
        }
    }
    return s;
}

std::string threadSplit(const ProcSample& before, const ProcSample& after) {
    std::string text;
    for (const auto& [name, sec] : after.threadCpuSec) {
        const auto it = before.threadCpuSec.find(name);
        const double used = sec - (it == before.threadCpuSec.end() ? 0 : it->second);
        if (used < 0.005)
            continue;
        char item[96];
        std::snprintf(item, sizeof item, "%s%s %.2f s", text.empty() ? "" : ", ", name.c_str(),
                      used);
        text += item;
    }
    return text;
}

std::vector<pid_t> parsePids(const std::string& text) {
    std::vector<pid_t> pids;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        const long v = std::strtol(item.c_str(), nullptr, 10);
        if (v > 0)
            pids.push_back(pid_t(v));
    }
    return pids;
}

} // namespace bench
