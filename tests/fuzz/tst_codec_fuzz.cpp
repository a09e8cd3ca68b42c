// Seeded mutation fuzzing of every decoder: whatever the bytes, a decoder returns a value or a
// named error with a message, and never crashes (run under HERALD_SANITIZE for memory errors).

#include "shared/Bus.h"
#include "shared/Codec.h"

#include <QRandomGenerator>
#include <QTest>

using namespace herald;

namespace {
const QList<QByteArray> kSeeds = {
    R"({"event":"subscribe","streams":["a","private.b"],"since":{"a":"1"}})",
    R"({"event":"unsubscribe","streams":["a"]})",
    R"({"event":"ping"})",
    R"({"stream":"private.u.x","user":"u","data":{"k":[1,2.5,"s",null,true]}})",
    R"({"title":"t","body":"b","level":"critical"})",
    R"({"event":"message","stream":"public.a","id":"1","data":"x"})",
    "\x1e{\"id\":\"x\",\"origin\":\"n\",\"ts\":1}\n{\"a\":1}",
};

QByteArray mutate(QByteArray input, QRandomGenerator& rng) {
    const int edits = 1 + rng.bounded(8);
    for (int i = 0; i < edits; ++i) {
        const int at = input.isEmpty() ? 0 : rng.bounded(static_cast<int>(input.size()));
        switch (rng.bounded(5)) {
        case 0:
            if (!input.isEmpty())
                input[at] = static_cast<char>(rng.bounded(256));
            break;
        case 1:
            input.insert(at, static_cast<char>(rng.bounded(256)));
            break;
        case 2:
            input.remove(at, 1 + rng.bounded(4));
            break;
        case 3:
            input.insert(at, input.mid(rng.bounded(static_cast<int>(input.size()) + 1),
                                       1 + rng.bounded(16)));
            break;
        default:
            input.insert(
                at,
                QByteArrayList{"{", "}", "[", "]", "\"", ":", ",", "\\u0000", "1e999", "null"}.at(
                    rng.bounded(10)));
            break;
        }
    }
    return input;
}

template <class T> bool wellFormed(const std::variant<T, Error>& r) {
    if (const auto* e = std::get_if<Error>(&r))
        return !e->message.isEmpty() && allErrorCodes().contains(e->code);
    return true;
}
} // namespace

class CodecFuzzTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mutatedInputsDecodeToValueOrNamedError() {
        QRandomGenerator rng(20261122); // fixed seed: failures reproduce
        for (int i = 0; i < 40000; ++i) {
            const QByteArray input = mutate(kSeeds.at(i % kSeeds.size()), rng);
            QVERIFY2(wellFormed(codec::decodeClientMessage(input)), input.toHex().constData());
            QVERIFY2(wellFormed(codec::decodeServerMessage(input)), input.toHex().constData());
            QVERIFY2(wellFormed(codec::decodePublishRequest(input)), input.toHex().constData());
            QVERIFY2(wellFormed(codec::decodeBroadcastRequest(input)), input.toHex().constData());
            QVERIFY2(wellFormed(bus::decode(input)), input.toHex().constData());
        }
    }
};

QTEST_APPLESS_MAIN(CodecFuzzTest)
#include "tst_codec_fuzz.moc"
