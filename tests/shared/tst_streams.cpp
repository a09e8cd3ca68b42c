// Stream naming rules and the routing keys subscribers and publishers resolve to.

#include "shared/Streams.h"

#include <QTest>

using namespace herald;
using namespace herald::streams;

namespace {
QString keyOr(const Resolved& r, const QString& fallback) {
    if (const auto* ref = std::get_if<StreamRef>(&r))
        return ref->routingKey();
    return fallback + errorCodeName(std::get<Error>(r).code);
}
} // namespace

class StreamsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void names_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("valid");
        QTest::newRow("simple") << "promotional" << true;
        QTest::newRow("all classes") << "Az09_:-" << true;
        QTest::newRow("max length") << QString(128, QLatin1Char('a')) << true;
        QTest::newRow("too long") << QString(129, QLatin1Char('a')) << false;
        QTest::newRow("empty") << "" << false;
        QTest::newRow("dot") << "a.b" << false;
        QTest::newRow("space") << "a b" << false;
        QTest::newRow("glob") << "a*" << false;
        QTest::newRow("unicode") << QStringLiteral("caf\u00e9") << false;
    }
    void names() {
        QFETCH(QString, name);
        QFETCH(bool, valid);
        QCOMPARE(isValidName(name), valid);
    }

    void userIds() {
        QVERIFY(isValidUserId(QStringLiteral("u42")));
        QVERIFY(isValidUserId(QStringLiteral("auth0|5f.x@example.com")));
        QVERIFY(!isValidUserId(QString()));
        QVERIFY(!isValidUserId(QStringLiteral("has space")));
        QVERIFY(!isValidUserId(QStringLiteral("star*")));
        QVERIFY(!isValidUserId(QString(129, QLatin1Char('u'))));
    }

    void subscriber_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("expected");
        QTest::newRow("bare public") << "promotional"
                                     << ""
                                     << "public.promotional";
        QTest::newRow("full public") << "public.promotional"
                                     << ""
                                     << "public.promotional";
        QTest::newRow("own private short") << "private.order"
                                           << "u42"
                                           << "private.u42.order";
        QTest::newRow("own private full") << "private.u42.order"
                                          << "u42"
                                          << "private.u42.order";
        QTest::newRow("dotted user") << "private.a.b.order"
                                     << "a.b"
                                     << "private.a.b.order";
        QTest::newRow("other user") << "private.u7.order"
                                    << "u42"
                                    << "!forbidden";
        QTest::newRow("anonymous private") << "private.order"
                                           << ""
                                           << "!forbidden";
        QTest::newRow("bad public") << "public.a b"
                                    << ""
                                    << "!bad_stream";
        QTest::newRow("bad private name") << "private.u42.a*b"
                                          << "u42"
                                          << "!bad_stream";
        QTest::newRow("bad bare") << "x.y"
                                  << ""
                                  << "!bad_stream";
        QTest::newRow("online") << "online"
                                << ""
                                << "online";
        QTest::newRow("system") << "system"
                                << ""
                                << "system";
    }
    void subscriber() {
        QFETCH(QString, spec);
        QFETCH(QString, user);
        QFETCH(QString, expected);
        QCOMPARE(keyOr(resolveForSubscriber(spec, user), QStringLiteral("!")), expected);
    }

    void publisher_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("expected");
        QTest::newRow("bare") << "news"
                              << ""
                              << "public.news";
        QTest::newRow("public") << "public.news"
                                << ""
                                << "public.news";
        QTest::newRow("private full") << "private.u42.order"
                                      << ""
                                      << "private.u42.order";
        QTest::newRow("user field") << "order"
                                    << "u42"
                                    << "private.u42.order";
        QTest::newRow("user with prefixed stream") << "public.news"
                                                   << "u42"
                                                   << "!bad_request";
        QTest::newRow("user with private stream") << "private.u1.x"
                                                  << "u42"
                                                  << "!bad_request";
        QTest::newRow("private without user") << "private.order"
                                              << ""
                                              << "!bad_stream";
        QTest::newRow("bad user") << "order"
                                  << "a b"
                                  << "!bad_request";
        QTest::newRow("system") << "system"
                                << ""
                                << "system";
    }
    void publisher() {
        QFETCH(QString, spec);
        QFETCH(QString, user);
        QFETCH(QString, expected);
        QCOMPARE(keyOr(resolveForPublisher(spec, user), QStringLiteral("!")), expected);
    }

    void routingKeysRoundTrip() {
        for (const QString& key : {QStringLiteral("public.a"), QStringLiteral("private.u.x"),
                                   QStringLiteral("private.a.b.x"), QStringLiteral("system")}) {
            const auto ref = parseRoutingKey(key);
            QVERIFY2(ref.has_value(), qPrintable(key));
            QCOMPARE(ref->routingKey(), key);
        }
        QCOMPARE(parseRoutingKey(QStringLiteral("private.a.b.x"))->user, QStringLiteral("a.b"));
        for (const QString& bad : {QStringLiteral("public."), QStringLiteral("private.x"),
                                   QStringLiteral("other.x"), QStringLiteral("online"), QString()})
            QVERIFY2(!parseRoutingKey(bad).has_value(), qPrintable(bad));
    }
};

QTEST_APPLESS_MAIN(StreamsTest)
#include "tst_streams.moc"
