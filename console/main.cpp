#include "console/app/NodeStatsClient.h"
#include "console/ui/StatusWindow.h"
#include "shared/Version.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char* argv[]) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("herald-console"));
    QApplication::setApplicationVersion(QString::fromLatin1(herald::kVersion));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Herald admin console"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption server(QStringLiteral("server"), QStringLiteral("Node URL (default $HERALD_URL or http://127.0.0.1:8080)."),
                                    QStringLiteral("URL"), qEnvironmentVariable("HERALD_URL", QStringLiteral("http://127.0.0.1:8080")));
    const QCommandLineOption token(QStringLiteral("token"), QStringLiteral("Admin or API token (default $HERALD_ADMIN_TOKEN)."),
                                   QStringLiteral("TOKEN"), qEnvironmentVariable("HERALD_ADMIN_TOKEN"));
    parser.addOption(server);
    parser.addOption(token);
    parser.process(app);

    herald::console::NodeStatsClient client(QUrl(parser.value(server)), parser.value(token).toUtf8());
    herald::console::StatusWindow window(client);
    window.resize(520, 360);
    window.show();
    client.start();
    return app.exec();
}
