#include "console/ctl/Ctl.h"

#include "console/ctl/AdminOrder.h"
#include "console/ctl/ApiClient.h"
#include "console/ctl/Commands.h"
#include "console/ctl/CtlOptions.h"
#include "console/ctl/TailCommand.h"
#include "console/ctl/Terminal.h"
#include "shared/SignalWatcher.h"
#include "shared/Version.h"

#include <QDateTime>
#include <QEventLoop>
#include <QTimer>
#include <csignal>

namespace herald::ctl {
namespace {

// Runs `start` inside a fresh event loop and returns the code it finishes with.
int runLoop(const std::function<void(Finish)>& start) {
    QEventLoop loop;
    int code = kExitOk;
    bool done = false;
    Finish finish = [&](int exitCode) {
        if (done)
            return;
        done = true;
        code = exitCode;
        loop.quit();
    };
    // Started from inside the loop, so a command that finishes at once still ends it.
    QTimer::singleShot(0, &loop, [&] { start(finish); });
    if (!done)
        loop.exec();
    return code;
}

int runTail(const Options& options) {
    TailCommand tail(options);
    herald::SignalWatcher signals({SIGINT, SIGTERM});
    QObject::connect(&signals, &herald::SignalWatcher::received, &tail, &TailCommand::interrupt);
    return runLoop([&tail](Finish finish) {
        QObject::connect(&tail, &TailCommand::finished, &tail,
                         [finish](int exitCode) { finish(exitCode); });
        tail.start();
    });
}

int runAdminOrder(const Options& options) {
    AdminOrder order(options);
    return runLoop([&order](Finish finish) {
        QObject::connect(&order, &AdminOrder::finished, &order,
                         [finish](int exitCode) { finish(exitCode); });
        order.start();
    });
}

} // namespace

int run(const QStringList& arguments, const QProcessEnvironment& environment) {
    auto parsed = parseOptions(arguments.mid(1), environment);
    if (auto* usage = std::get_if<UsageError>(&parsed)) {
        printUsageError(usage->message, usage->command);
        return kExitUsage;
    }
    const Options& options = std::get<Options>(parsed);
    switch (options.command) {
    case Command::Help:
        printOut(helpText(options.helpTopic));
        return kExitOk;
    case Command::Version:
        printOut(QStringLiteral("heraldctl %1 (protocol %2)")
                     .arg(QLatin1String(kVersion))
                     .arg(kProtocolVersion));
        return kExitOk;
    case Command::Token:
        return runToken(options, QDateTime::currentSecsSinceEpoch());
    case Command::Tail:
        return runTail(options);
    case Command::Drain:
    case Command::Disconnect:
        return runAdminOrder(options);
    case Command::Publish:
    case Command::Broadcast:
    case Command::Withdraw:
    case Command::Sticky:
    case Command::Stats: {
        ApiClient api(options.server, options.token, options.timeoutMs);
        return runLoop([&](Finish finish) {
            if (options.command == Command::Publish)
                startPublish(options, api, std::move(finish));
            else if (options.command == Command::Broadcast)
                startBroadcast(options, api, std::move(finish));
            else if (options.command == Command::Withdraw)
                startWithdraw(options, api, std::move(finish));
            else if (options.command == Command::Sticky)
                startSticky(options, api, std::move(finish));
            else
                startStats(options, api, std::move(finish));
        });
    }
    case Command::None:
        break;
    }
    printUsageError(QStringLiteral("no command given"), Command::None);
    return kExitUsage;
}

} // namespace herald::ctl
