// The console's first view under the offscreen platform against a real herald-server: live
// totals appear, and a broadcast sent from the form reaches a connected client.

#include "console/app/NodeStatsClient.h"
#include "console/ui/StatusWindow.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTest>
#include <QTimer>

using namespace herald::test;

class ConsoleStatusTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void showsLiveTotalsAndBroadcasts() {
        ServerProcess server({QStringLiteral("--admin-tokens"), QStringLiteral("admin-secret")});
        QString error;
        QVERIFY2(server.start(&error), qPrintable(error));
        WsClient a, b;
        QVERIFY(a.open(server.wsUrl(QStringLiteral("/public"))));
        QVERIFY(b.open(server.wsUrl(QStringLiteral("/public"))));

        herald::console::NodeStatsClient client(server.httpUrl(QString()), "admin-secret");
        herald::console::StatusWindow window(client);
        window.show();
        client.start();
        const QList<QLabel*> labels = window.findChildren<QLabel*>();
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(labels.begin(), labels.end(), [](QLabel* l) { return l->text() == QLatin1String("2"); }), 10000);

        window.findChildren<QLineEdit*>().at(0)->setText(QStringLiteral("From the console"));
        window.findChildren<QLineEdit*>().at(1)->setText(QStringLiteral("hello"));
        window.findChild<QComboBox*>()->setCurrentText(QStringLiteral("critical"));
        // Accept the confirmation box as soon as it shows.
        QTimer accept;
        connect(&accept, &QTimer::timeout, this, [] {
            if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget()))
                box->button(QMessageBox::Yes)->click();
        });
        accept.start(20);
        window.findChild<QPushButton*>()->click();
        const QJsonObject system = a.waitFor(QStringLiteral("system"));
        QCOMPARE(system.value(QLatin1String("data")).toObject().value(QLatin1String("title")).toString(), QStringLiteral("From the console"));
        QCOMPARE(system.value(QLatin1String("data")).toObject().value(QLatin1String("level")).toString(), QStringLiteral("critical"));
    }

    void wrongTokenIsShownClearly() {
        ServerProcess server({QStringLiteral("--admin-tokens"), QStringLiteral("admin-secret")});
        QString error;
        QVERIFY2(server.start(&error), qPrintable(error));
        herald::console::NodeStatsClient client(server.httpUrl(QString()), "wrong");
        herald::console::StatusWindow window(client);
        window.show();
        client.start();
        const QList<QLabel*> labels = window.findChildren<QLabel*>();
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(labels.begin(), labels.end(), [](QLabel* l) {
            return l->text().contains(QLatin1String("wrong API token"));
        }), 10000);
    }
};

QTEST_MAIN(ConsoleStatusTest)
#include "tst_console_status.moc"
