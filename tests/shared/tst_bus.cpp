// Bus payloads: Herald envelopes and plain JSON from other services, and the spliced frame.

#include "shared/Bus.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <limits>

using namespace herald;

class BusTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void envelopeRoundTrip() {
        const bus::Message m{QStringLiteral("id-1"), QStringLiteral("n1"),  1234,
                             R"({"a":[1,2]})",       QStringLiteral("0-1"), true};
        const auto decoded = bus::decode(bus::encodeEnvelope(m));
        QVERIFY(std::holds_alternative<bus::Message>(decoded));
        const auto& d = std::get<bus::Message>(decoded);
        QCOMPARE(d.id, m.id);
        QCOMPARE(d.origin, m.origin);
        QCOMPARE(d.publishedMs, m.publishedMs);
        QCOMPARE(d.dataJson, m.dataJson);
        QCOMPARE(d.prev, m.prev);
        QVERIFY(d.hasPrev);
    }

    void plainJsonFromOtherServices() {
        for (const QByteArray& json : {QByteArray(R"( {"x": 1} )"), QByteArray("42"),
                                       QByteArray(R"("text")"), QByteArray("[true, null]")}) {
            const auto decoded = bus::decode(json);
            QVERIFY2(std::holds_alternative<bus::Message>(decoded), json.constData());
            QVERIFY(std::get<bus::Message>(decoded).id.isEmpty());
        }
        QCOMPARE(std::get<bus::Message>(bus::decode(R"( {"x": 1} )")).dataJson,
                 QByteArray(R"({"x":1})"));
    }

    void malformedPayloadsAreRefused() {
        for (const QByteArray& bad : {QByteArray("not json"), QByteArray(), QByteArray("1 2"),
                                      QByteArray("\x1e{\"id\":\"x\"}"), QByteArray("\x1e[]\n1"),
                                      QByteArray("\x1e{\"id\":\"x\"}\n{broken")})
            QVERIFY2(std::holds_alternative<Error>(bus::decode(bad)), bad.toHex().constData());
    }

    // Found by fuzz_cluster_codec: "ts" is read from anyone who can publish on Redis, and a
    // plain cast of 1e300 to qint64 is undefined behaviour.
    void envelopeTimestampOutOfRangeSaturates() {
        const auto huge = bus::decode("\x1e{\"id\":\"x\",\"ts\":1e300}\n1");
        QVERIFY(std::holds_alternative<bus::Message>(huge));
        QCOMPARE(std::get<bus::Message>(huge).publishedMs, std::numeric_limits<qint64>::max());
        const auto tiny = bus::decode("\x1e{\"id\":\"x\",\"ts\":-1e300}\n1");
        QVERIFY(std::holds_alternative<bus::Message>(tiny));
        QCOMPARE(std::get<bus::Message>(tiny).publishedMs, std::numeric_limits<qint64>::min());
    }

    void frameIsValidJsonWithEscapedFields() {
        const QByteArray frame = bus::encodeMessageFrame(QStringLiteral("private.u\"1.x"),
                                                         QStringLiteral("i\\d"), R"({"k":"v"})");
        QJsonParseError err;
        const QJsonObject o = QJsonDocument::fromJson(frame, &err).object();
        QCOMPARE(err.error, QJsonParseError::NoError);
        QCOMPARE(o.value(QLatin1String("event")).toString(), QStringLiteral("message"));
        QCOMPARE(o.value(QLatin1String("stream")).toString(), QStringLiteral("private.u\"1.x"));
        QCOMPARE(o.value(QLatin1String("id")).toString(), QStringLiteral("i\\d"));
        QCOMPARE(o.value(QLatin1String("data")).toObject().value(QLatin1String("k")).toString(),
                 QStringLiteral("v"));
    }
};

QTEST_APPLESS_MAIN(BusTest)
#include "tst_bus.moc"
