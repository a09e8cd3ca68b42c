// What an operator meets on a node's first start: a node without an API or admin token says so
// in its log at once (it would otherwise only refuse callers one by one), naming the settings to
// set; a node with tokens, or in development mode, does not warn.

#include "tests/common/ServerProcess.h"

#include <QTest>

using namespace herald::test;

class TestFirstRun : public QObject {
    Q_OBJECT

    // Starts a node with `args`; returns its output once it serves, and stops it.
    static QString startupOutput(const QStringList& args) {
        ServerProcess node(args);
        QString error;
        if (!node.start(&error))
            return QStringLiteral("did not start: ") + error;
        // Node::start() logs any warning on standard error before its "... listening on ...
        // broker: ..." line, so once that line is read, a warning would have been too.
        const bool logged = QTest::qWaitFor(
            [&] { return node.output().contains(QLatin1String("broker:")); }, 10000);
        const QString out = node.output();
        if (!logged)
            return QStringLiteral("no start-up log line: ") + out;
        node.stop();
        return out;
    }

private Q_SLOTS:
    void noTokensAtAllWarns() {
        const QString out = startupOutput({});
        QVERIFY2(out.contains(QLatin1String("no API or admin token is configured")),
                 qPrintable(out));
        for (const char* hint : {"HERALD_API_TOKENS", "HERALD_ADMIN_TOKENS", "--dev"})
            QVERIFY2(out.contains(QLatin1String(hint)), hint);
    }

    void apiTokenWithoutAdminTokenWarnsAboutTheConsole() {
        const QString out = startupOutput({QStringLiteral("--api-tokens"), QStringLiteral("a")});
        QVERIFY2(out.contains(QLatin1String("no admin token is configured: herald-console")),
                 qPrintable(out));
        QVERIFY(out.contains(QLatin1String("HERALD_ADMIN_TOKENS")));
    }

    void adminTokenOrDevModeDoesNotWarn() {
        for (const QStringList& args :
             {QStringList{QStringLiteral("--admin-tokens"), QStringLiteral("alice:s3cret")},
              QStringList{QStringLiteral("--dev")}}) {
            const QString out = startupOutput(args);
            QVERIFY2(out.contains(QLatin1String("broker:")), qPrintable(out));
            QVERIFY2(!out.contains(QLatin1String("token is configured")), qPrintable(out));
        }
    }
};

QTEST_GUILESS_MAIN(TestFirstRun)
#include "tst_first_run.moc"
