#include "server/EpollDispatcher.h"
#include "server/Logging.h"
#include "server/Node.h"
#include "shared/SignalWatcher.h"

#include <QCoreApplication>
#include <QProcessEnvironment>
#include <csignal>
#include <cstdio>

int main(int argc, char* argv[]) {
    // Qt's dispatchers poll() every socket on every loop pass (O(connections) per pass); ours
    // waits on epoll. HERALD_EVENT_DISPATCHER=qt keeps Qt's (for comparison and diagnosis).
    if (qgetenv("HERALD_EVENT_DISPATCHER") != "qt") {
        QCoreApplication::setEventDispatcher(new herald::EpollDispatcher);
    } else if (qEnvironmentVariableIsEmpty("QT_NO_GLIB")) {
        qputenv("QT_NO_GLIB", "1"); // the glib one also unregisters notifiers by linear scan
    }
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("herald-server"));

    auto loaded = herald::loadConfig(
        {app.arguments(), QProcessEnvironment::systemEnvironment().toStringList()});
    if (auto* error = std::get_if<QString>(&loaded)) {
        std::fprintf(stderr, "herald-server: %s\n", qPrintable(*error));
        return 2;
    }
    auto& outcome = std::get<herald::ConfigOutcome>(loaded);
    if (outcome.action == herald::ConfigOutcome::Action::PrintAndExit) {
        std::fputs(qPrintable(outcome.text), stdout);
        return 0;
    }
    herald::installLogging(outcome.config.logLevel);

    auto created = herald::Node::create(outcome.config);
    if (auto* error = std::get_if<QString>(&created)) {
        std::fprintf(stderr, "herald-server: %s\n", qPrintable(*error));
        return 2;
    }
    auto& node = std::get<std::unique_ptr<herald::Node>>(created);
    QString error;
    if (!node->start(&error)) {
        std::fprintf(stderr, "herald-server: %s\n", qPrintable(error));
        return 1;
    }
    // Scripts and tests read the bound address (useful with --listen 127.0.0.1:0).
    std::printf("herald-server listening on %s\n", qPrintable(node->listenUrl()));
    std::fflush(stdout);

    herald::SignalWatcher signals({SIGINT, SIGTERM, SIGHUP});
    QObject::connect(&signals, &herald::SignalWatcher::received, node.get(), [&node](int number) {
        if (number == SIGHUP)
            node->reloadTls(); // a renewed certificate; everything else keeps running
        else
            node->terminate();
    });
    QObject::connect(node.get(), &herald::Node::stopped, &app, &QCoreApplication::quit);
    const int code = app.exec();
    node.reset();
    return code;
}
