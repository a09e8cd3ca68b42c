// herald-bench: a load generator for WebSocket fan-out servers (Herald and its peers), with no
// Qt: one epoll thread per process, raw RFC 6455 framing, bounded in time. See Options.cpp.
#include "Coordinator.h"
#include "Options.h"
#include <sys/prctl.h>

#include <algorithm>
#include <arpa/inet.h>
#include <csignal>
#include <cstdio>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char** argv) {
    // Timers fire within a microsecond rather than Linux's default 50 us slack (the steady
    // publisher's ticks; inherited by the worker processes).
    prctl(PR_SET_TIMERSLACK, 1000UL);
    bench::Options options;
    std::string error;
    if (!bench::parseOptions(argc, argv, &options, &error)) {
        std::fputs(bench::usage(), stderr);
        if (error != "help")
            std::fprintf(stderr, "\nherald-bench: %s\n", error.c_str());
        return error == "help" ? 0 : 2;
    }
    bench::Peer peer;
    if (!bench::Peer::fromName(options.peer, &peer)) {
        std::fprintf(stderr, "herald-bench: unknown peer %s (herald, nchan, node, socketio)\n",
                     options.peer.c_str());
        return 2;
    }
    peer.setStream(options.stream);
    std::vector<std::string> names;
    for (const std::string& list : {options.target, options.targetB}) {
        size_t from = 0;
        while (from <= list.size()) {
            const size_t comma = std::min(list.find(',', from), list.size());
            if (comma > from)
                names.push_back(list.substr(from, comma - from));
            from = comma + 1;
        }
    }
    std::vector<bench::Endpoint> targets;
    for (const std::string& t : names) {
        bench::Endpoint e;
        // Load goes to this machine only.
        if (!bench::parseEndpoint(t, &e) || (ntohl(e.addr.sin_addr.s_addr) >> 24) != 127) {
            std::fprintf(stderr, "herald-bench: %s is not a loopback host:port\n", t.c_str());
            return 2;
        }
        targets.push_back(e);
    }
    std::signal(SIGPIPE, SIG_IGN);
    // The hard deadline of the whole run: every scenario's own, plus time to tear down.
    alarm(unsigned(options.timeout * double(options.scenarios.size() + 1)) + 60);
    if (targets.empty()) {
        std::fprintf(stderr, "herald-bench: no target\n");
        return 2;
    }
    bench::Coordinator coordinator(options, peer, targets, bench::nowNs());
    return coordinator.run();
}
