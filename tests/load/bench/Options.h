// Command line of herald-bench (see usage() for the meaning of each option).
#pragma once

#include <string>
#include <vector>

namespace bench {

struct Options {
    std::string peer = "herald";
    std::string target;      // host:port of the server (node A)
    std::string targetB;     // node B of a cluster (latency)
    std::string serverPids;  // pids whose CPU/RSS are the server's
    std::string serverPidsB; // node B's
    std::vector<std::string> scenarios{"connect", "idle", "broadcast", "fanout"};
    std::string stream = "bench";
    std::string label;
    long n = 1000;
    long burst = 100;
    long bursts = 2;
    int publishers = 4;
    int pipeline = 64;    // requests in flight per publishing connection
    int publishBatch = 1; // latency: messages per POST (Herald's batch publish) when > 1
    long payload = 100;
    int broadcasts = 3;
    long inflight = 256;
    int sources = 8;
    int procs = 0; // 0: as many as the file limit needs
    double rate = 1000;
    double duration = 5;
    long receivers = 20;
    double slowRate = 200;
    long slowPayload = 16384;
    double timeout = 180; // per scenario, seconds
    double settle = 2;    // seconds before idle memory is read
    // hold
    long streams = 1000;
    std::string streamPrefix = "public.s";
    std::string apiToken;
    double failoverWait = 0; // seconds to wait for a command on stdin after the hold
    double after = 30;       // publishing after `failover`, at least
    double drain = 60;       // seconds for the last deliveries to arrive
};

const char* usage();
// False with *error set on a bad command line.
bool parseOptions(int argc, char** argv, Options* out, std::string* error);

} // namespace bench
