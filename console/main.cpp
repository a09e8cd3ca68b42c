#include "console/app/ConsoleSession.h"
#include "console/app/Profiles.h"
#include "console/app/TokenVault.h"
#include "console/ui/AppIcon.h"
#include "console/ui/MainWindow.h"
#include "console/ui/Screenshot.h"
#include "shared/Version.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QSettings>
#include <memory>

int main(int argc, char* argv[]) {
    QCoreApplication::setApplicationName(QStringLiteral("herald-console"));
    QCoreApplication::setOrganizationName(QStringLiteral("Herald"));
    QCoreApplication::setApplicationVersion(QString::fromLatin1(herald::kVersion));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Herald admin console"));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    const QCommandLineOption server(
        QStringLiteral("server"),
        QStringLiteral(
            "Node URL (default $HERALD_URL, else the last profile, else http://127.0.0.1:8080)."),
        QStringLiteral("URL"));
    const QCommandLineOption token(QStringLiteral("token"),
                                   QStringLiteral("Admin token (default $HERALD_ADMIN_TOKEN)."),
                                   QStringLiteral("TOKEN"));
    const QCommandLineOption profile(QStringLiteral("profile"),
                                     QStringLiteral("Connect with a saved connection profile."),
                                     QStringLiteral("NAME"));
    parser.addOption(server);
    parser.addOption(token);
    parser.addOption(profile);
    // For packaging/screenshots.sh: save a PNG of the window after some seconds, then exit.
    const QCommandLineOption shot(QStringLiteral("screenshot"),
                                  QStringLiteral("Save a PNG of the window and exit."),
                                  QStringLiteral("FILE"));
    const QCommandLineOption shotAfter(
        QStringLiteral("screenshot-after"),
        QStringLiteral("Seconds before the screenshot (default 10)."), QStringLiteral("S"),
        QStringLiteral("10"));
    parser.addOption(shot);
    parser.addOption(shotAfter);

    // --help and --version must work without a display (over ssh, help2man at build time):
    // they get a QCoreApplication, which loads no platform plugin. This first look at the
    // arguments may meet Qt's own (-platform ...); process() below judges them.
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    parser.parse(arguments);
    const bool printOnly =
        parser.isSet(help) || parser.isSet(version) || parser.isSet(QStringLiteral("help-all"));
    const std::unique_ptr<QCoreApplication> app(printOnly ? new QCoreApplication(argc, argv)
                                                          : new QApplication(argc, argv));
    parser.process(*app); // prints --help or --version and exits, or exits on a bad option
    if (printOnly)        // not reached; process() has exited
        return 0;
    QApplication::setApplicationDisplayName(QStringLiteral("Herald console"));
    QApplication::setDesktopFileName(QStringLiteral("herald-console"));
    QApplication::setWindowIcon(herald::console::appIcon());

    QSettings settings;
    herald::console::ProfileStore profiles(settings);
    // Precedence: --server, then --profile, then $HERALD_URL, then the last used profile, so
    // packaging/bootstrap.sh's `--server URL` always wins.
    QString url = parser.value(server);
    QString secret =
        parser.isSet(token) ? parser.value(token) : qEnvironmentVariable("HERALD_ADMIN_TOKEN");
    if (url.isEmpty() && !parser.isSet(profile)) // an explicit --profile beats the environment
        url = qEnvironmentVariable("HERALD_URL");
    const auto saved =
        profiles.find(parser.isSet(profile) ? parser.value(profile) : profiles.lastUsed());
    bool tokenFromKeyring = false;
    if (url.isEmpty() && saved) {
        url = saved->url;
        if (secret.isEmpty()) {
            secret = saved->token;
            tokenFromKeyring = saved->tokenInKeyring;
        }
    }
    if (url.isEmpty())
        url = QStringLiteral("http://127.0.0.1:8080");

    herald::console::ConsoleSession session;
    herald::console::MainWindow window(session, settings);
    window.resize(1180, 780);
    window.show();
    if (tokenFromKeyring) // the keyring answers asynchronously; connect once it has
        herald::console::TokenVault::load(saved->name, &session, [&session, url](const QString& t) {
            session.open(QUrl::fromUserInput(url), t.toUtf8());
        });
    else
        session.open(QUrl::fromUserInput(url), secret.toUtf8());
    if (parser.isSet(shot))
        herald::console::scheduleScreenshot(window, parser.value(shot),
                                            parser.value(shotAfter).toInt() * 1000);
    return QCoreApplication::exec();
}
